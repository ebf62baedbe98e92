"""Choose how the re-ranker serves, on the validation split only: how many fused candidates
it re-scores (depth), how much of the fused score it keeps (weight), the Platt calibration
of its logit, and the relevance below which nothing is shown (abstain_below)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEPTHS = (10, 15, 20, 30, 40)
WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)
MAX_LOST = 0.01  # answerable questions that may lose their top-5 answer to abstention (the target)


@dataclass(frozen=True)
class Scored:
    """One validation question's candidates, best fused first."""

    id: str
    answers: np.ndarray  # bool per candidate: holds the gold snippet of the question's report
    fused: np.ndarray
    logits: np.ndarray
    answerable: bool
    style: str = ""
    keyword: bool = False  # typed like a search box (Query.is_keyword): its own threshold
    dense: np.ndarray | None = None  # the candidates' cosine and BM25, for the retriever's own floor
    bm: np.ndarray | None = None
    unknown: float = 0.0


@dataclass(frozen=True)
class Ranking:
    depth: int
    weight: float
    hit1: float
    hit5: float
    mrr10: float


@dataclass(frozen=True)
class Abstention:
    platt_a: float
    platt_b: float
    abstain_below: float
    unanswerable_emptied: float  # share of validation unanswerable questions shown nothing
    answerable_lost: float  # share of validation answerable questions that lose a top-5 answer


def order(s: Scored, depth: int, weight: float) -> np.ndarray:
    """Candidate positions in served order: the top `depth` by logit + weight x fused, then the rest as fused."""
    head = np.arange(min(depth, len(s.fused)))
    key = s.logits[head] + weight * s.fused[head]
    return np.concatenate([head[np.argsort(-key, kind="stable")], np.arange(len(head), len(s.fused))])


def first_answer(s: Scored, served: np.ndarray) -> int | None:
    hits = np.flatnonzero(s.answers[served])
    return int(hits[0]) + 1 if len(hits) else None


def rank_metrics(questions: Sequence[Scored], depth: int, weight: float) -> Ranking:
    ranks = [first_answer(s, order(s, depth, weight)) for s in questions if s.answerable]
    n = max(1, len(ranks))
    return Ranking(
        depth,
        weight,
        sum(1 for r in ranks if r and r <= 1) / n,
        sum(1 for r in ranks if r and r <= 5) / n,
        sum(1 / r for r in ranks if r and r <= 10) / n,
    )


def fused_metrics(questions: Sequence[Scored]) -> Ranking:
    """The retriever alone (no re-ranking), for comparison."""
    return rank_metrics(questions, 0, 0.0)


def choose_ranking(questions: Sequence[Scored]) -> tuple[Ranking, list[Ranking]]:
    """Best MRR@10; a shallower depth wins ties within 0.002 (it is faster)."""
    grid = [rank_metrics(questions, d, w) for d in DEPTHS for w in WEIGHTS]
    best = max(grid, key=lambda r: (round(r.mrr10 / 0.002), -r.depth))
    return best, grid


def choose_abstention(questions: Sequence[Scored], depth: int, weight: float, calibration: tuple[float, float] | None = None) -> Abstention:
    """Platt-calibrate the logit on these questions' candidates (unless `calibration` is given),
    then take the highest threshold on the best candidate's relevance that costs at most
    MAX_LOST of the answerable questions their top-5 answer."""
    from ..search.rerank import platt

    if calibration is None:
        xs: list[float] = []
        ys: list[bool] = []
        for s in questions:
            head = slice(0, min(depth, len(s.logits)))
            xs.extend(s.logits[head])
            ys.extend(s.answers[head] if s.answerable else np.zeros(len(s.logits[head]), dtype=bool))
        a, b = platt(np.array(xs), np.array(ys, dtype=float))
    else:
        a, b = calibration

    def top_relevance(s: Scored) -> float:
        head = s.logits[: min(depth, len(s.logits))]
        return float(1 / (1 + np.exp(-(a * head.max() + b)))) if len(head) else 0.0

    answerable = [s for s in questions if s.answerable]
    unanswerable = [s for s in questions if not s.answerable]
    tops = {s.id: top_relevance(s) for s in questions}
    had5 = [s for s in answerable if (r := first_answer(s, order(s, depth, weight))) and r <= 5]
    best = Abstention(a, b, 0.0, 0.0, 0.0)
    for t in sorted({round(v, 4) for v in tops.values()}):
        lost = sum(1 for s in had5 if tops[s.id] < t) / max(1, len(answerable))
        if lost > MAX_LOST:
            break
        emptied = sum(1 for s in unanswerable if tops[s.id] < t) / max(1, len(unanswerable))
        best = Abstention(a, b, t, emptied, lost)
    return best


@dataclass(frozen=True)
class Floor:
    """The retriever's relevance floor (searcher.apply_floor, abstains) for one embedder."""

    min_dense: float
    strong_dense: float
    abstain_below: float
    unanswerable_emptied: float
    answerable_lost: float


STRONG = (0.25, 0.3, 0.35, 0.4, 0.45)
MIN_DENSE = (0.0, 0.05, 0.1, 0.15)


def choose_floor(questions: Sequence[Scored], unknown_weight: float) -> Floor:
    """The floor that empties most validation unanswerable questions while at most MAX_LOST of
    the answerable ones lose a top-5 answer they had without it. Keyword queries are exempt
    from the floor when served (searcher.py), so they are left out here too."""
    qs = [s for s in questions if not s.keyword and s.dense is not None and s.bm is not None]
    answerable = [s for s in qs if s.answerable]
    best: Floor | None = None
    for strong in STRONG:
        for low in MIN_DENSE:
            tops: dict[str, float] = {}
            kept5: dict[str, bool] = {}
            for s in qs:
                assert s.dense is not None and s.bm is not None
                ok = (s.dense >= strong) | ((s.dense >= low) & (s.bm > 0))
                tops[s.id] = float(s.fused[ok].max()) - unknown_weight * s.unknown if ok.any() else -np.inf
                if s.answerable:
                    survivors = np.flatnonzero(ok)[:5]
                    kept5[s.id] = bool(s.answers[survivors].any())
            had5 = {s.id for s in answerable if s.answers[:5].any()}
            for t in sorted({round(v, 3) for v in tops.values() if np.isfinite(v)}, reverse=True):
                lost = sum(1 for i in had5 if tops[i] < t or not kept5[i]) / max(1, len(answerable))
                if lost <= MAX_LOST:
                    emptied = sum(1 for s in qs if not s.answerable and tops[s.id] < t) / max(1, len(qs) - len(answerable))
                    if best is None or emptied > best.unanswerable_emptied:
                        best = Floor(low, strong, t, emptied, lost)
                    break
    return best or Floor(0.0, 1.0, -np.inf, 0.0, 0.0)
