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
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..index import ann, embed, keywords, shipped
from ..index.chunking import split_sentences
from ..index.disk import ChunkList, Generation, IndexLoadError, current_name, model_stamp
from ..index.read import load_generation, load_serving
from ..language.glossary import Glossary, mine_acronyms
from ..language.vocab import LEAD_INSPECTOR_RE, OVERALL_LINE_RE, RESTATEMENT_SECTION_RE, Grade, Intent, Kind
from ..settings import DEFAULT_K, DEFAULTS, AnnSettings, RankingSettings
from .abstain import rare_term_share
from .aliases import LazyAlternatives, acronym_tokens, mine_alternatives
from .answer import Answer, Hit, citation
from .answerable import DEPTH as EVIDENCE_DEPTH
from .answerable import Answerability, Evidence, load_answerability
from .authorities import AuthorityTable, authority_key, norm_name
from .query import Filters, Query, understand, without_framing
from .rerank import Reranker, rescore

T = TypeVar("T")


# -- per-passage ranking signals ------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """The passage fields the signals read, one list each (read by column from a loaded
    generation: the serving arrays of 64k passages take 0.35 s instead of 0.5 s of a
    replica's switch, bench/load.py)."""

    text: list[str]
    kind: list[str]
    page: list[int]
    section: list[str]
    number: list[int | None]

    @classmethod
    def of(cls, chunks) -> Columns:
        def column(name: str) -> list:
            return chunks.column(name) if isinstance(chunks, ChunkList) else [getattr(c, name) for c in chunks]

        return cls(column("text"), column("kind"), column("page"), column("section"), column("number"))


def _lead(c: Columns, st: RankingSettings) -> np.ndarray:
    return np.array([k == Kind.FRONT and bool(LEAD_INSPECTOR_RE.match(t)) for k, t in zip(c.kind, c.text)], dtype=bool)


def _overall(c: Columns, st: RankingSettings) -> np.ndarray:
    return np.array(
        [k in (Kind.JUDGEMENT, Kind.HEADING) and p == 1 and bool(OVERALL_LINE_RE.match(t)) for k, p, t in zip(c.kind, c.page, c.text)], dtype=bool
    )


def _heading(c: Columns, st: RankingSettings) -> np.ndarray:
    # Text printed in many reports (Ofsted's address, licence, "What needs to improve?")
    # is boilerplate, whatever it shares with a question.
    seen = Counter(c.text)
    return np.array([k == Kind.HEADING for k in c.kind], dtype=bool) | np.array([seen[t] >= st.boilerplate_reports for t in c.text], dtype=bool)


def _front(c: Columns, st: RankingSettings) -> np.ndarray:
    # Page furniture that survived cleaning ("© Crown copyright 2014") is as useless as front lines.
    # `short_words` words or more, as str.split counts them, matched from the start: no list of words made.
    enough = re.compile(r"\s*" + r"\S+\s+" * (st.short_words - 1) + r"\S")
    return np.array([k == Kind.FRONT or not enough.match(t) for k, t in zip(c.kind, c.text)], dtype=bool)


def _restatement(c: Columns, st: RankingSettings) -> np.ndarray:
    restates = {x: bool(RESTATEMENT_SECTION_RE.match(x)) for x in set(c.section)}  # a few hundred distinct
    return np.array([restates[x] for x in c.section], dtype=bool)


def _numbered(c: Columns, st: RankingSettings) -> np.ndarray:
    return np.array([x is not None for x in c.number], dtype=bool)


def _asks_for(intent: Intent) -> Callable[[Query], bool]:
    return lambda q: q.intent == intent


@dataclass(frozen=True)
class Signal:
    """One per-passage flag and what it adds to a flagged passage's score for a question.

    `weight` names the RankingSettings field; `sign` -1 for a penalty; `applies` says for
    which questions (None: all)."""

    name: str
    flag: Callable[[Columns, RankingSettings], np.ndarray]
    weight: str
    sign: float
    applies: Callable[[Query], bool] | None
    about: str

    def weight_for(self, q: Query, st: RankingSettings) -> float:
        """The signed weight for this question; 0.0 when the signal does not apply to it."""
        if self.applies is not None and not self.applies(q):
            return 0.0
        return self.sign * getattr(st, self.weight)


