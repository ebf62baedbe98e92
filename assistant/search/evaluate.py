"""Retrieval quality on a questions file, scored as ../shared/eval/README.md defines:
a passage answers when it comes from the question's file and, with white space
folded and case ignored, contains a gold snippet (and `near`, when given).

Questions the library cannot answer (`unanswerable.txt`, one a line) are scored
by the share answered with no passage, or with an abstention the answer states."""

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


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00ad": None})


def fold(s: str) -> str:
    # As the gold snippets were checked: white space folded, case ignored, curly
    # quotes made straight, soft hyphens removed (../shared/eval/README.md).
    return " ".join(s.translate(_QUOTES).split()).lower()


def answers(q: Question, source: str, text: str) -> bool:
    if source != q.file:
        return False
    t = fold(text)
    return any(fold(g) in t for g in q.gold) and (not q.near or fold(q.near) in t)


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
        out.write(f"{name:<16} n={s['n']:<4} hit@1={s['hit@1']:.3f} hit@5={s['hit@5']:.3f} hit@10={s['hit@10']:.3f} MRR@10={s['mrr@10']:.3f}\n")

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


# -- questions the library cannot answer ------------------------------------------------


@dataclass
class AbstainResult:
    k: int
    questions: list[str] = field(default_factory=list)
    abstained: list[bool] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # the answer's stated reason, "no hits", or ""
    top_scores: list[float | None] = field(default_factory=list)  # best shown passage's score
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        n = len(self.questions)
        return {"n": n, "abstained": sum(self.abstained), "share": sum(self.abstained) / max(1, n)}


def load_unanswerable(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def abstention(answer) -> str:
    """Why an answer shows nothing: its stated reason (an `abstained` field, when the
    Answer has one), "no hits" when it has no passage, "" when it answered."""
    reason = getattr(answer, "abstained", "") or ""
    if reason:
        return str(reason)
    return "" if answer.hits else "no hits"


def evaluate_unanswerable(searcher, questions: list[str], k: int = 10, mode: str = "hybrid") -> AbstainResult:
    res = AbstainResult(k)
    for q in questions:
        t0 = time.perf_counter()
        a = searcher.ask(q, k=k, mode=mode)
        res.seconds.append(time.perf_counter() - t0)
        why = abstention(a)
        res.questions.append(q)
        res.abstained.append(bool(why))
        res.reasons.append(why)
        res.top_scores.append(float(a.hits[0].score) if a.hits else None)
    return res


def print_unanswerable(res: AbstainResult, out: TextIO, misses: bool = True) -> None:
    s = res.summary()
    out.write(f"{'unanswerable':<16} n={s['n']:<4} answered with no passage: {s['abstained']}/{s['n']} ({s['share']:.3f})\n")
    if misses:
        for q, ok, top in zip(res.questions, res.abstained, res.top_scores, strict=False):
            if not ok:
                out.write(f"  answered (top score {top:.3f}): {q}\n")


def is_unanswerable_file(path: Path) -> bool:
    """`unanswerable.txt`-style files hold one question a line, not JSON."""
    return Path(path).suffix.lower() == ".txt"


def run_file(searcher, path: Path, out: TextIO, k: int = 10, mode: str = "hybrid", misses: bool = True) -> EvalResult | AbstainResult:
    """Evaluate one questions file of either kind and print its report; returns the result."""
    if is_unanswerable_file(path):
        un = evaluate_unanswerable(searcher, load_unanswerable(path), k=k, mode=mode)
        print_unanswerable(un, out, misses=misses)
        return un
    res = evaluate(searcher, load_questions(path), k=k, mode=mode)
    print_report(res, out, misses=misses)
    return res
