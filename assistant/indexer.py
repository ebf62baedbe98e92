"""Corpus folder -> a new index generation, re-using everything unchanged.

A file's SHA-256 is its identity: an unchanged file keeps its chunks, vectors
and keyword terms from the serving generation, so only new or changed files are
parsed, embedded and tokenised. One build at a time per index folder (a lock
file says so).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import embed, ingest, keywords, metadata
from .chunking import CHUNKING_VERSION, Chunk, chunk_report
from .document import IngestFailure, Report
from .store import (
    Checked,
    ChunkRows,
    IndexError_,
    ModelStamp,
    Passages,
    ReportEntry,
    check_generation,
    current_name,
    encode_chunks,
    join_passages,
    write_generation,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


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
    embedded: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"generation {self.generation}: {len(self.indexed)} indexed, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed; {self.chunks} passages "
            f"({self.embedded} embedded) in {self.seconds:.1f} s"
        ]
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


def model_stamp(embedder: embed.Embedder) -> ModelStamp:
    i = embedder.info
    return ModelStamp(i.name, i.dim, i.weights_sha256, i.backend)


class _Unreadable(Exception):
    """The previous generation passed its checks but could not be read."""


def build_index(
    corpus: Path,
    index_dir: Path,
    rebuild: bool = False,
    workers: int = 2,
    embedder: embed.Embedder | None = None,
    progress: Progress | None = None,
    limits: ingest.Limits = ingest.Limits(),
) -> BuildSummary:
    t0 = time.perf_counter()
    note = progress or (lambda stage, done, total: None)
    with build_lock(index_dir):
        embedder = embedder or embed.load_embedder(cache_dir=index_dir / "models")
        stamp = model_stamp(embedder)
        checked = None
        if not rebuild and current_name(index_dir):
            try:
                checked = check_generation(index_dir, expect_model=stamp)
            except IndexError_ as exc:
                note(f"previous index not reusable ({exc}); building from scratch", 0, 0)
            if checked and (checked.model.backend != stamp.backend or checked.chunking != CHUNKING_VERSION):
                # Vectors from another backend differ slightly, and other chunking means other passages.
                checked = None
        try:
            summary = _build(corpus, index_dir, checked, embedder, stamp, workers, limits, note)
        except _Unreadable as exc:
            note(f"previous index not reusable ({exc}); building from scratch", 0, 0)
            summary = _build(corpus, index_dir, None, embedder, stamp, workers, limits, note)
    summary.seconds = time.perf_counter() - t0
    return summary


def _passages(checked: Checked) -> Passages:
    try:
        return checked.passages()
    except IndexError_ as exc:
        raise _Unreadable(str(exc)) from None


@dataclass
class _Plan:
    """The corpus against the previous generation, by content hash."""

    rels: list[str]  # every file, in corpus order
    keep: dict[str, ReportEntry]  # path -> the previous entry with its content
    todo: list[tuple[Path, str]]  # files to parse
    dupes: list[tuple[str, str]]  # (path, path of the first file with its content)
    removed: list[str]


def _plan(corpus: Path, old_reports: list[ReportEntry], note: Progress) -> _Plan:
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
        if sha in old_by_sha:
            plan.keep[rel] = old_by_sha[sha]
        else:
            plan.todo.append((p, rel))
    # A changed file is "indexed", not also "removed": only paths now absent count.
    plan.removed = sorted({r.path for r in old_reports if r.sha256 not in seen and r.path not in hashes})
    return plan


@dataclass
class _Layout:
    """The new generation's reports in corpus order, and where their passages come from."""

    entries: list[ReportEntry] = field(default_factory=list)
    # Per entry: (kept?, start, end) - rows of the previous generation's passages, or of `new_chunks`.
    sources: list[tuple[bool, int, int]] = field(default_factory=list)
    new_chunks: list[Chunk] = field(default_factory=list)
    new_rows: list[bytes] = field(default_factory=list)  # chunks.jsonl rows of new_chunks, per report


