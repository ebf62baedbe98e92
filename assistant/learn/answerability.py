"""Train the answerability model (search/answerable.py) on the team's questions.

Answerable questions of the train split against the unanswerable ones, each read as serving
reads it (Searcher.candidates -> Candidates.evidence, with the embedder that ships); a
logistic regression with L2, the classes weighed equally (453 unanswerable against 3,577
answerable would otherwise teach "always answer"); its threshold then chosen on the
validation split: the most unanswerable questions emptied while at most choose.MAX_LOST of
the answerable ones lose a top-5 answer they had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..search.answerable import Answerability, Evidence, features
from .choose import MAX_LOST


@dataclass(frozen=True)
class AnswerabilitySettings:
    l2: float = 0.03  # inverse regularisation strength C: 0.01-1 swept on validation (RESULTS, Answerability)
    max_iter: int = 500
    seed: int = 19


@dataclass(frozen=True)
class Judged:
    """One question as the threshold choice sees it."""

    id: str
    evidence: Evidence
    answerable: bool
    had5: bool = False  # the retriever's top 5 held its answer (answerable ones)
    kept5: bool = True  # ... and still does after the floor's passage filter
    typed: bool = False  # a keyword query naming an authority (left ranked unless settings say otherwise)


@dataclass(frozen=True)
class Chosen:
    threshold: float
    unanswerable_emptied: float
    answerable_lost: float


def fit(evidence: Sequence[Evidence], unanswerable: Sequence[bool], st: AnswerabilitySettings = AnswerabilitySettings()) -> Answerability:
    """The logistic model of `unanswerable` (True: no report answers it), threshold 0.5 until chosen."""
    import torch

    x = np.stack([features(e) for e in evidence])
    y = np.asarray(unanswerable, dtype=np.float64)
    if y.min() == y.max():
        raise ValueError("answerability needs both answerable and unanswerable training questions")
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    torch.manual_seed(st.seed)
    xt = torch.tensor((x - mean) / scale, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(xt.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    pos = float(yt.mean())
    weight = torch.where(yt > 0, 0.5 / pos, 0.5 / (1 - pos))
    opt = torch.optim.LBFGS([w, b], max_iter=st.max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = xt @ w + b
        loss = (weight * torch.nn.functional.binary_cross_entropy_with_logits(z, yt, reduction="none")).mean()
        loss = loss + (w**2).sum() / (st.l2 * len(yt))
        loss.backward()
        return loss

    opt.step(closure)
    return Answerability(mean, scale, w.detach().numpy().copy(), float(b.detach()[0]), 0.5)


def choose_threshold(model: Answerability, questions: Sequence[Judged], reads_typed: bool = True) -> Chosen:
    """The lowest threshold (most emptied) at which at most MAX_LOST of the answerable
    questions lose a top-5 answer they had (to the model, or to the floor's passage filter).
    `reads_typed` False: keyword queries naming an authority are never emptied by the model
    (settings.RankingSettings.answerability_keywords), so they can be neither lost nor emptied."""
    chance = {q.id: 0.0 if q.typed and not reads_typed else model.unanswerable(q.evidence) for q in questions}
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    had = [q for q in answerable if q.had5]
    filtered = sum(1 for q in had if not q.kept5)
    best = Chosen(1.0, 0.0, filtered / max(1, len(answerable)))
    for t in sorted({round(v, 4) for v in chance.values()}, reverse=True):
        lost = (filtered + sum(1 for q in had if q.kept5 and chance[q.id] > t)) / max(1, len(answerable))
        if lost > MAX_LOST:
            break
        emptied = sum(1 for q in unanswerable if chance[q.id] > t) / max(1, len(unanswerable))
        best = Chosen(t, emptied, lost)
    return best
