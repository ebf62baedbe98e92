"""Question + passage -> how well the passage answers it, by the cross-encoder re-ranker.

The bi-encoder and BM25 each read the question and a passage apart; this model reads them
together, so "cheap entry to the swimming pool" can meet "a leisure pass ... concessionary
access". It was trained on the team's own questions (training/, `python -m assistant train`)
and ships as an int8 ONNX file in assistant/models/, checked against its SHA-256 at load
like the embedder's weights (index/shipped.py). Its logit, calibrated on the validation split (Platt scaling,
a and b in models.json), is the hit's `relevance` and decides abstention.

Each pair runs as its own unpadded sequence, one per core in parallel: with dynamic int8 a
padded batch would make a pair's score depend on its batch-mates, and the abstention
threshold must mean the same for every question (as embed.py reasons for vectors).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..index import shipped
from ..index.embed import load_tokenizer
from ..index.shipped import MODELS_DIR
from ..settings import RerankSettings

RERANKER_FILE = "reranker-int8.onnx"


@dataclass(frozen=True)
class RerankerCard:
    """What models.json says of a re-ranker."""

    file: str
    sha256: str
    max_tokens: int
    platt_a: float  # relevance = sigmoid(a * logit + b), fitted on the validation split
    platt_b: float
    # How it serves, chosen with it on the validation split (learn/choose.py); settings.RerankSettings overrides.
    depth: int = 20  # fused candidates re-scored
    weight: float = 0.0  # share of the fused score added to the logit
    abstain_below: float = 0.0  # nothing is shown when the best relevance is below this
    abstain_below_keyword: float = 0.0  # the same for keyword queries (2-5 words, no question)

    @classmethod
    def of(cls, d: dict) -> RerankerCard:
        return cls(
            d["file"],
            d["sha256"],
            int(d["max_tokens"]),
            float(d["platt_a"]),
            float(d["platt_b"]),
            int(d["depth"]),
            float(d["weight"]),
            float(d["abstain_below"]),
            float(d.get("abstain_below_keyword", d["abstain_below"])),
        )


def load_reranker(models_dir: Path = MODELS_DIR) -> Reranker | None:
    """The shipped re-ranker, checked; None where none was trained into `models_dir`."""
    return Reranker(models_dir) if shipped.entry("reranker", models_dir) is not None else None


def pair_encoder(max_tokens: int):
    """The model's word-piece tokenizer set up for (question, passage) pairs: the passage is
    cut to fit, never the question; no padding."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(load_tokenizer().to_str())
    tok.enable_truncation(max_length=max_tokens, strategy="only_second")
    return tok


class Reranker:
    def __init__(self, models_dir: Path = MODELS_DIR, card: RerankerCard | None = None, workers: int | None = None) -> None:
        import onnxruntime as ort

        if card is None:
            path, e = shipped.checked_file("reranker", models_dir)
            card = RerankerCard.of(e)
        else:  # a model being trained, not yet recorded
            path = models_dir / card.file
            if not path.is_file() or shipped.sha256_of(path) != card.sha256:
                raise shipped.ShippedModelError(f"{path} is missing or is not the re-ranker with sha256 {card.sha256}")
        self.card = card
        self._tok = pair_encoder(self.card.max_tokens)
        self._workers = max(1, workers or os.cpu_count() or 1)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="rerank")

    def depth(self, st: RerankSettings) -> int:
        return st.depth if st.depth is not None else self.card.depth

    def weight(self, st: RerankSettings) -> float:
        return st.weight if st.weight is not None else self.card.weight

    def abstain_below(self, st: RerankSettings, keyword: bool = False) -> float:
        if keyword:
            return st.abstain_below_keyword if st.abstain_below_keyword is not None else self.card.abstain_below_keyword
        return st.abstain_below if st.abstain_below is not None else self.card.abstain_below

    def logits(self, question: str, passages: list[str]) -> np.ndarray:
        """One logit per passage (higher: answers the question better)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        encs = self._tok.encode_batch([(question, p) for p in passages])
        return np.array(list(self._pool.map(self._run, encs)), dtype=np.float32)

    def _run(self, enc) -> float:
        ids = np.array([enc.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.array([enc.type_ids], dtype=np.int64)}
        return float(self._session.run(None, feeds)[0][0])

    def relevance(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probability that a passage answers the question."""
        return 1.0 / (1.0 + np.exp(-(self.card.platt_a * np.asarray(logits, dtype=np.float64) + self.card.platt_b)))


def platt(logits: np.ndarray, labels: np.ndarray, iterations: int = 200) -> tuple[float, float]:
    """Fit sigmoid(a*x + b) to 0/1 labels by Newton's method on the log-loss (Platt 1999)."""
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    a, b = 1.0, 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a * x + b)))
        g = np.array([np.sum((p - y) * x), np.sum(p - y)])
        w = p * (1 - p) + 1e-9
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if math.hypot(*step) < 1e-9:
            break
    return float(a), float(b)


@dataclass(frozen=True)
class Rescored:
    """The re-ranker's verdict on the fused candidates of one question."""

    score: np.ndarray  # served order key for every row in scope (re-scored rows first)
    relevance: np.ndarray  # calibrated relevance per row; NaN where not re-scored
    top: float  # best relevance, 0.0 when nothing was re-scored


def rescore(question: str, score: np.ndarray, head: np.ndarray, texts: list[str], reranker: Reranker, weight: float) -> Rescored:
    """Re-score the fused candidates at positions `head` (best fused first) by logit +
    `weight` x fused score; every other row keeps its fused order below them."""
    logits = reranker.logits(question, texts)
    rel = np.full(len(score), np.nan, dtype=np.float64)
    out = np.where(np.isfinite(score), score - _BELOW, score).astype(np.float64)
    if len(head):
        rel[head] = reranker.relevance(logits)
        out[head] = logits + weight * score[head]
    return Rescored(out, rel, float(np.nanmax(rel)) if len(head) else 0.0)


# Rows not re-scored rank after every re-scored one (logits stay within +-20).
_BELOW = 1e3
