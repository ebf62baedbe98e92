"""Retrieval quality on a questions file, scored as ../shared/eval/README.md defines:
a passage answers when it comes from the question's file and, with white space
folded and case ignored, contains a gold snippet (and `near`, when given)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    file: str
    gold: tuple[str, ...]
    near: str
    type: str


@dataclass
class EvalResult:
    k: int
    ranks: dict[str, int | None] = field(default_factory=dict)  # question id -> 1-based rank of first answer
    types: dict[str, str] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def summary(self, ids=None) -> dict[str, float]:
        ids = list(self.ranks) if ids is None else ids
        n = max(1, len(ids))
        r = [self.ranks[i] for i in ids]
        return {
            "n": len(ids),
            "hit@1": sum(1 for x in r if x and x <= 1) / n,
            "hit@5": sum(1 for x in r if x and x <= 5) / n,
            "hit@10": sum(1 for x in r if x and x <= 10) / n,
            "mrr@10": sum(1 / x for x in r if x and x <= 10) / n,
        }


def load_questions(path: Path) -> list[Question]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Question(d["id"], d["question"], d["file"], tuple(d["gold"]), d.get("near", ""), d.get("type", "")))
    return out


def _fold(s: str) -> str:
    return " ".join(s.split()).lower()


def answers(q: Question, source: str, text: str) -> bool:
    if source != q.file:
        return False
    t = _fold(text)
    return any(_fold(g) in t for g in q.gold) and (not q.near or _fold(q.near) in t)


def evaluate(searcher, questions: list[Question], k: int = 10, mode: str = "hybrid") -> EvalResult:
    res = EvalResult(k)
    for q in questions:
        t0 = time.perf_counter()
        a = searcher.ask(q.question, k=k, mode=mode)
        res.seconds.append(time.perf_counter() - t0)
        rank = next((h.rank for h in a.hits if answers(q, h.source, h.text)), None)
        res.ranks[q.id] = rank
        res.types[q.id] = q.type
        res.questions[q.id] = q.question
    return res


def print_report(res: EvalResult, out: TextIO, misses: bool = True) -> None:
    def row(name, s):
        out.write(f"{name:<16} n={s['n']:<4} hit@1={s['hit@1']:.3f} hit@5={s['hit@5']:.3f} "
                  f"hit@10={s['hit@10']:.3f} MRR@10={s['mrr@10']:.3f}\n")

    row("overall", res.summary())
    by_type = defaultdict(list)
    for i, t in res.types.items():
        by_type[t].append(i)
    for t in sorted(by_type):
        row(t, res.summary(by_type[t]))
    hand = [i for i, t in res.types.items() if t not in ("lead-inspector", "overall-grade")]
    row("hand-written", res.summary(hand))
    if misses:
        for i, r in res.ranks.items():
            if not r or r > 5:
                out.write(f"  miss ({'rank ' + str(r) if r else 'not in top ' + str(res.k)}) {i}: {res.questions[i]}\n")
