"""Question -> ranked verbatim passages, from the serving index generation.

Dense (MiniLM) and keyword (BM25) scores are fused over the candidates of
both, after the question's authority and years have been turned into filters.
Questions asking who led an inspection or for the overall grade are answered
from the report's own front-page lines, which a similarity model ranks poorly.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import embed, keywords
from .answer import Answer, Hit, citation
from .chunking import split_sentences
from .document import FRONT, HEADING, JUDGEMENT
from .indexer import model_stamp
from .query import LEAD_INSPECTOR, OVERALL, Filters, Understanding, merge, norm_name, understand, without_framing
from .store import Generation, IndexError_, current_name, load_generation, load_serving

# Fusion weights, tuned on the dev questions (see bench/RESULTS.md).
BM25_WEIGHT = 0.35
CANDIDATES = 200
INTENT_BOOST = 1.0
MONTH_BOOST = 0.08
HEADING_PENALTY = 0.5  # also applied to boilerplate
BOILERPLATE_REPORTS = 5
FRONT_PENALTY = 0.3  # "Report published: ..." lines answer only metadata questions
# Summary lists ("What needs to improve?", "Recommendations", the summary for
# children) restate in one line a finding that the body gives with its evidence:
# the body paragraph is the quotable one, the restatement follows it.
RESTATEMENT_PENALTY = 0.2
# Relevance floor (cosine): below MIN_DENSE never shown; above STRONG_DENSE shown
# even without a shared word. Set from dev questions vs. off-topic ones (bench/RESULTS.md).
MIN_DENSE = 0.15
STRONG_DENSE = 0.45
MIN_BM25 = 6.0  # normalisation floor: weak keyword matches stay weak

_RESTATEMENT_SECTION = re.compile(
    r"^(What needs to improve|Recommendations|Areas for (improvement|development)|Summary for children|"
    r"Summary of (key )?findings|Priority and immediate action|Key strengths and weaknesses|"
    r"The local authority’?'?s strengths|This local authority requires improvement)",
    re.I,
)
_LEAD_LINE = re.compile(r"^(Lead|Reporting) inspector\b", re.I)
_OVERALL_LINE = re.compile(r"^(Overall effectiveness\b|Children\u2019?'?s services in .+ (are|is|require))", re.I)


@dataclass
class _Served:
    """A generation plus the arrays that make filtering and scoring cheap."""

    gen: Generation
    vectors: np.ndarray
    report_of: np.ndarray  # chunk -> report index
    year_of: np.ndarray  # report -> published year (0 unknown)
    month_of: np.ndarray
    key_of: list[str]  # report -> authority key
    names: dict[str, str]  # authority key -> display name
    lead_mask: np.ndarray
    overall_mask: np.ndarray
    heading_mask: np.ndarray
    front_mask: np.ndarray
    restatement_mask: np.ndarray

    @classmethod
    def of(cls, gen: Generation) -> "_Served":
        n = len(gen.chunks)
        report_of = np.zeros(n, dtype=np.int32)
        for i, r in enumerate(gen.reports):
            report_of[r.chunk_start : r.chunk_end] = i
        years = np.array([int(r.meta.published[:4]) if r.meta.published[:4].isdigit() else 0 for r in gen.reports], dtype=np.int32)
        months = np.array([int(r.meta.published[5:7]) if len(r.meta.published) >= 7 else 0 for r in gen.reports], dtype=np.int32)
        keys = [authority_key(r.path, r.meta.local_authority) for r in gen.reports]
        names: dict[str, str] = {}
        for k, r in zip(keys, gen.reports):
            names.setdefault(k, r.meta.local_authority or k.title())
        lead = np.array([c.kind == FRONT and bool(_LEAD_LINE.match(c.text)) for c in gen.chunks], dtype=bool)
        overall = np.array(
            [c.kind in (JUDGEMENT, HEADING) and c.page == 1 and bool(_OVERALL_LINE.match(c.text)) for c in gen.chunks], dtype=bool
        )
        heading = np.array([c.kind == HEADING for c in gen.chunks], dtype=bool)
        # Text printed in many reports (Ofsted's address, licence, "What needs to improve?")
        # is boilerplate, whatever it shares with a question.
        seen = Counter(c.text for c in gen.chunks)
        boiler = np.array([seen[c.text] >= BOILERPLATE_REPORTS for c in gen.chunks], dtype=bool)
        heading |= boiler
        # Page furniture that survived cleaning ("© Crown copyright 2014") is as useless as front lines.
        front = np.array([c.kind == FRONT or len(c.text.split()) < 5 for c in gen.chunks], dtype=bool)
        restatement = np.array([bool(_RESTATEMENT_SECTION.match(c.section)) for c in gen.chunks], dtype=bool)
        return cls(gen, gen.vectors(0, n), report_of, years, months, keys, names, lead, overall, heading, front, restatement)


def authority_key(path: str, display: str) -> str:
    """Filter key of a report's authority: its corpus folder ("80428_bedford") when
    Ofsted-named, else the name the report gives itself."""
    parts = path.split("/")
    if len(parts) > 1 and (m := re.match(r"^\d+_(.+)$", parts[-2])):
        return norm_name(m.group(1))
    return norm_name(display)


class Searcher:
    """Thread-safe: a re-index swaps the served generation in one assignment."""

    def __init__(self, index_dir: Path, embedder: embed.Embedder | None = None):
        self.index_dir = Path(index_dir)
        self.embedder = embedder or embed.load_embedder(cache_dir=self.index_dir / "models")
        self._lock = threading.Lock()
        serving = load_serving(self.index_dir, expect_model=model_stamp(self.embedder))
        # A damaged newest generation is passed over; say so where the admin will look.
        self.warnings: list[str] = [f"index generation skipped: {w}" for w in serving.skipped]
        self._served = _Served.of(serving.generation)

    @property
    def generation(self) -> Generation:
        return self._served.gen

    def authorities(self) -> dict[str, str]:
        return dict(self._served.names)

    def reload(self) -> bool:
        """Serve the current generation if it changed; True when swapped."""
        name = current_name(self.index_dir)
        if not name or name == self._served.gen.name:
            return False
        with self._lock:
            if name != self._served.gen.name:
                try:
                    gen = load_generation(self.index_dir, name, expect_model=model_stamp(self.embedder))
                except IndexError_ as exc:
                    # Keep answering from the generation we have rather than fail every question.
                    self.warnings.append(f"new index generation {name} not loaded: {exc}")
                    return False
                self._served = _Served.of(gen)
                return True
        return False

    # -- retrieval ------------------------------------------------------------------

    def understand(self, question: str) -> Understanding:
        return understand(question, set(self._served.names))

    def ask(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        use_question: bool = True,
        mode: str = "hybrid",
    ) -> Answer:
        s = self._served  # one generation for the whole answer, whatever reloads meanwhile
        u = understand(question, set(s.names)) if use_question else Understanding(Filters())
        f = merge(u.filters, filters)
        notes: list[str] = []
        report_ok = self._report_mask(s, f)
        if not report_ok.any() and (f.year_from or f.year_to) and u.filters.year_from and not (filters and filters.year_from):
            # No report that year for that authority: widen by a year either side, and say so.
            wider = replace(f, year_from=(f.year_from or 0) - 1, year_to=(f.year_to or 9999) + 1)
            if self._report_mask(s, wider).any():
                notes.append(f"no report published in {f.year_from}-{f.year_to}; searched a year either side")
                f = wider
                report_ok = self._report_mask(s, f)
        rows = np.flatnonzero(report_ok[s.report_of]) if len(s.report_of) else np.zeros(0, dtype=np.int64)
        if len(rows) == 0:
            return Answer(question, f, (), u.month, u.intent, tuple(notes), s.gen.name, s.names)

        # Words that became filters would only pull in every passage of that report
        # (its header names the authority and year): score on the rest.
        qtext = strip_words(question, u.matched) if use_question else question
        qv = self.embedder.encode([qtext])[0]
        dense = s.vectors[rows] @ qv
        terms = keywords.terms(without_framing(qtext)) or keywords.terms(qtext)
        bm = s.gen.bm25.get_scores(terms)[rows] if terms else np.zeros(len(rows), dtype=np.float32)

        if mode == "dense":
            score = dense.copy()
        elif mode == "bm25":
            score = bm.astype(np.float32)
        else:
            cand = np.union1d(_top(dense, CANDIDATES), _top(bm, CANDIDATES))
            score = np.full(len(rows), -np.inf, dtype=np.float32)
            bm_max = max(float(bm.max()), MIN_BM25) if len(bm) else 1.0
            score[cand] = dense[cand] + BM25_WEIGHT * bm[cand] / bm_max
            score -= HEADING_PENALTY * s.heading_mask[rows]
            if u.intent != LEAD_INSPECTOR:
                score -= FRONT_PENALTY * s.front_mask[rows]
            if not u.wants_actions:
                score -= RESTATEMENT_PENALTY * s.restatement_mask[rows]
            if u.intent == LEAD_INSPECTOR:
                score += INTENT_BOOST * s.lead_mask[rows]
            elif u.intent == OVERALL:
                score += INTENT_BOOST * s.overall_mask[rows]
            if u.month:
                near = np.abs(s.month_of[s.report_of[rows]] - u.month) <= 2
                score += MONTH_BOOST * near
        if mode == "hybrid" and not u.intent:
            # Show nothing rather than the least bad noise: a passage must share a
            # word with the question, or be a close paraphrase of it.
            relevant = (dense >= STRONG_DENSE) | ((dense >= MIN_DENSE) & (bm > 0))
            score[~relevant] = -np.inf
        order = np.argsort(-score, kind="stable")[:k]
        qterms = set(terms)
        hits = []
        for rank, j in enumerate(order, 1):
            if not math.isfinite(float(score[j])):
                break
            hits.append(self._hit(s, int(rows[j]), rank, float(score[j]), qterms))
        return Answer(question, f, tuple(hits), u.month, u.intent, tuple(notes), s.gen.name, s.names)

    def _report_mask(self, s: _Served, f: Filters) -> np.ndarray:
        ok = np.ones(len(s.gen.reports), dtype=bool)
        if f.authorities:
            wanted = set(f.authorities)
            ok &= np.array([k in wanted for k in s.key_of], dtype=bool)
        if f.year_from:
            ok &= s.year_of >= f.year_from
        if f.year_to:
            ok &= (s.year_of <= f.year_to) & (s.year_of > 0)
        if f.reports:
            wanted_r = set(f.reports)
            ok &= np.array([r.path in wanted_r for r in s.gen.reports], dtype=bool)
        return ok

    def _hit(self, s: _Served, ci: int, rank: int, score: float, qterms: set[str]) -> Hit:
        c = s.gen.chunks[ci]
        r = s.gen.reports[int(s.report_of[ci])]
        m = r.meta
        url = f"{m.source_url}#page={c.page}" if m.source_url else ""
        return Hit(
            rank=rank,
            score=score,
            source=r.path,
            title=m.title,
            local_authority=m.local_authority,
            published=m.published,
            page=c.page,
            paragraph=c.number,
            section=c.section,
            text=c.text,
            highlight=highlight(c.text, qterms),
            citation=citation(m.title, m.local_authority, m.published, c.page, c.number, m.source_url),
            url=url,
            chunk_id=c.id,
        )

    def best_per_report(self, question: str, authority: str, k_each: int = 1) -> list[Hit]:
        """The 'over time' view: the best passage from each of one authority's reports, oldest first."""
        s = self._served
        key = norm_name(authority) if authority not in s.names else authority
        out = []
        reports = sorted((r for r, kk in zip(s.gen.reports, s.key_of) if kk == key), key=lambda r: r.meta.published)
        for r in reports:
            a = self.ask(question, k=k_each, filters=Filters(reports=(r.path,)), use_question=False)
            out.extend(a.hits)
        return out


def strip_words(question: str, words: tuple[str, ...]) -> str:
    """The question without the authority names and years that became filters."""
    out = " " + question + " "
    for w in sorted(words, key=len, reverse=True):
        out = re.sub(r"(?i)(?<![\w])" + r"[\W_]*".join(map(re.escape, w.split())) + r"(?![\w])", " ", out)
    out = " ".join(out.split())
    return out if len(out.split()) >= 2 else question


def _top(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) <= n:
        return np.arange(len(x))
    return np.argpartition(-x, n)[:n]


def highlight(text: str, qterms: set[str], most: int = 2) -> tuple[str, ...]:
    """The sentence(s) sharing most question terms: exact substrings of `text`."""
    if not qterms:
        return ()
    sents = split_sentences(text)
    scored = []
    for i, sent in enumerate(sents):
        overlap = len(qterms & keywords.term_set(sent))
        if overlap:
            scored.append((overlap, -i, sent))
    scored.sort(reverse=True)
    best = [s for _, _, s in scored[:most] if s in text]
    if len(sents) == 1 and best:
        return (best[0],)
    return tuple(sorted(best, key=text.find))
