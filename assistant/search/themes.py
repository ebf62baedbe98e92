"""Across-reports answers: one theme over the whole library, one best passage per report.

A researcher asking "which authorities were praised for their MASH?" wants every
report that discusses the theme, the grade of the judgement each passage sits
under, and how that changed over the years; not five passages, two of them from
one report.

Relevance scores alone cannot make that count: for a two-part theme ("early help
performance data") passages about only one part score within 0.1 of those about
both. So each passage is checked against the question's *concepts*: every content
word of the question (or its glossary equivalent, "MASH" for "multi-agency
safeguarding hub") must be in the passage for the report to count as discussing
the theme fully; reports whose best passage has only some are listed apart as
matching "in part", and the count and the chart rest on the full matches only.

Built on a narrow interface of the searcher (`understand` once, then `search`
with a large k and filters), so that it does not depend on how the searcher ranks;
every step of one answer reads the one snapshot it acquired (`Searcher.acquire`),
and what it derives from the generation is cached on that snapshot.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from ..index import keywords
from ..index.chunking import Chunk
from ..index.keywords import KeywordIndex
from ..language.glossary import SYNONYMS
from ..language.vocab import FRAMING_WORDS, GRADE_NAMES, GRADE_ORDER, GRADE_RE, JUDGEMENT_NAME_TAIL_RE, NOT_GRADED, Grade
from ..settings import DEFAULTS, ThemeSettings
from .answer import Hit, filters_json
from .query import Filters, without_framing
from .searcher import Searcher, Snapshot, authority_key

FULL = "full"
PARTIAL = "partial"
UNDATED = "undated"
# The grade names, their order and NOT_GRADED are the vocabulary's (language.vocab:
# GRADE_ORDER, NOT_GRADED), the synonym groups the glossary's (language.glossary.SYNONYMS),
# the tuned numbers the settings tree's (settings.ThemeSettings).


@dataclass(frozen=True)
class Concept:
    """One thing the question asks about: a passage covers it if it holds one alternative,
    a one-word alternative anywhere, a longer one as a phrase ("family support", not
    "families" here and "support" there)."""

    label: str
    alternatives: tuple[frozenset[str], ...]  # stemmed terms of each spelling (the keyword index's)
    phrases: tuple[str, ...] = ()  # each spelling as written, aligned with `alternatives`

    def covered_by(self, terms: frozenset[str], text: str | None = None) -> bool:
        """`terms`: the passage's term_set; `text`: the passage, to check phrases (without it,
        the terms of a phrase anywhere in the passage count)."""
        phrases = self.phrases or ("",) * len(self.alternatives)
        for alt, phrase in zip(self.alternatives, phrases, strict=True):
            if alt <= terms and (len(alt) < 2 or text is None or not phrase or _loose_phrase(phrase).search(text)):
                return True
        return False


@lru_cache(maxsize=4096)
def _loose_phrase(phrase: str) -> re.Pattern:
    """The words of `phrase` next to each other, in any inflection ("family support" matches
    "families' support"), any separator ("multi-agency", "multi agency")."""
    bases = [w[:-1] if len(w) > 3 and w.endswith(("y", "e")) else w for w in re.findall(r"[a-z0-9]+", phrase.lower())]
    return re.compile(r"(?<![a-z0-9])" + r"[\W_]+".join(re.escape(b) + r"[a-z0-9'’]*" for b in bases), re.IGNORECASE)


@dataclass(frozen=True)
class Passage:
    hit: Hit
    judgement: str  # the judgement heading the passage sits under, "" if none
    grade: str  # normalised grade of that judgement (vocab.GRADE_ORDER), NOT_GRADED if none
    coverage: str  # FULL or PARTIAL
    covered: tuple[str, ...]  # concept labels the passage contains
    missing: tuple[str, ...]

    def to_json(self) -> dict:
        d = self.hit.to_json()
        d.update(
            judgement=self.judgement,
            grade=self.grade,
            coverage=self.coverage,
            covered=list(self.covered),
            missing=list(self.missing),
        )
        return d


@dataclass(frozen=True)
class AcrossRow:
    """One report: its best passage(s) for the theme."""

    rank: int
    source: str
    title: str
    local_authority: str
    authority_key: str
    published: str
    overall: str  # the report's overall grade as printed, "" if none
    passages: tuple[Passage, ...]  # best first

    @property
    def best(self) -> Passage:
        return self.passages[0]

    @property
    def coverage(self) -> str:
        return self.best.coverage

    @property
    def grade(self) -> str:
        return self.best.grade

    @property
    def year(self) -> str:
        return self.published[:4] if self.published[:4].isdigit() else UNDATED

    def to_json(self) -> dict:
        return {
            "rank": self.rank,
            "source": self.source,
            "title": self.title,
            "local_authority": self.local_authority,
            "published": self.published,
            "year": self.year,
            "overall": self.overall,
            "grade": self.grade,
            "coverage": self.coverage,
            "score": round(self.best.hit.score, 4),
            "passages": [p.to_json() for p in self.passages],
        }


@dataclass(frozen=True)
class Tally:
    """Reports fully discussing the theme, in one year, whose passage sits under one grade."""

    year: str
    grade: str
    reports: int

    def to_json(self) -> dict:
        return {"year": self.year, "grade": self.grade, "reports": self.reports}


@dataclass(frozen=True)
class AcrossAnswer:
    question: str
    filters: Filters
    grades: tuple[str, ...]  # the grade filter (normalised), () for all
    concepts: tuple[Concept, ...]
    rows: tuple[AcrossRow, ...]  # full matches first, each part ranked by best passage
    notes: tuple[str, ...] = ()
    authority_names: dict[str, str] = field(default_factory=dict)
    generation: str = ""  # the index generation every step of the answer read

    @property
    def full(self) -> tuple[AcrossRow, ...]:
        return tuple(r for r in self.rows if r.coverage == FULL)

    @property
    def partial(self) -> tuple[AcrossRow, ...]:
        return tuple(r for r in self.rows if r.coverage == PARTIAL)

    @property
    def authorities(self) -> int:
        return len({r.authority_key for r in self.full})

    def tally(self) -> tuple[Tally, ...]:
        """Full matches by year and grade, years ascending, grades in GRADE_ORDER."""
        counts = Counter((r.year, r.grade) for r in self.full)
        order = {g: i for i, g in enumerate(GRADE_ORDER)}
        keys = sorted(counts, key=lambda yg: (yg[0], order.get(yg[1], len(order))))
        return tuple(Tally(y, g, counts[(y, g)]) for y, g in keys)

    def rows_for(self, year: str | None = None, grade: str | None = None, coverage: str = FULL) -> tuple[AcrossRow, ...]:
        """The rows behind one bar of the chart."""
        return tuple(
            r
            for r in self.rows
            if (not coverage or r.coverage == coverage) and (year is None or r.year == year) and (grade is None or r.grade == grade)
        )

    def summary(self) -> str:
        """ "41 reports in 39 authorities discuss this; 12 more in part." (plain text)"""
        n, a, p = len(self.full), self.authorities, len(self.partial)
        if not n and not p:
            return "No report discusses this."
        head = f"{n} report{'s' if n != 1 else ''} in {a} authorit{'ies' if a != 1 else 'y'} discuss{'es' if n == 1 else ''} this"
        if not n:
            head = "No report discusses all of this"
        tail = f"; {p} more in part" if p else ""
        return head + tail + "."

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "filters": {**filters_json(self.filters, self.authority_names), "grades": list(self.grades)},
            "summary": self.summary(),
            "concepts": [c.label for c in self.concepts],
            "reports_full": len(self.full),
            "reports_partial": len(self.partial),
            "authorities_full": self.authorities,
            "by_year_grade": [t.to_json() for t in self.tally()],
            "rows": [r.to_json() for r in self.rows],
            "notes": list(self.notes),
        }


# --- grades -----------------------------------------------------------------------------


def normalise_grade(text: str) -> str:
    g = Grade.parse(text or "")
    return g.value if g else NOT_GRADED


def parse_grades(values) -> tuple[str, ...]:
    """User-given grade names ("inadequate", "Requires Improvement", its short form; vocab.GRADE_NAMES) -> normalised; unknown ones raise."""
    out: list[str] = []
    for v in values or ():
        v = (v or "").strip()
        if not v:
            continue
        if v.lower() in GRADE_NAMES:
            g = GRADE_NAMES[v.lower()]
        else:
            parsed = Grade.parse(v)
            if parsed is None:
                raise ValueError(f"unknown grade {v!r}: use one of {', '.join(GRADE_ORDER)}")
            g = parsed.value
        if g not in out:
            out.append(g)
    return tuple(out)


def passage_grade(chunk: Chunk | Hit | None) -> tuple[str, str]:
    """(judgement, normalised grade) of the judgement a passage (a Chunk, or the Hit that
    quotes it: both carry its judgement, grade and section) sits under.

    Read from the passage's `judgement`/`grade` fields, which ingestion records from
    chunking version 6 on. An index built before has them empty: then the section
    heading is read instead, which names the grade only in 2018+ reports
    ("...children in care: good") and some SIF sections ("Grade 4 (inadequate)").
    """
    if chunk is None:
        return "", NOT_GRADED
    judgement, grade = (
        getattr(chunk, "judgement", "") or "",
        getattr(chunk, "grade", "") or "",
    )
    if judgement or grade:
        return judgement, normalise_grade(grade)
    g, m = Grade.parse(chunk.section), GRADE_RE.search(chunk.section)
    if not g or not m:
        return "", NOT_GRADED
    # "The experiences and progress of care leavers: good" -> the judgement's name alone.
    name = JUDGEMENT_NAME_TAIL_RE.sub("", chunk.section[: m.start()])
    return (name if len(name) >= 12 else chunk.section), g.value


# --- concepts ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for group in SYNONYMS:
        stems = frozenset().union(*(keywords.term_set(w) for w in group))
        for s in stems:
            out[s] = stems
    return out


def _phrase_re(phrase: str, as_written: bool = False) -> re.Pattern:
    """A phrase in any spacing or hyphenation; an acronym only as written, in capitals
    (with a plural "s"), so that "PA" is not "pa" and "CIN" not "cin"."""
    words = re.findall(r"\w+", phrase if as_written else phrase.lower())
    body = r"[\W_]+".join(map(re.escape, words))
    if as_written:
        return re.compile(r"(?<!\w)" + body + r"s?(?!\w)")
    return re.compile(r"(?<!\w)" + body + r"(?:s|es)?(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=1)
def _glossary() -> tuple[tuple[re.Pattern, tuple[frozenset[str], ...], tuple[str, ...]], ...]:
    """(pattern of one spelling, entry number, every spelling's terms), longest spelling first.

    Acronyms and synonyms work both ways; an everyday wording ("go missing") only from
    the question's side: a passage about children going missing does not discuss return
    home interviews. Entries sharing a spelling are one concept ("RHI" and "return home
    interview" are also what "go missing" means)."""
    from ..language.glossary import ACRONYM, PLAIN, load_curated

    terms = load_curated()
    alts_of = [tuple(a for a in (keywords.term_set(p) for p in (*t.term, *t.means)) if a) for t in terms]
    phrase_of: dict[frozenset[str], str] = {}
    for t in terms:
        for p in (*t.term, *t.means):
            phrase_of.setdefault(keywords.term_set(p), p)
    both_ways: dict[frozenset[str], set[int]] = {}
    for n, t in enumerate(terms):
        if t.kind != PLAIN:
            for a in alts_of[n]:
                both_ways.setdefault(a, set()).add(n)
    out = []
    for n, t in enumerate(terms):
        merged = {a for m in {n} | {m for a in alts_of[n] for m in both_ways.get(a, ())} for a in alts_of[m]}
        alts = tuple(sorted(merged, key=sorted))
        phrases = tuple(phrase_of.get(a, "") for a in alts)
        for p in t.term:
            out.append((_phrase_re(p, as_written=t.kind == ACRONYM), alts, phrases, len(p)))
        if t.kind != PLAIN:
            for p in t.means:
                out.append((_phrase_re(p), alts, phrases, len(p)))
    out.sort(key=lambda x: -x[3])
    return tuple((pat, alts, phrases) for pat, alts, phrases, _ in out)


def concepts(text: str, common: frozenset[str] = frozenset()) -> tuple[Concept, ...]:
    """The content concepts of a question (filter words already removed).

    Glossary phrases first (either spelling counts), then every remaining content
    word that is neither framing nor `common`, each with its synonyms.
    """
    rest = without_framing(text)
    out: list[Concept] = []
    used: set[frozenset[str]] = set()
    for pattern, alts, phrases in _glossary():
        m = pattern.search(rest)
        if m is None:
            continue
        if not used & set(alts):
            used.update(alts)
            out.append(Concept(m.group(0), alts, phrases))
        rest = pattern.sub(" ", rest)
    framing, syn = FRAMING_WORDS, _synonyms()
    seen: set[str] = set()
    for word in re.findall(r"\w+(?:[-']\w+)*", rest):
        if word.lower() in framing:
            continue
        terms = frozenset(t for t in keywords.term_set(word) if t not in common and not t.isdigit())
        if not terms or terms <= seen:
            continue
        seen |= terms
        if len(terms) == 1:
            (term,) = terms
            out.append(Concept(word.lower(), tuple(frozenset({t}) for t in sorted(syn.get(term, {term})))))
        else:  # "multi-agency": its parts, together
            out.append(Concept(word.lower(), (terms,), (word,)))
    return tuple(out)


def common_terms(searcher: Searcher, st: ThemeSettings = DEFAULTS.themes) -> frozenset[str]:
    """Terms printed in more than st.common_share of the served generation's passages."""
    return _Lookup.on(searcher.acquire(), st.common_share).common


# --- per-generation lookups -----------------------------------------------------------------


@dataclass(frozen=True)
class _Lookup:
    """What the across view reads from a generation besides the searcher's answers; built once
    per snapshot and cached on it (Snapshot.memo), so it is never another generation's."""

    overall_of: dict[str, str]  # report path -> overall grade
    common: frozenset[str]
    report_of: np.ndarray  # passage row -> report index
    paths: tuple[str, ...]  # report index -> path
    texts: tuple[str, ...]  # passage row -> text
    postings: KeywordIndex | None = None  # the keyword index: each term's passages

    @staticmethod
    def on(snap: Snapshot, common_share: float) -> _Lookup:
        return snap.memo(("themes.lookup", common_share), lambda: _Lookup.of(snap, common_share))

    @staticmethod
    def of(snap: Snapshot, common_share: float) -> _Lookup:
        gen = snap.gen
        common: frozenset[str] = frozenset()
        bm = getattr(gen, "bm25", None)
        postings = None
        if isinstance(bm, KeywordIndex) and bm.num_docs:
            # Document frequency per term from the keyword index.
            common = bm.terms_in_more_than(common_share * bm.num_docs)
            if bm.num_docs == len(gen.chunks):
                postings = bm
        return _Lookup(
            {r.path: r.meta.overall for r in gen.reports},
            common,
            snap.report_of,
            tuple(r.path for r in gen.reports),
            tuple(gen.chunks.column("text") if hasattr(gen.chunks, "column") else (c.text for c in gen.chunks)),
            postings,
        )

    def _rows_with(self, terms: frozenset[str]) -> np.ndarray:
        bm = self.postings
        assert bm is not None
        out: np.ndarray | None = None
        for t in terms:
            rows = bm.rows_with(t)
            if not len(rows):
                return np.zeros(0, dtype=np.int64)
            out = rows if out is None else np.intersect1d(out, rows, assume_unique=True)
        return out if out is not None else np.zeros(0, dtype=np.int64)

    def reports_covering(self, cs: tuple[Concept, ...]) -> set[str] | None:
        """Every report with a passage naming all of `cs`, found through the keyword
        index's postings (which also hold a passage's header words) and then checked
        on the passage's own text. None when the index offers no postings."""
        if self.postings is None or not cs:
            return None
        rows: np.ndarray | None = None
        for c in cs:
            found = np.unique(np.concatenate([self._rows_with(a) for a in c.alternatives]))
            rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
            if len(rows) == 0:
                return set()
        assert rows is not None
        out: set[str] = set()
        for r in rows.tolist():
            path = self.paths[self.report_of[r]]
            if path in out:
                continue
            text = self.texts[r]
            terms = keywords.term_set(text)
            if all(c.covered_by(terms, text) for c in cs):
                out.add(path)
        return out


# --- the answer -----------------------------------------------------------------------------


def across(
    searcher: Searcher,
    question: str,
    filters: Filters | None = None,
    grades: tuple[str, ...] = (),
    per_report: int = 1,
    include_partial: bool = True,
    st: ThemeSettings = DEFAULTS.themes,
    snapshot: Snapshot | None = None,
) -> AcrossAnswer:
    """Every report whose passages clear the relevance floor for `question`, best passage each.

    `filters` narrow by authority/years as for `Searcher.ask`; `grades` keeps only
    reports whose best passage sits under a judgement of one of those grades
    (normalised names, see parse_grades); `per_report` passages at most per report.
    The question is understood once and every search reads one snapshot (`snapshot`,
    or the one acquired here): a re-index meanwhile changes nothing in this answer.
    """
    question = " ".join((question or "").split())
    if not question:
        raise ValueError("ask a question: the across-reports view needs a theme")
    per_report = max(1, min(int(per_report or 1), st.max_per_report))
    grades = parse_grades(grades)
    snap = snapshot or searcher.acquire()
    # The searcher fuses the union of its dense and keyword top `candidates`: asking for
    # twice that many returns every passage it can score.
    pool = 2 * searcher.settings.candidates
    understood = searcher.understand(question, snap)
    answer = searcher.search(understood.with_filters(filters), k=pool, snapshot=snap)
    look = _Lookup.on(snap, st.common_share)
    # The words that became filters (authority, years) are no concept of the theme.
    topic = understood.search_text or question
    cs = concepts(topic, look.common)
    notes = list(answer.notes)
    if not cs:
        notes.append("the question names no specific theme: every passage above the relevance floor counts")

    by_report: dict[str, list[Passage]] = {}
    found_in: dict[str, int] = {}  # report -> search round that found it

    def take(hits, round_: int) -> None:
        for h in hits:
            terms = keywords.term_set(h.text)
            has = [c.covered_by(terms, h.text) for c in cs]
            if cs and not any(has):
                continue  # shares no concept: a near-paraphrase of the wording, not of the theme
            covered = tuple(c.label for c, ok in zip(cs, has, strict=True) if ok)
            missing = tuple(c.label for c, ok in zip(cs, has, strict=True) if not ok)
            judgement, grade = passage_grade(h)
            ps = by_report.setdefault(h.source, [])
            if all(p.hit.chunk_id != h.chunk_id for p in ps):
                ps.append(
                    Passage(
                        h,
                        judgement,
                        grade,
                        PARTIAL if missing else FULL,
                        covered,
                        missing,
                    )
                )
                found_in.setdefault(h.source, round_)

    take(answer.hits, 0)
    # The searcher scores a pool of candidates, which a common theme overflows: reports
    # that name every concept somewhere but had no passage in the pool are searched
    # again on their own, so that the count covers the library, not the pool.
    covering = look.reports_covering(cs) if st.extra_rounds else None
    for round_ in range(1, st.extra_rounds + 1):
        if not covering:
            break
        full_now = {src for src, ps in by_report.items() if any(p.coverage == FULL for p in ps)}
        missing_reports = tuple(sorted(covering - full_now))
        if not missing_reports:
            break
        more = searcher.search(understood.with_filters(replace(answer.filters, reports=missing_reports)), k=pool, snapshot=snap)
        take(more.hits, round_)

    rows: list[AcrossRow] = []
    for src, ps in by_report.items():
        # Best passage: a full match before any partial one, then by concepts covered, then score.
        ps.sort(key=lambda p: (p.coverage != FULL, -len(p.covered), -p.hit.score))
        best = ps[0]
        if grades and best.grade not in grades:
            continue
        h = best.hit
        rows.append(
            AcrossRow(
                0,
                src,
                h.title,
                h.local_authority,
                authority_key(src, h.local_authority),
                h.published,
                look.overall_of.get(src, ""),
                tuple(ps[:per_report]),
            )
        )
    # Scores of later rounds are normalised within a narrower search: not comparable with
    # the first round's, so each round's reports follow the previous round's.
    rows.sort(key=lambda r: (r.coverage != FULL, found_in.get(r.source, 0), -r.best.hit.score))
    if not include_partial:
        rows = [r for r in rows if r.coverage == FULL]
    rows = [
        AcrossRow(
            i,
            r.source,
            r.title,
            r.local_authority,
            r.authority_key,
            r.published,
            r.overall,
            r.passages,
        )
        for i, r in enumerate(rows, 1)
    ]
    return AcrossAnswer(
        question,
        answer.filters,
        grades,
        cs,
        tuple(rows),
        tuple(notes),
        dict(answer.authority_names),
        snap.name,
    )


def tally_hits(hits) -> tuple[Tally, ...]:
    """Reports per year and grade for plain hits (the over-time view: one best passage per
    report of one authority), by the grade of the judgement each passage sits under (read
    from the hits themselves: the generation they were quoted from)."""
    best: dict[str, Hit] = {}
    for h in hits:
        if h.source not in best or h.score > best[h.source].score:
            best[h.source] = h
    counts = Counter(
        (
            h.published[:4] if h.published[:4].isdigit() else UNDATED,
            passage_grade(h)[1],
        )
        for h in best.values()
    )
    order = {g: i for i, g in enumerate(GRADE_ORDER)}
    return tuple(Tally(y, g, counts[(y, g)]) for y, g in sorted(counts, key=lambda yg: (yg[0], order.get(yg[1], 99))))


def as_text(a: AcrossAnswer) -> str:
    """The answer for a terminal: the count, then one block per report."""
    lines = [a.summary()]
    if a.concepts:
        lines.append("Concepts: " + ", ".join(c.label for c in a.concepts))
    lines += [f"Note: {n}" for n in a.notes]
    for r in a.rows:
        h = r.best.hit
        para = f", para. {h.paragraph}" if h.paragraph is not None else ""
        where = ", ".join(b for b in (r.local_authority, r.published or "date not stated") if b)
        lines += [
            "",
            f"{r.rank}. [{r.coverage}] {where} · {r.grade} · p. {h.page}{para}",
        ]
        for p in r.passages:
            lines.append("   " + p.hit.text)
        lines.append("   " + h.citation)
    return "\n".join(lines)
