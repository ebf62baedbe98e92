"""A report's own name for a service the question calls by another: "the MASH" in a report
that calls its front door the "Integrated Front Door (IFD)" or the "Multi-Agency Referral
Unit (MARU)". Found from the library's own text, not from a list.

Two acronyms the reports define name the same kind of service when
  * the passages using them are about the same things: their context profiles (the words
    over-represented in those passages, each weighted by p log(p / p_library)) have a
    cosine of at least `similarity`, and
  * they are seldom used by the same report (at most `overlap` of the smaller one's
    reports): a council has a MASH or an integrated front door, while a MASH and its
    "first response team" appear together, as parts of one front door.
Measured on the full shared library (bench/RESULTS.md "Service names"): MASH's
alternatives are EHaSH, MAST, MARU, BFFD, MARAT and IFD; LADO, RHI and IRO get none
at these thresholds.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..index import keywords
from ..index.keywords import KeywordIndex
from ..language.glossary import ACRONYM, Term


@dataclass(frozen=True)
class ServiceName:
    token: str  # the acronym as a keyword term ("ifd")
    short: str  # "IFD"
    long: str  # "integrated front door"


@dataclass(frozen=True)
class Alternatives:
    """Acronym term -> the names other reports give the same kind of service."""

    of: dict[str, tuple[ServiceName, ...]] = field(default_factory=dict)

    def in_scope(self, terms: Iterable[str], present: Callable[[str], bool]) -> list[tuple[str, ServiceName]]:
        """(question term, alternative) pairs where the scope lacks the question's term but has
        the alternative; `present(term)` says whether any passage in scope holds a term."""
        out: list[tuple[str, ServiceName]] = []
        for t in dict.fromkeys(terms):
            alts = self.of.get(t)
            if not alts or present(t):
                continue
            out.extend((t, a) for a in alts if present(a.token))
        return out


def acronym_tokens(acronyms: Iterable[Term]) -> frozenset[str]:
    """The keyword terms of the acronyms the glossary knows: the only question words that can
    have alternatives (cheap: no passage is read)."""
    out = set()
    for t in acronyms:
        if t.kind == ACRONYM and t.means and len(toks := keywords.terms(t.term[0])) == 1:
            out.add(toks[0])
    return frozenset(out)


class LazyAlternatives:
    """`mine_alternatives` for one generation, run the first time a question needs it (it reads
    every passage holding an acronym: 0.85 s of the full library's 1.2 s serving load, which a
    re-index or a replica's switch would otherwise pay each time), then kept."""

    def __init__(self, mine: Callable[[], Alternatives]) -> None:
        self._mine = mine
        self._value: Alternatives | None = None
        self._lock = threading.Lock()

    def get(self) -> Alternatives:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._mine()
        return self._value


def mine_alternatives(
    acronyms: Iterable[Term],
    index: KeywordIndex,
    texts: Sequence[str],
    report_of: np.ndarray,
    similarity: float = 0.5,
    overlap: float = 0.3,
    min_reports: int = 3,
) -> Alternatives:
    n = max(1, index.num_docs)
    names: list[ServiceName] = []
    profiles: list[dict[str, float]] = []
    reports: list[set[int]] = []
    seen: set[str] = set()
    for t in acronyms:
        if t.kind != ACRONYM or not t.means:
            continue
        toks = keywords.terms(t.term[0])
        if len(toks) != 1 or toks[0] in seen:
            continue
        token = toks[0]
        rows = index.rows_with(token)
        where = set(report_of[rows].tolist())
        if len(where) < min_reports:
            continue
        seen.add(token)
        names.append(ServiceName(token, t.term[0], t.means[0]))
        profiles.append(_profile(token, rows, texts, index, n))
        reports.append(where)
    of: dict[str, list[ServiceName]] = {}
    for i in range(len(names)):
        for j in range(len(names)):
            if i == j:
                continue
            shared = len(reports[i] & reports[j]) / min(len(reports[i]), len(reports[j]))
            if shared <= overlap and _cosine(profiles[i], profiles[j]) >= similarity:
                of.setdefault(names[i].token, []).append(names[j])
    return Alternatives({k: tuple(v) for k, v in of.items()})


def _profile(token: str, rows: np.ndarray, texts: Sequence[str], index: KeywordIndex, n: int) -> dict[str, float]:
    """Words over-represented in the passages holding `token`, unit length."""
    counts: Counter[str] = Counter()
    for r in rows:
        counts.update(keywords.term_set(texts[int(r)]))
    m = len(rows)
    prof: dict[str, float] = {}
    for w, c in counts.items():
        if w == token or c < 2:
            continue
        p_in, p_all = c / m, index.df(w) / n
        if p_all > 0 and p_in > 2 * p_all:
            prof[w] = p_in * math.log(p_in / p_all)
    norm = math.sqrt(sum(v * v for v in prof.values())) or 1.0
    return {w: v / norm for w, v in prof.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())
