"""Each training question's positive passage and its hard negatives, mined from the retriever.

The dominant miss is the right report with the wrong paragraph first, or a near-topic
passage of another report, so negatives are what the serving retriever itself ranks
highest for the question (`Searcher.candidates`, filters applied as for a user) that holds
none of its gold snippets, plus a few other passages of the same report. A candidate that
restates the positive (most of its content words) is left out: it may well answer too.
Passages holding a gold snippet of ../shared/eval are never used, either way.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..search.evaluate import fold
from .questions import QuestionSet, Written


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower())}


@dataclass(frozen=True)
class Candidate:
    """A passage the retriever offers for a question."""

    chunk: int  # row in the generation
    source: str  # report path
    text: str  # the passage as the models read it: section heading and text


@dataclass(frozen=True)
class Mined:
    """One question with what the models train on."""

    id: str
    question: str  # as typed: what the re-ranker reads
    embedded: str  # as the searcher embeds it (filter words removed): what the bi-encoder reads
    positive: str | None  # None for a question no passage answers
    negatives: tuple[str, ...]


@dataclass(frozen=True)
class MiningSettings:
    depth: int = 30  # retriever candidates looked at per question
    hard: int = 4  # hard negatives kept per question, best-ranked first
    same_report: int = 1  # random other passages of the positive's report
    restates: float = 0.6  # a candidate sharing this share of the positive's words is not a negative
    seed: int = 19


def mine(
    qs: QuestionSet,
    passages_of: Callable[[str], list[Candidate]],
    candidates: Callable[[str, int], tuple[str, list[Candidate]]],
    tainted: Callable[[str], bool],
    st: MiningSettings = MiningSettings(),
) -> tuple[list[Mined], list[str]]:
    """(mined questions, ids of questions whose gold passage was not found in the index).

    `passages_of(report)` lists a report's passages; `candidates(question, depth)` returns the
    text the searcher embeds and its best-ranked passages; `tainted(text)` says whether a
    passage holds an eval gold snippet."""
    rng = random.Random(st.seed)
    out: list[Mined] = []
    missing: list[str] = []
    for q in qs.answerable:
        golds = [fold(g) for g in q.gold]
        own = passages_of(q.file)
        positive = next((p for p in own if all(g in fold(p.text) for g in golds)), None)
        if positive is None or tainted(positive.text):
            missing.append(q.id)
            continue
        embedded, offered = candidates(q.question, st.depth)
        out.append(Mined(q.id, q.question, embedded, positive.text, tuple(_negatives(q, positive, offered, own, tainted, st, rng))))
    for u in qs.unanswerable:
        embedded, offered = candidates(u.question, st.depth)
        negs = [c.text for c in offered if not tainted(c.text)][: st.hard + st.same_report]
        out.append(Mined(u.id, u.question, embedded, None, tuple(negs)))
    return out, missing


def _negatives(
    q: Written, positive: Candidate, offered: Iterable[Candidate], own: list[Candidate], tainted, st: MiningSettings, rng: random.Random
) -> list[str]:
    golds = [fold(g) for g in q.gold]
    pos_words = _words(positive.text)

    def usable(c: Candidate) -> bool:
        t = fold(c.text)
        if c.text == positive.text or any(g in t for g in golds) or tainted(c.text):
            return False
        shared = len(_words(c.text) & pos_words) / max(1, len(pos_words))
        return shared < st.restates

    hard: list[str] = []
    for c in offered:
        if len(hard) >= st.hard:
            break
        if usable(c) and c.text not in hard:
            hard.append(c.text)
    others = [c.text for c in own if usable(c) and c.text not in hard]
    rng.shuffle(others)
    return hard + others[: st.same_report]
