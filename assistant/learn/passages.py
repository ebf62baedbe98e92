"""The training reports' passages exactly as the index cuts them (ingestion + chunking), cached
as JSON lines: what training/check.py verifies gold snippets against and what the writers read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..index.chunking import chunk_report
from ..reports import ingest, metadata
from ..search.evaluate import fold
from ..settings import IngestSettings


@dataclass(frozen=True)
class Passage:
    file: str
    id: str
    page: int
    number: int | None
    section: str
    kind: str
    text: str
    eval_gold: bool  # holds a gold snippet of ../shared/eval: never a training passage
    authority: str
    published: str


def eval_golds(eval_dir: Path | None) -> list[str]:
    """Folded gold snippets of every eval questions file (none when the folder is absent)."""
    out: list[str] = []
    if eval_dir is None or not eval_dir.is_dir():
        return out
    for path in sorted(eval_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.extend(fold(g) for g in json.loads(line)["gold"])
    return out


def read_passages(corpus: Path, reports: list[str], eval_dir: Path | None, workers: int = 2) -> list[Passage]:
    golds = eval_golds(eval_dir)
    res = ingest.ingest_files([(corpus / r, r) for r in reports], metadata.read_manifest(corpus), workers, IngestSettings())
    if res.failures:
        raise RuntimeError("training reports that could not be read: " + "; ".join(f"{f.path}: {f.reason}" for f in res.failures))
    out: list[Passage] = []
    for rep in sorted(res.reports, key=lambda r: r.path):
        for c in chunk_report(rep):
            t = fold(c.text)
            out.append(
                Passage(
                    rep.path,
                    c.id,
                    c.page,
                    c.number,
                    c.section,
                    str(c.kind),
                    c.text,
                    any(g in t for g in golds),
                    rep.meta.local_authority,
                    rep.meta.published,
                )
            )
    return out


def write_cache(passages: list[Passage], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path