def _lay_out(plan: _Plan, parsed: list[Report], manifest: dict, summary: BuildSummary) -> _Layout:
    new_by_rel = {r.path: r for r in parsed}
    out = _Layout()
    n = 0
    for rel in plan.rels:
        if rel in new_by_rel:
            rep = new_by_rel[rel]
            cs = chunk_report(rep)
            entry = ReportEntry(rel, rep.sha256, rep.size, len(rep.pages), len(rep.paragraphs), rep.meta, n, n + len(cs))
            out.sources.append((False, len(out.new_chunks), len(out.new_chunks) + len(cs)))
            out.new_chunks += cs
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
    return out


def _build(
    corpus: Path,
    index_dir: Path,
    checked: Checked | None,
    embedder: embed.Embedder,
    stamp: ModelStamp,
    workers: int,
    limits: ingest.Limits,
    note: Progress,
) -> BuildSummary:
    summary = BuildSummary()
    plan = _plan(corpus, checked.reports if checked else [], note)
    summary.removed = plan.removed
    todo = plan.todo
    done = [0]

    def parsed(item: Report | IngestFailure) -> None:
        done[0] += 1
        note("reading reports", done[0], len(todo))

    note("reading reports", 0, len(todo))
    manifest = metadata.read_manifest(corpus)
    old = None
    with ThreadPoolExecutor(1) as pool:
        # Parsing happens in worker processes: when the build will surely write a
        # new generation, read the previous one's passages and load the tokenizer meanwhile.
        parsing = pool.submit(ingest.ingest_files, todo, manifest, workers, limits, parsed)
        failed_before = {f.path for f in checked.failures} if checked else set()
        if plan.removed or any(rel not in failed_before for _, rel in todo):
            if plan.keep:
                old = _passages(checked)
            keywords.prepare()
        result = parsing.result()
    summary.failed += result.failures
    # A copy of a broken file is broken for the same reason; a copy of a good one is redundant.
    why = {f.path: f.reason for f in summary.failed}
    for rel, first in plan.dupes:
        summary.failed.append(IngestFailure(rel, why.get(first) or f"same content as {first} (skipped)"))

    layout = _lay_out(plan, result.reports, manifest, summary)
    nothing_changed = (
        checked is not None
        and not summary.indexed
        and not summary.removed
        and sorted(f.line() for f in checked.failures) == sorted(f.line() for f in summary.failed)
        # Metadata too: a new source link in manifest.csv changes no file but must reach the index.
        and [(e.path, e.meta) for e in layout.entries] == [(e.path, e.meta) for e in checked.reports]
    )
    if nothing_changed:
        # Nothing changed: keep serving the current generation as it is, unread.
        summary.generation = checked.name
        return summary
    if plan.keep and old is None:
        old = _passages(checked)

    # Only new passages are embedded, tokenised and encoded; kept ones bring theirs along.
    texts = [c.embed_text for c in layout.new_chunks]
    # A passage printed word for word under the same heading in many reports (Ofsted's
    # boilerplate, one-line recommendations) has one vector: embed each text once.
    slot: dict[str, int] = {}
    rows = [slot.setdefault(t, len(slot)) for t in texts]
    distinct = list(slot)
    vectors = np.zeros((len(texts), stamp.dim), "float32")
    if distinct:
        note("embedding passages", 0, len(distinct))
        vectors = embedder.encode(distinct, progress=lambda k: note("embedding passages", k, len(distinct)))[rows]
    summary.embedded = len(texts)
    note("writing index", 0, 1)
    terms = keywords.tokenize_table([c.keyword_text for c in layout.new_chunks])
    new = Passages(ChunkRows.of(b"".join(layout.new_rows)), terms, vectors)
    passages = join_passages([(old if kept else new, s, e) for kept, s, e in layout.sources], stamp.dim)
    summary.generation = write_generation(index_dir, stamp, layout.entries, summary.failed, passages, str(corpus.resolve()))
    note("writing index", 1, 1)
    return summary
