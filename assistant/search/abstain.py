"""Abstention: when the searcher shows nothing (measured in bench/abstain.py).

`rare_term_share`: how much of a keyword query's weight sits in words the
library barely knows (document frequencies from index.keywords.KeywordIndex.df) ("pizza", "GCSE", a named children's home). Off-topic
questions put most of their weight there; real questions almost none.
`AbstentionRule`: the relevance floor calibrated on questions with it
(bench/abstain.py, bench/RESULTS.md "Everyday questions and abstention").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass


def rare_term_share(terms: Iterable[str], df: Callable[[str], int], n_docs: int, rare_below: float = 3, never_unknown: Iterable[str] = ()) -> float:
    """Share of the distinct terms' idf mass (Lucene idf, as BM25 uses) in terms found in
    fewer than `rare_below` passages; 0.0 for no terms. Terms in `never_unknown` (what the
    glossary added: not the asker's words) weigh in the total but never count as unknown."""
    exempt = set(never_unknown)
    mass = {t: math.log(1 + (n_docs - df(t) + 0.5) / (df(t) + 0.5)) for t in set(terms) | exempt}
    total = sum(mass.values())
    if total <= 0:
        return 0.0
    return sum(v for t, v in mass.items() if t not in exempt and df(t) < rare_below) / total


@dataclass(frozen=True)
class AbstentionRule:
    """Show nothing when the best passage's fused score, less a share of the query's
    weight the library does not know, is below `threshold`.

    Fitted by bench/abstain.py on dev + everyday + unanswerable (full corpus, shipped
    ranking of 30 Nov 2026): threshold 0.40, unknown_weight 0.5, rare_below 3; held-out
    (leave-one-out) 17-18 of 25 unanswerable emptied, 1 of 245 top-5 answers lost.
    Re-fit the threshold whenever the fused score changes (the script prints it)."""

    threshold: float = 0.40
    unknown_weight: float = 0.5
    rare_below: int = 3

    def abstains(self, top_score: float | None, unknown_share: float) -> bool:
        if top_score is None or not math.isfinite(top_score):
            return True
        return top_score - self.unknown_weight * unknown_share < self.threshold
