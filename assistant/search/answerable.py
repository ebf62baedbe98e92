"""Question + the retriever's best candidates -> the chance that the library answers it.

The relevance floor reads one number, the best fused score, and on-topic questions the
reports never cover ("what does Torbay pay its director of children's services?", "a named
nursery's grade") score where real answers score: 16 of 25 of them emptied, 37 % of the
validation split's (bench/RESULTS.md). What tells them apart is what they ask about, which
the question's own embedding carries: a logistic model over that embedding and the
candidates' scores, trained on the team's questions (training/: answerable ones against the
ones no report answers; `python -m assistant train`), its threshold chosen on the validation
split. It ships as assistant/models/answerability.json, checked against its SHA-256 at load
like the other models (index/shipped.py), and only for the embedder it was trained with:
its weights read that embedder's dimensions.

One dot product a question: no measurable cost beside the embedding it reuses.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..index import shipped
from ..index.shipped import MODELS_DIR

ANSWERABILITY_FILE = "answerability.json"
CARD_KEY = "answerability"

# The candidates the model reads, best fused first (the floor reads only the first).
DEPTH = 10
SCORE_FEATURES = (
    "best fused",
    "best fused less the fifth",
    "best cosine",
    "mean cosine of the top 5",
    "highest cosine of the top 10",
    "log(1 + best BM25)",
    "unknown-word share",
    "typed as keywords",
    "names an authority",
)


@dataclass(frozen=True)
class Evidence:
    """What the model reads of one question: its embedding and its retriever candidates."""

    query: np.ndarray  # the embedded question (what the dense signal scored)
    fused: np.ndarray  # the best candidates' fused score, best first, before any floor
    dense: np.ndarray  # their cosine
    bm: np.ndarray  # their BM25 of the question's own words
    unknown: float  # the question's idf share in words the library barely knows
    keyword: bool  # typed like a search box (Query.keyword_query)
    names_authority: bool


def features(e: Evidence) -> np.ndarray:
    """The model's input: SCORE_FEATURES, then the question's embedding."""
    f, d, b = (np.asarray(x[:DEPTH], dtype=np.float64) for x in (e.fused, e.dense, e.bm))
    if len(f):
        scores = [f[0], f[0] - f[min(4, len(f) - 1)], d[0], d[:5].mean(), d.max(), math.log1p(max(0.0, b[0]))]
    else:
        scores = [0.0] * 6
    scores += [e.unknown, float(e.keyword), float(e.names_authority)]
    return np.concatenate([np.asarray(scores, dtype=np.float64), np.asarray(e.query, dtype=np.float64)])


@dataclass(frozen=True)
class Answerability:
    """A logistic model of "no report answers this", on standardised features."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float  # nothing is shown when the chance of no answer is above this (validation)

    def unanswerable(self, e: Evidence) -> float:
        """The calibrated chance that no passage of the library answers the question."""
        z = float(((features(e) - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def abstains(self, e: Evidence) -> bool:
        return self.unanswerable(e) > self.threshold

    def to_json(self) -> dict:
        return {
            "features": list(SCORE_FEATURES) + [f"embedding {i}" for i in range(len(self.mean) - len(SCORE_FEATURES))],
            "mean": [round(float(x), 7) for x in self.mean],
            "scale": [round(float(x), 7) for x in self.scale],
            "weights": [round(float(x), 7) for x in self.weights],
            "bias": round(float(self.bias), 7),
            "threshold": round(float(self.threshold), 4),
        }

    @classmethod
    def of_json(cls, d: dict) -> Answerability:
        return cls(
            np.asarray(d["mean"], dtype=np.float64),
            np.asarray(d["scale"], dtype=np.float64),
            np.asarray(d["weights"], dtype=np.float64),
            float(d["bias"]),
            float(d["threshold"]),
        )

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        return path


def load_answerability(embedder_sha256: str, models_dir: Path = MODELS_DIR) -> Answerability | None:
    """The shipped model when it was trained with this embedder (its card's `embedder_sha256`),
    else None: the floor alone decides, as before it shipped. A file whose digest is not the
    recorded one is refused (shipped.ShippedModelError)."""
    card = shipped.entry(CARD_KEY, models_dir)
    if card is None or card.get("embedder_sha256") != embedder_sha256:
        return None
    path, _ = shipped.checked_file(CARD_KEY, models_dir)
    return Answerability.of_json(json.loads(path.read_text(encoding="utf-8")))