# The ranking signals, in the order their weights are added (the float32 sums depend on it).
# A new signal is one entry here (its flag function above, its weight a RankingSettings
# field) plus its test in tests/unit/test_ranking.py: Masks, penalise and explain read this.
SIGNALS: tuple[Signal, ...] = (
    Signal("heading", _heading, "heading_penalty", -1.0, None, "headings, and text printed in many reports (boilerplate)"),
    Signal(
        "front",
        _front,
        "front_penalty",
        -1.0,
        lambda q: q.intent != Intent.LEAD_INSPECTOR,
        "front-page lines and fragments under short_words words (not when asking who led)",
    ),
    # Summary lists ("What needs to improve?", "Recommendations", the summary for
    # children) restate in one line a finding that the body gives with its evidence.
    Signal(
        "restatement",
        _restatement,
        "restatement_penalty",
        -1.0,
        lambda q: not q.wants_actions,
        "one-line restatements in summary lists (not when asking what to improve)",
    ),
    Signal("lead", _lead, "intent_boost", 1.0, _asks_for(Intent.LEAD_INSPECTOR), 'the "Lead inspector: ..." line, when asked who led'),
    Signal("overall", _overall, "intent_boost", 1.0, _asks_for(Intent.OVERALL), "the page-1 overall effectiveness line, when asked for it"),
    # Printed paragraph numbers mark the judgement sections' body, where findings
    # are stated with their evidence (2018+ reports).
    Signal(
        "numbered",
        _numbered,
        "numbered_boost",
        1.0,
        lambda q: q.intent not in (Intent.LEAD_INSPECTOR, Intent.OVERALL),
        "numbered paragraphs, when the question has no intent",
    ),
)
SIGNAL_NAMES = tuple(sig.name for sig in SIGNALS)


@dataclass(frozen=True)
class Masks:
    """Every signal's per-passage flag (rows of one bool matrix, in SIGNALS' order, aligned
    with the passages); `m.front` or `m["front"]` is one signal's row."""

    flags: np.ndarray  # (len(SIGNALS), passages) bool

    def __getitem__(self, name: str) -> np.ndarray:
        return self.flags[SIGNAL_NAMES.index(name)]

    def __getattr__(self, name: str) -> np.ndarray:
        if name in SIGNAL_NAMES:
            return self.flags[SIGNAL_NAMES.index(name)]
        raise AttributeError(name)

    def __len__(self) -> int:
        return int(self.flags.shape[1])

    def take(self, rows: np.ndarray) -> Masks:
        return Masks(self.flags[:, rows])

    @classmethod
    def of(cls, chunks, st: RankingSettings = RankingSettings()) -> Masks:
        """Each signal's flag for every passage of `chunks` (a generation's ChunkList or Chunks)."""
        return cls.of_columns(Columns.of(chunks), st)

    @classmethod
    def of_columns(cls, cols: Columns, st: RankingSettings) -> Masks:
        return cls(np.stack([sig.flag(cols, st) for sig in SIGNALS]))

    @classmethod
    def named(cls, n: int, **flags: np.ndarray) -> Masks:
        """Masks of `n` passages from named flags, every other signal unset (tests, experiments)."""
        unknown = set(flags) - set(SIGNAL_NAMES)
        if unknown:
            raise KeyError(f"no ranking signal {sorted(unknown)}: one of {', '.join(SIGNAL_NAMES)}")
        out = np.zeros((len(SIGNALS), n), dtype=bool)
        for i, name in enumerate(SIGNAL_NAMES):
            if name in flags:
                out[i] = flags[name]
        return cls(out)

    def explain(self, j: int) -> tuple[str, ...]:
        """The signals set for passage `j`, for debug output."""
        return tuple(name for name, row in zip(SIGNAL_NAMES, self.flags) if row[j])


