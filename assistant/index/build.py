"""Corpus folder -> a new index generation, re-using everything unchanged.

A file's SHA-256 is its identity: an unchanged file keeps its chunks, vectors
and keyword terms from the serving generation, so only new or changed files are
parsed, embedded and tokenised. One build at a time per index folder (a lock
file says so).
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..language.glossary import Glossary, mine_acronyms
from ..reports import ingest, metadata
from ..reports.document import IngestFailure, Report, ReportMeta
from ..settings import DEFAULTS, AnnSettings, IngestSettings
from . import embed, keywords
from .chunking import CHUNKING_VERSION, Chunk, chunk_report
from .disk import ChunkRows, IndexLoadError, ModelStamp, Passages, ReportEntry, current_name, encode_chunks, join_passages, model_stamp
from .read import Checked, check_generation
from .write import write_generation

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def mined_glossary(rows: ChunkRows) -> str:
    """The acronyms the library's reports define on first use ("return home interviews
    (RHIs)"), as glossary.json. Mined over every passage at each build, since a pair
    counts only once two passages define it: 0.7 s for the full shared corpus."""
    texts = (json.loads(line)["text"] for line in rows.data.splitlines() if b"(" in line)
    return Glossary(tuple(mine_acronyms(texts))).mined_json()


__all__ = ["BuildSummary", "Busy", "Prepared", "build_index", "build_lock", "embed_distinct"]


@dataclass(frozen=True)
class Prepared:
    """One new or changed file made ready for the index: what its report entry
    needs, its passages, and their vectors when it was embedded where it was
    parsed (a cluster task); None leaves embedding to the build."""

    path: str
    sha256: str
    size: int
    pages: int
    paragraphs: int
    meta: ReportMeta
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray | None = None  # float32, one row per chunk
    embedded: int = 0  # distinct texts embedded for `vectors`

    @classmethod
    def of(cls, report: Report, vectors: np.ndarray | None = None, embedded: int = 0) -> Prepared:
        chunks = tuple(chunk_report(report))
        return cls(report.path, report.sha256, report.size, len(report.pages), len(report.paragraphs), report.meta, chunks, vectors, embedded)


# New files -> (prepared files, failures): parsed and chunked here, or elsewhere.
Prepare = Callable[[list[tuple[Path, str]], dict[str, metadata.ManifestRow], Progress], tuple[list[Prepared], list[IngestFailure]]]


def embed_distinct(embedder: embed.Embedder, texts: list[str], progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, int]:
    """Vectors for `texts`, each distinct text embedded once; and how many were embedded.

    A passage printed word for word under the same heading in many reports
    (Ofsted's boilerplate, one-line recommendations) has one vector.
    """
    slot: dict[str, int] = {}
    rows = [slot.setdefault(t, len(slot)) for t in texts]
    distinct = list(slot)
    if not distinct:
        return np.zeros((len(texts), embedder.info.dim), "float32"), 0
    note = progress or (lambda done, total: None)
    note(0, len(distinct))
    return embedder.encode(distinct, progress=lambda k: note(k, len(distinct)))[rows], len(distinct)


class Busy(RuntimeError):
    """Another build holds this index folder."""


@dataclass
class BuildSummary:
    generation: str = ""
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[IngestFailure] = field(default_factory=list)
    chunks: int = 0
    new_passages: int = 0  # passages of the indexed (new or changed) files
    embedded: int = 0  # distinct texts among them, each embedded once
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # why the build did what it did, e.g. rebuilt past a damaged generation

    def lines(self) -> list[str]:
        out = [
            f"generation {self.generation}: {len(self.indexed)} indexed, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed; {self.chunks} passages "
            f"({self.new_passages} new, {self.embedded} distinct texts embedded) in {self.seconds:.1f} s"
        ]
        out += [f"  note: {n}" for n in self.notes]
        out += [f"  failed: {f.line()}" for f in self.failed]
        return out


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    fh = open(index_dir / "build.lock", "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise Busy("an index build is already running for this index; try again when it finishes") from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


class _Unreadable(Exception):
    """The previous generation passed its checks but could not be read."""


def build_index(
    corpus: Path,
    index_dir: Path,
    rebuild: bool = False,
    workers: int = 2,
    embedder: embed.Embedder | None = None,
    progress: Progress | None = None,
    limits: IngestSettings = IngestSettings(),
    prepare: Prepare | None = None,
    ann_settings: AnnSettings = DEFAULTS.ann,
) -> BuildSummary:
    """Bring the index in `index_dir` up to date with the files in `corpus`; returns what was done.

    Files whose content hash the serving generation already holds keep their
    passages, vectors and terms; only new or changed files are parsed, chunked,
    embedded and tokenised (all of them with `rebuild`). The result is written
    as a new generation and switched to atomically; when nothing changed, the
    serving generation stays. Files that cannot be read are listed by name with
    the reason in `BuildSummary.failed`. `prepare` parses and chunks the new
    files somewhere else (assistant.cluster: on Ray); by default they are parsed
    here in `workers` processes with `limits`; `ann_settings` choose the dense
    index written (flat or IVF, index.ann). Raises Busy when another build
    holds the folder.
    """
    t0 = time.perf_counter()
    note = progress or (lambda stage, done, total: None)
    with build_lock(index_dir):
        embedder = embedder or embed.load_embedder(cache_dir=index_dir / "models")
        stamp = model_stamp(embedder)
        checked = None
        why: list[str] = []  # said on the progress line now and in the summary after
        if not rebuild and (current := current_name(index_dir)):
            try:
                checked = check_generation(index_dir, expect_model=stamp)
            except IndexLoadError as exc:
                why.append(f"rebuilding every report: the current index generation {current} is damaged or unusable ({exc})")
                note(why[-1], 0, 0)
            if checked and (checked.model.backend != stamp.backend or checked.chunking != CHUNKING_VERSION):
                # Vectors from another backend differ slightly, and other chunking means other passages.
                checked = None
        try:
            summary = _build(corpus, index_dir, checked, embedder, stamp, prepare or _local(workers, limits), note, ann_settings)
        except _Unreadable as exc:
            why.append(f"rebuilding every report: the current index generation {current_name(index_dir)} is unreadable ({exc})")
            note(why[-1], 0, 0)
            summary = _build(corpus, index_dir, None, embedder, stamp, prepare or _local(workers, limits), note, ann_settings)
        summary.notes[:0] = why
    summary.seconds = time.perf_counter() - t0
    return summary


def _passages(checked: Checked) -> Passages:
    try:
        return checked.passages()
    except IndexLoadError as exc:
        raise _Unreadable(str(exc)) from exc


@dataclass
class _Plan:
    """The corpus against the previous generation, by content hash."""

    rels: list[str]  # every file, in corpus order
    keep: dict[str, ReportEntry]  # path -> the previous entry with its content
    todo: list[tuple[Path, str]]  # files to parse
    dupes: list[tuple[str, str]]  # (path, path of the first file with its content)
    removed: list[str]


def _plan(corpus: Path, old_reports: list[ReportEntry], note: Progress, manifest: dict[str, metadata.ManifestRow]) -> _Plan:
    files = ingest.list_files(corpus)
    rels = [p.relative_to(corpus).as_posix() for p in files]
    note("hashing", 0, len(files))
    hashes = {rel: ingest.sha256_file(p) for p, rel in zip(files, rels)}
    old_by_sha = {r.sha256: r for r in old_reports}
    plan = _Plan(rels, {}, [], [], [])
    seen: dict[str, str] = {}
    for p, rel in zip(files, rels):
        sha = hashes[rel]
        if sha in seen:
            plan.dupes.append((rel, seen[sha]))
            continue
        seen[sha] = rel
        # An admin's correction the kept entry does not carry yet makes the file new again: its
        # authority and year are in its passages' keyword text, so it is read afresh with them.
        if sha in old_by_sha and metadata.corrected(old_by_sha[sha].meta, manifest.get(rel)) == old_by_sha[sha].meta:
            plan.keep[rel] = old_by_sha[sha]
        else:
            plan.todo.append((p, rel))
    # A changed file is "indexed", not also "removed": only paths now absent count.
    plan.removed = sorted({r.path for r in old_reports if r.sha256 not in seen and r.path not in hashes})
    return plan


def _local(workers: int, limits: IngestSettings) -> Prepare:
    """Parse new files in `workers` local processes; chunk them here."""

    def prepare(todo: list[tuple[Path, str]], manifest: dict[str, metadata.ManifestRow], note: Progress):
        done = [0]

        def parsed(item: Report | IngestFailure) -> None:
            done[0] += 1
            note("reading reports", done[0], len(todo))

        note("reading reports", 0, len(todo))
        result = ingest.ingest_files(todo, manifest, workers, limits, parsed)
        return [Prepared.of(r) for r in result.reports], result.failures

    return prepare


@dataclass
class _Layout:
    """The new generation's reports in corpus order, and where their passages come from."""

    entries: list[ReportEntry] = field(default_factory=list)
    # Per entry: (kept?, start, end) - rows of the previous generation's passages, or of `new`.
    sources: list[tuple[bool, int, int]] = field(default_factory=list)
    new: list[Prepared] = field(default_factory=list)  # in the order of their rows
    new_rows: list[bytes] = field(default_factory=list)  # chunks.jsonl rows of `new`, per report

    @property
    def new_chunks(self) -> list[Chunk]:
        return [c for p in self.new for c in p.chunks]


def _lay_out(plan: _Plan, prepared: list[Prepared], manifest: dict, summary: BuildSummary) -> _Layout:
    new_by_rel = {p.path: p for p in prepared}
    out = _Layout()
    n = 0
    new_rows = 0
    for rel in plan.rels:
        if rel in new_by_rel:
            rep = new_by_rel[rel]
            cs = rep.chunks
            entry = ReportEntry(rel, rep.sha256, rep.size, rep.pages, rep.paragraphs, rep.meta, n, n + len(cs))
            out.sources.append((False, new_rows, new_rows + len(cs)))
            new_rows += len(cs)
            out.new.append(rep)
            out.new_rows.append(encode_chunks(entry, cs))
            summary.indexed.append(rel)
        elif old := plan.keep.get(rel):
            meta = old.meta
            row = manifest.get(rel)
            if rel != old.path or (row and row.source_url != meta.source_url):
                # Same content at a new path or with a new manifest row: refresh metadata only.
                meta = replace(meta, source_url=row.source_url if row else meta.source_url)
            entry = ReportEntry(rel, old.sha256, old.size, old.pages, old.paragraphs, meta, n, n + old.chunk_end - old.chunk_start)
            out.sources.append((True, old.chunk_start, old.chunk_end))
            summary.unchanged.append(rel)
        else:
            continue
        out.entries.append(entry)
        n = entry.chunk_end
    summary.chunks = n
    summary.new_passages = new_rows
    return out


def _build(
    corpus: Path,
    index_dir: Path,
    checked: Checked | None,
    embedder: embed.Embedder,
    stamp: ModelStamp,
    prepare: Prepare,
    note: Progress,
    ann_settings: AnnSettings = DEFAULTS.ann,
) -> BuildSummary:
    summary = BuildSummary()
    manifest = metadata.read_manifest(corpus)
    plan = _plan(corpus, checked.reports if checked else [], note, manifest)
    summary.removed = plan.removed
    prepared, failures, old = _prepare_new(plan, checked, manifest, prepare, note)
    summary.failed = failures + _duplicate_failures(plan, failures)
    layout = _lay_out(plan, prepared, manifest, summary)
    if checked is not None and _nothing_changed(checked, layout, summary):
        # Keep serving the current generation as it is, unread.
        summary.generation = checked.name
        return summary
    if plan.keep and old is None and checked is not None:
        old = _passages(checked)
    new = _new_passages(layout, embedder, stamp.dim, summary, note)
    note("writing index", 0, 1)
    passages = join_passages([(old if kept and old is not None else new, s, e) for kept, s, e in layout.sources], stamp.dim)
    summary.generation = write_generation(
        index_dir, stamp, layout.entries, summary.failed, passages, str(corpus.resolve()), mined_glossary(passages.rows), ann_settings
    )
    note("writing index", 1, 1)
    return summary


def _prepare_new(
    plan: _Plan, checked: Checked | None, manifest: dict, prepare: Prepare, note: Progress
) -> tuple[list[Prepared], list[IngestFailure], Passages | None]:
    """The new files prepared; meanwhile, when the build will surely write a new
    generation, the previous one's passages read and the tokenizer loaded."""
    old = None
    with ThreadPoolExecutor(1) as pool:
        # Parsing happens in worker processes (or on a cluster): overlap the reading with it.
        preparing = pool.submit(prepare, plan.todo, manifest, note)
        failed_before = {f.path for f in checked.failures} if checked else set()
        if plan.removed or any(rel not in failed_before for _, rel in plan.todo):
            if plan.keep and checked is not None:
                old = _passages(checked)
            keywords.prepare()
        prepared, failures = preparing.result()
    return prepared, list(failures), old


def _duplicate_failures(plan: _Plan, failures: list[IngestFailure]) -> list[IngestFailure]:
    """A copy of a broken file is broken for the same reason; a copy of a good one is redundant."""
    why = {f.path: f.reason for f in failures}
    return [IngestFailure(rel, why.get(first) or f"same content as {first} (skipped)") for rel, first in plan.dupes]


def _nothing_changed(checked: Checked | None, layout: _Layout, summary: BuildSummary) -> bool:
    return (
        checked is not None
        and not summary.indexed
        and not summary.removed
        and sorted(f.line() for f in checked.failures) == sorted(f.line() for f in summary.failed)
        # Metadata too: a new source link in manifest.csv changes no file but must reach the index.
        and [(e.path, e.meta) for e in layout.entries] == [(e.path, e.meta) for e in checked.reports]
    )


def _new_passages(layout: _Layout, embedder: embed.Embedder, dim: int, summary: BuildSummary, note: Progress) -> Passages:
    """Rows, terms and vectors of the new passages: only they are embedded, tokenised
    and encoded; kept ones bring theirs along."""
    chunks = layout.new_chunks
    vectors = np.zeros((len(chunks), dim), "float32")
    starts = np.cumsum([0] + [len(p.chunks) for p in layout.new])
    here = [i for i, p in enumerate(layout.new) if p.vectors is None]
    if here:
        texts = [c.embed_text for i in here for c in layout.new[i].chunks]
        fresh, summary.embedded = embed_distinct(embedder, texts, lambda k, n: note("embedding passages", k, n))
        at = 0
        for i in here:
            n = len(layout.new[i].chunks)
            vectors[starts[i] : starts[i] + n] = fresh[at : at + n]
            at += n
    for i, p in enumerate(layout.new):
        if p.vectors is not None:  # embedded where it was parsed
            vectors[starts[i] : starts[i + 1]] = p.vectors
            summary.embedded += p.embedded
    terms = keywords.tokenize_table([c.keyword_text for c in chunks])
    return Passages(ChunkRows.of(b"".join(layout.new_rows)), terms, vectors)