@dataclass(frozen=True)
class Snapshot:
    """One generation as served, with the arrays that make filtering and scoring cheap.

    Acquired once per answer (`Searcher.acquire`, as Lucene's SearcherManager hands out
    a searcher) and used for every step of it: a re-index swaps the searcher's snapshot,
    never one an answer holds. Whatever else an answer derives from the generation is
    cached here (`memo`), so it lives and dies with the generation it was read from.
    """

    gen: Generation
    dense: ann.Dense  # flat (every allowed row scored exactly) or, for millions of passages, IVF
    report_of: np.ndarray  # chunk -> report index
    year_of: np.ndarray  # report -> published year (0 unknown)
    month_of: np.ndarray
    key_of: list[str]  # report -> authority key
    names: dict[str, str]  # authority key -> display name
    masks: Masks
    library: AuthorityTable  # every form that names one of its authorities
    glossary: Glossary  # the field's terms, curated and mined from these reports
    df: Callable[[str], int]  # passages containing a keyword term
    alternatives: LazyAlternatives  # other reports' names for a service ("integrated front door" for MASH)
    acronyms: frozenset[str]  # keyword terms of the glossary's acronyms: the words that may have alternatives
    _memo: dict = field(default_factory=dict, compare=False, repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The generation's name: what an answer reports it was read from."""
        return self.gen.name

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`'s value for this generation, built once (a concurrent first call may
        build it twice; one result is kept)."""
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        value = build()
        with self._memo_lock:
            return self._memo.setdefault(key, value)

    @classmethod
    def of(cls, gen: Generation, settings: RankingSettings, ann_settings: AnnSettings = DEFAULTS.ann) -> Snapshot:
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
        cols = Columns.of(gen.chunks)
        masks = Masks.of_columns(cols, settings)
        library = AuthorityTable.from_generation(gen)
        glossary = glossary_of(gen)
        texts = cols.text
        alternatives = LazyAlternatives(
            lambda: mine_alternatives(glossary.terms, gen.bm25, texts, report_of, settings.alias_similarity, settings.alias_overlap)
        )
        return cls(
            gen,
            ann.Dense(gen.dense, exact_below=ann_settings.exact_below),
            report_of,
            years,
            months,
            keys,
            names,
            masks,
            library,
            glossary,
            gen.bm25.df,
            alternatives,
            acronym_tokens(glossary.terms),
        )


@dataclass(frozen=True)
class Candidates:
    """The retriever's best passages for one question (fused and penalised; no floor): what
    the re-ranker re-scores, and what training mines its hard negatives from."""

    embedded: str  # the question text that was embedded
    rows: np.ndarray  # generation rows, best first
    fused: np.ndarray  # their fused score
    sources: tuple[str, ...]  # their reports
    texts: tuple[str, ...]  # section heading and passage: what the models read
    dense: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # their cosine
    bm: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # their BM25 of the question's own words
    unknown: float = 0.0  # the question's idf share in words the library barely knows (abstains() reads it)
    query: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # the embedded question
    keyword: bool = False  # typed like a search box (Query.keyword_query)
    names_authority: bool = False

    @property
    def left_ranked(self) -> bool:
        """A keyword query naming an authority, which the floor never empties (left_ranked())."""
        return left_ranked(self.keyword, self.names_authority, self.unknown)

    def evidence(self) -> Evidence:
        """What the answerability model reads of this question, as serving builds it (evidence())."""
        return Evidence(
            self.query,
            self.fused[:EVIDENCE_DEPTH],
            self.dense[:EVIDENCE_DEPTH],
            self.bm[:EVIDENCE_DEPTH],
            self.unknown,
            self.keyword,
            self.names_authority,
        )


@dataclass(frozen=True)
class _Signals:
    """Every scoring signal of the rows in scope for one question."""

    dense: np.ndarray
    bm: np.ndarray  # BM25 of the question's own words, or the scope's name for them (the floor reads only these)
    keyword: np.ndarray  # BM25 with the glossary's and the service names' words added
    terms: list[str]  # keyword terms scored, for highlighting
    also: tuple[str, ...]  # phrases added to the question's own words
    # The scope names the question's service otherwise ("integrated front door" for MASH): the
    # subject was found in the report's own words, which no cosine floor can see.
    renamed: np.ndarray | None = None  # per row: holds the scope's own name
    # The question's own words (and the scope's names for them): the only ones "words the
    # library does not know" may count. The glossary's additions weigh in the total but are
    # not the asker's words: an acronym a small library never prints ("CiC") must not count.
    asked: list[str] = field(default_factory=list)
    query: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # the embedded question


# Searcher(answerability=SHIPPED): the shipped answerability model, where it was trained with this embedder.
SHIPPED = "shipped"


def floor_for(embedder: embed.Embedder, st: RankingSettings) -> RankingSettings:
    """The relevance floor for this embedder: the fine-tuned one's cosines sit lower than the
    wheel's (validation medians 0.42 vs 0.50 for answers, 0.12 vs 0.30 for others), so its
    floor was chosen with it on the validation split (models.json); settings that differ from
    the defaults win, as for a sweep."""
    floor = shipped.entry("embedder")
    if embedder.info.name != embed.TUNED_NAME or not floor or "floor" not in floor:
        return st
    default = RankingSettings()
    chosen = {k: v for k, v in floor["floor"].items() if getattr(st, k) == getattr(default, k)}
    return replace(st, **chosen)


def glossary_of(gen: Generation) -> Glossary:
    """The curated glossary plus the acronyms these reports define on first use (mined at build time)."""
    if gen.glossary:
        return Glossary.build(Glossary.mined_from_json(gen.glossary))
    # Generations written before the glossary was stored: mine them now (0.7 s for the full library).
    return Glossary.build(mine_acronyms(c.text for c in gen.chunks))


class Searcher:
    """Question -> Answer over the serving generation.

    Thread-safe: a re-index swaps the served snapshot in one assignment, and each
    answer acquires one snapshot (`acquire`) and reads it from start to end; callers
    composing several steps into one answer (the across view, the over-time view, the
    chat's suggestions) acquire once and pass it to each step.
    """

    def __init__(
        self,
        index_dir: Path,
        embedder: embed.Embedder | None = None,
        settings: RankingSettings = DEFAULTS.ranking,
        reranker: Reranker | None = None,
        ann_settings: AnnSettings = DEFAULTS.ann,
        answerability: Answerability | None | str = SHIPPED,
    ):
        self.index_dir = Path(index_dir)
        self.embedder = embedder or embed.load_embedder(cache_dir=self.index_dir / "models")
        self.settings = floor_for(self.embedder, settings)
        # The shipped cross-encoder (search.rerank.load_reranker) or None: the retriever's own
        # ranking and floor, as the benchmarks' "fused" mode.
        self.reranker = reranker
        # The model of "no report answers this" (search/answerable.py), beside the floor; it
        # reads this embedder's vectors, so it loads only for the embedder it was trained with.
        self.answerability: Answerability | None = (
            load_answerability(self.embedder.info.weights_sha256) if isinstance(answerability, str) else answerability
        )
        self.ann_settings = ann_settings
        self._lock = threading.Lock()
        serving = load_serving(self.index_dir, expect_model=model_stamp(self.embedder))
        # A damaged newest generation is passed over; say so where the admin will look.
        self.warnings: list[str] = [f"index generation skipped: {w}" for w in serving.skipped]
        # The same (floor-adjusted) settings as a reload uses, so a re-index serves alike.
        self._served = Snapshot.of(serving.generation, self.settings, ann_settings)

    def acquire(self) -> Snapshot:
        """The serving snapshot, for one answer: every step given it reads the same generation."""
        return self._served

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
                except IndexLoadError as exc:
                    # Keep answering from the generation we have rather than fail every question.
                    self.warnings.append(f"new index generation {name} not loaded: {exc}")
                    return False
                self._served = Snapshot.of(gen, self.settings, self.ann_settings)
                return True
        return False

    # -- retrieval ------------------------------------------------------------------

    def understand(self, question: str, snapshot: Snapshot | None = None) -> Query:
        """Read the question against this library's authorities (see query.understand)."""
        s = snapshot or self._served
        return understand(question, s.library, s.glossary)

    def ask(
        self,
        question: str,
        k: int = DEFAULT_K,
        filters: Filters | None = None,
        use_question: bool = True,
        mode: str = "hybrid",
        snapshot: Snapshot | None = None,
    ) -> Answer:
        """Understand `question` (unless `use_question` is False: then only `filters`
        apply and every word is scored) and search for it, in one snapshot."""
        s = snapshot or self.acquire()
        q = self.understand(question, s).with_filters(filters) if use_question else Query.plain(question, filters or Filters())
        return self.search(q, k=k, mode=mode, snapshot=s)

    def search(self, q: Query, k: int = DEFAULT_K, mode: str = "hybrid", snapshot: Snapshot | None = None) -> Answer:
        """The ranked passages for an understood question: scope -> signals -> fuse ->
        penalise -> re-rank and abstain (or, without a re-ranker, the floor) -> highlight.
        `mode` "fused" is the retriever alone, "dense" or "bm25" one signal alone (benchmarks)."""
        s = snapshot or self.acquire()  # one generation for the whole answer, whatever reloads meanwhile
        f, notes = self._scope(s, q)
        answer = Answer(q.text, f, (), q.month, q.intent, tuple(notes), s.gen.name, s.names, also_searched=q.also)
        if reason := not_in_library(q):
            # Nothing was searched, so no glossary terms either.
            return replace(
                answer,
                abstained=reason,
                also_searched=(),
                suggestions=("ask about an English local authority the library holds (see the Library tab)",),
            )
        rows = self._rows(s, f)
        if len(rows) == 0:
            return answer
        sig = self._signals(s, q, rows)
        answer = replace(answer, also_searched=sig.also)
        st = self.settings
        relevance = None
        if mode == "dense":
            score = sig.dense.copy()
        elif mode == "bm25":
            score = sig.keyword.astype(np.float32)
        else:
            score = self._fused(s, q, rows, sig)
            if q.intent:
                pass  # front-page lines, found by rule
            elif mode == "hybrid" and self.reranker is not None:
                rr = self.reranker
                head = np.array(ranked(score, rr.depth(st.rerank)), dtype=np.int64)
                texts = [s.gen.chunks[int(rows[j])].embed_text for j in head]
                verdict = rescore(q.text, score, head, texts, rr, rr.weight(st.rerank))
                if verdict.top < rr.abstain_below(st.rerank, keyword=q.keyword_query(st.keyword_words)):
                    return replace(answer, abstained=NOTHING_MATCHES, suggestions=TOPICS)
                score, relevance = verdict.score, verdict.relevance
            else:
                unknown = unknown_share(sig.asked, s.df, len(s.gen.chunks), st, sig.terms)
                typed = left_ranked(q.keyword_query(st.keyword_words), bool(q.filters.authorities), unknown)
                model = self.answerability if st.answerability else None
                if model is not None:
                    chance = model.unanswerable(evidence(q, score, sig, unknown, st))
                    answer = replace(answer, answerable=round(1.0 - chance, 4))
                    if sig.renamed is None and chance > model.threshold and (st.answerability_keywords or not typed):
                        return replace(answer, abstained=NOTHING_MATCHES, suggestions=TOPICS)
                if not typed:
                    floored = apply_floor(score, sig.dense, sig.bm, st)
                    score = floored if sig.renamed is None else np.where(sig.renamed, score, floored)
                    # Where the model decides, the floor only filters passages: its threshold on
                    # the best score is what the model replaces (validation, RESULTS 'Answerability').
                    empty = abstains(score, unknown, st) if model is None else not np.isfinite(score).any()
                    if sig.renamed is None and empty:
                        return replace(answer, abstained=NOTHING_MATCHES, suggestions=TOPICS)
        qterms = set(sig.terms)
        hits = [
            self._hit(s, int(rows[j]), rank, float(score[j]), qterms, None if relevance is None else float(relevance[j]))
            for rank, j in enumerate(ranked(score, k), 1)
        ]
        return replace(answer, hits=tuple(hits))

    def candidates(self, q: Query, depth: int, snapshot: Snapshot | None = None) -> Candidates:
        """The `depth` best passages by the retriever alone (fused, penalised; no floor, no
        abstention), from the serving generation."""
        s = snapshot or self.acquire()
        f, _ = self._scope(s, q)
        rows = self._rows(s, f)
        if len(rows) == 0 or not_in_library(q):
            return Candidates(q.search_text, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), (), ())
        sig = self._signals(s, q, rows)
        score = self._fused(s, q, rows, sig)
        top = np.array(ranked(score, depth), dtype=np.int64)
        chosen = rows[top]
        return Candidates(
            q.search_text,
            chosen,
            score[top].astype(np.float32),
            tuple(s.gen.reports[int(s.report_of[i])].path for i in chosen),
            tuple(s.gen.chunks[int(i)].embed_text for i in chosen),
            sig.dense[top],
            sig.bm[top],
            unknown_share(sig.asked, s.df, len(s.gen.chunks), self.settings, sig.terms),
            sig.query,
            q.keyword_query(self.settings.keyword_words),
            bool(q.filters.authorities),
        )

    def _fused(self, s: Snapshot, q: Query, rows: np.ndarray, sig: _Signals) -> np.ndarray:
        """The retriever's score: dense and keyword fused, then penalised and boosted."""
        st = self.settings
        return penalise(fuse(sig.dense, sig.keyword, st), s.masks.take(rows), q, _near_month(s, rows, q.month, st.month_window), st)

    def _rows(self, s: Snapshot, f: Filters) -> np.ndarray:
        return np.flatnonzero(self._report_mask(s, f)[s.report_of]) if len(s.report_of) else np.zeros(0, dtype=np.int64)

    def _scope(self, s: Snapshot, q: Query) -> tuple[Filters, list[str]]:
        """The filters to apply: the question's, widened by a year either side when
        no report matches years the question named (and says so)."""
        f = q.filters
        if q.years_asked and (f.year_from or f.year_to) and not self._report_mask(s, f).any():
            wider = replace(f, year_from=(f.year_from or 0) - 1, year_to=(f.year_to or 9999) + 1)
            if self._report_mask(s, wider).any():
                return wider, [f"no report published in {f.year_from}-{f.year_to}; searched a year either side"]
        return f, []

    def _signals(self, s: Snapshot, q: Query, rows: np.ndarray) -> _Signals:
        """Cosine and BM25 score of every row in scope.

        Words that became filters would only pull in every passage of that report
        (its header names the authority and year): `search_text` leaves them out.
        The glossary's wording of the question, and the scope's own name for a service
        the question calls by another, are scored too, for less than the question's words.
        """
        text = q.search_text
        terms = keywords.terms(without_framing(text)) or keywords.terms(text)
        bm = s.gen.bm25.scores(terms)[rows] if terms else np.zeros(len(rows), dtype=np.float32)
        qv = self.embedder.encode([text])[0]
        dense = dense_scores(s.dense, qv, rows, bm, self.settings.candidates)
        also = list(q.also)

        # The scope's own name for a service the question names counts as the question's word.
        def present(t: str) -> bool:
            return _present(s.gen.bm25.rows_with(t), rows)

        # Only an acronym of the question that the scope never prints can have another name there.
        absent = [t for t in terms if t in s.acronyms and not present(t)]
        names = [alt for _, alt in s.alternatives.get().in_scope(absent, present)] if absent else []
        own_terms = terms + [t for alt in names for t in keywords.terms(alt.short) if t not in terms]
        renamed = None
        if names:
            bm = s.gen.bm25.scores(own_terms)[rows]
            renamed = s.gen.bm25.scores([t for t in own_terms if t not in terms])[rows] > 0
            also.extend(f"{alt.long} ({alt.short})" for alt in names)
        elif absent and self.settings.absent_long_form:
            # An acronym the scope never prints ("LADO" in reports that write "designated
            # officers") can only be found there by its long form: those words count as the
            # question's own, not as the glossary's lighter additions.
            spelled = [t for a in s.glossary.expand(text).added if set(keywords.terms(a.because)) <= set(absent) for t in keywords.terms(a.phrase)]
            extra = [t for t in dict.fromkeys(spelled) if t not in own_terms]
            if extra:
                own_terms = own_terms + extra
                bm = s.gen.bm25.scores(own_terms)[rows]
        added = list(dict.fromkeys(t for phrase in q.also for t in keywords.terms(phrase) if t not in own_terms))
        keyword = (bm + self.settings.glossary_weight * s.gen.bm25.scores(added)[rows]).astype(np.float32) if added else bm
        return _Signals(dense, bm, keyword, own_terms + added, tuple(dict.fromkeys(also)), renamed, own_terms, qv)

    def _report_mask(self, s: Snapshot, f: Filters) -> np.ndarray:
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

    def _hit(self, s: Snapshot, ci: int, rank: int, score: float, qterms: set[str], relevance: float | None = None) -> Hit:
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
            judgement=c.judgement,
            grade=c.grade,
            report_grade=(g := Grade.parse(m.overall)) and g.value or "",
            relevance=relevance,
        )

    def best_per_report(self, topic: str, authority: str, k_each: int = 1, snapshot: Snapshot | None = None) -> list[Hit]:
        """The 'over time' view: the best passage from each of one authority's reports, oldest
        first, every one from the same snapshot."""
        s = snapshot or self.acquire()
        key = norm_name(authority) if authority not in s.names else authority
        out: list[Hit] = []
        reports = sorted((r for r, kk in zip(s.gen.reports, s.key_of) if kk == key), key=lambda r: r.meta.published)
        for r in reports:
            out.extend(self.search(Query.plain(topic, Filters(reports=(r.path,))), k=k_each, snapshot=s).hits)
        return out


# -- the ranking steps: small arrays in, arrays out ---------------------------------------


def dense_scores(dense: ann.Dense, qv: np.ndarray, rows: np.ndarray, bm: np.ndarray, candidates: int) -> np.ndarray:
    """Cosine of the question with each row in scope. A flat index scores every row
    exactly; an IVF index (millions of passages) scores only its `candidates` nearest
    rows and BM25's, and gives the rest -1, below any floor: fusion ranks no others."""
    if dense.ivf is None:
        return dense.scores(qv, rows)
    out = np.full(len(rows), -1.0, dtype=np.float32)
    near, cos = dense.search(qv, rows, candidates)
    out[np.searchsorted(rows, near)] = cos
    top_bm = _top(bm, candidates)
    out[top_bm] = dense.scores(qv, rows[top_bm])
    return out


NOTHING_MATCHES = "nothing in the reports matches"
# What the library does hold, offered when it abstains: the inspections' judgement areas.
TOPICS = (
    "ask about what the reports judge: help and protection (the front door, MASH, thresholds, child protection), "
    "children in care, care leavers, adoption and fostering, or leadership (caseloads, supervision, the workforce)",
)


def left_ranked(keyword: bool, names_authority: bool, unknown: float) -> bool:
    """The floor was fitted on sentences: "Herts LADO" has too few words to clear it, so a
    keyword query naming an authority, in words the library knows, is ranked but never
    emptied by it. Nonsense and off-topic words still are."""
    return keyword and names_authority and unknown < 0.5


def evidence(q: Query, score: np.ndarray, sig: _Signals, unknown: float, st: RankingSettings) -> Evidence:
    """What the answerability model reads: the question's embedding and its best candidates
    by the retriever's score before the floor (as Searcher.candidates gives them to training)."""
    top = np.array(ranked(score, EVIDENCE_DEPTH), dtype=np.int64)
    return Evidence(sig.query, score[top], sig.dense[top], sig.bm[top], unknown, q.keyword_query(st.keyword_words), bool(q.filters.authorities))


def unknown_share(terms: list[str], df, n_docs: int, st: RankingSettings, added: Iterable[str] = ()) -> float:
    """Share of the question's keyword weight (idf mass) in words the library barely knows:
    most of an off-topic question's weight, almost none of a real one's. "Barely" scales
    with the library: in the sample's few hundred passages most words are rare, and only a
    word found nowhere is unknown."""
    rare = max(1.0, st.rare_below * n_docs / st.rare_per)
    return rare_term_share(terms, df, n_docs, rare, never_unknown=[t for t in added if t not in terms])


def abstains(score: np.ndarray, unknown: float, st: RankingSettings) -> bool:
    """Calibrated on questions (bench/abstain.py): the best passage is not good enough once
    the question's words the library does not know are counted against it."""
    top = float(score.max()) if len(score) else -math.inf
    return not math.isfinite(top) or top - st.unknown_weight * unknown < st.abstain_below


def not_in_library(q: Query) -> str:
    """Why the library cannot answer a question about a place it holds no report
    for ("" when it can): quoting another council would look like an answer."""
    if not q.places or q.filters.authorities or q.filters.reports:
        return ""
    names = ", ".join(dict.fromkeys(p.label for p in q.places))
    return f"no report for {names} in this library"


def fuse(dense: np.ndarray, bm: np.ndarray, st: RankingSettings) -> np.ndarray:
    """Cosine plus weighted, max-normalised BM25 over the union of both signals' top
    `candidates`; every other row scores -inf."""
    cand = np.union1d(_top(dense, st.candidates), _top(bm, st.candidates))
    score = np.full(len(dense), -np.inf, dtype=np.float32)
    bm_max = max(float(bm.max()), st.min_bm25) if len(bm) else 1.0
    score[cand] = dense[cand] + st.bm25_weight * bm[cand] / bm_max
    return score


def penalise(score: np.ndarray, m: Masks, q: Query, near_month: np.ndarray | None, st: RankingSettings) -> np.ndarray:
    """Push down what is rarely the quotable answer (headings, boilerplate, front-page
    lines, summary restatements) and lift what the question's intent asks for, or,
    with no intent, the judgement sections' numbered paragraphs: each of SIGNALS with
    its weight for this question, in order."""
    score = score.copy()  # in place from here: the sums stay float32, as fused
    for sig, flag in zip(SIGNALS, m.flags):
        w = sig.weight_for(q, st)
        if w:
            score += w * flag
    if near_month is not None:
        score += st.month_boost * near_month
    return score


def apply_floor(score: np.ndarray, dense: np.ndarray, bm: np.ndarray, st: RankingSettings) -> np.ndarray:
    """Show nothing rather than the least bad noise: a passage must share a word with
    the question, or be a close paraphrase of it."""
    relevant = (dense >= st.strong_dense) | ((dense >= st.min_dense) & (bm > 0))
    return np.where(relevant, score, -np.inf).astype(score.dtype)


def ranked(score: np.ndarray, k: int) -> list[int]:
    """Positions of the `k` best finite scores, best first (ties keep row order)."""
    order = np.argsort(-score, kind="stable")[:k]
    return [int(j) for j in order if math.isfinite(float(score[j]))]


def _near_month(s: Snapshot, rows: np.ndarray, month: int | None, window: int = RankingSettings().month_window) -> np.ndarray | None:
    if not month:
        return None
    return np.abs(s.month_of[s.report_of[rows]] - month) <= window


def _present(with_term: np.ndarray, rows: np.ndarray) -> bool:
    """Whether any of the (ascending) rows `with_term` is among the (ascending) `rows` in scope."""
    if not len(with_term) or not len(rows):
        return False
    at = np.searchsorted(rows, with_term)
    at = at[at < len(rows)]
    return bool(len(at)) and bool(np.isin(rows[at], with_term).any())


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
