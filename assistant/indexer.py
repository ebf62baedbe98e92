"""Corpus folder -> a new index generation, re-using everything unchanged.

A file's SHA-256 is its identity: an unchanged file keeps its chunks and
vectors from the serving generation, so only new or changed files are parsed
and embedded. One build at a time per index folder (a lock file says so).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import embed, ingest, metadata
from .chunking import CHUNKING_VERSION, Chunk, chunk_report
from .document import IngestFailure, Report
from .store import IndexError_, ModelStamp, ReportEntry, current_name, load_generation, write_generation

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
        previous = None
        if not rebuild and current_name(index_dir):
            try:
                previous = load_generation(index_dir, expect_model=stamp)
            except IndexError_ as exc:
                note(f"previous index not reusable ({exc}); building from scratch", 0, 0)
            if previous and (previous.model.backend != stamp.backend or previous.chunking != CHUNKING_VERSION):
                # Vectors from another backend differ slightly, and other chunking means other passages.
                previous = None
        files = ingest.list_files(corpus)
        rels = [p.relative_to(corpus).as_posix() for p in files]
        note("hashing", 0, len(files))
        hashes = {rel: ingest.sha256_file(p) for p, rel in zip(files, rels)}

        old_by_sha = {r.sha256: r for r in previous.reports} if previous else {}
        summary = BuildSummary()
        keep: list[tuple[str, ReportEntry]] = []
        todo: list[tuple[Path, str]] = []
        seen: dict[str, str] = {}
        dupes: list[tuple[str, str]] = []  # (path, path of the first file with its content)
        for p, rel in zip(files, rels):
            sha = hashes[rel]
            if sha in seen:
                dupes.append((rel, seen[sha]))
                continue
            seen[sha] = rel
            if sha in old_by_sha:
                keep.append((rel, old_by_sha[sha]))
            else:
                todo.append((p, rel))
        if previous:
            # A changed file is "indexed", not also "removed": only paths now absent count.
            summary.removed = sorted({r.path for r in previous.reports if r.sha256 not in seen and r.path not in hashes})

        done = [0]

        def parsed(item: Report | IngestFailure) -> None:
            done[0] += 1
            note("reading reports", done[0], len(todo))

        note("reading reports", 0, len(todo))
        manifest = metadata.read_manifest(corpus)
        result = ingest.ingest_files(todo, manifest, workers, limits, parsed)
        summary.failed += result.failures
        # A copy of a broken file is broken for the same reason; a copy of a good one is redundant.
        why = {f.path: f.reason for f in summary.failed}
        for rel, first in dupes:
            summary.failed.append(IngestFailure(rel, why.get(first) or f"same content as {first} (skipped)"))

        # Assemble in corpus order: kept reports bring their chunks and vectors along.
        new_by_rel = {r.path: r for r in result.reports}
        kept = dict(keep)
        entries: list[ReportEntry] = []
        chunks: list[Chunk] = []
        vec_parts: list[np.ndarray] = []
        to_embed: list[int] = []
        for rel in rels:
            if rel in new_by_rel:
                rep = new_by_rel[rel]
                cs = chunk_report(rep)
                start = len(chunks)
                chunks += cs
                to_embed += range(start, len(chunks))
                vec_parts.append(np.zeros((len(cs), stamp.dim), "float32"))
                entries.append(ReportEntry(rel, rep.sha256, rep.size, len(rep.pages), len(rep.paragraphs), rep.meta, start, len(chunks)))
                summary.indexed.append(rel)
            else:
                old = kept.get(rel)
                if old is None:
                    continue
                start = len(chunks)
                chunks += previous.chunks[old.chunk_start : old.chunk_end]
                vec_parts.append(previous.vectors(old.chunk_start, old.chunk_end))
                meta = old.meta
                row = manifest.get(rel)
                if rel != old.path or (row and row.source_url != meta.source_url):
                    # Same content at a new path or with a new manifest row: refresh metadata only.
                    meta = replace(meta, source_url=row.source_url if row else meta.source_url)
                entries.append(ReportEntry(rel, old.sha256, old.size, old.pages, old.paragraphs, meta, start, len(chunks)))
                summary.unchanged.append(rel)
        vectors = np.concatenate(vec_parts) if vec_parts else np.zeros((0, stamp.dim), "float32")
        if to_embed:
            note("embedding passages", 0, len(to_embed))
            new = embedder.encode(
                [chunks[i].embed_text for i in to_embed],
                progress=lambda n: note("embedding passages", n, len(to_embed)),
            )
            vectors[to_embed] = new
        summary.embedded = len(to_embed)
        summary.chunks = len(chunks)
        nothing_changed = (
            previous is not None
            and not summary.indexed
            and not summary.removed
            and sorted(f.line() for f in previous.failures) == sorted(f.line() for f in summary.failed)
            # Metadata too: a new source link in manifest.csv changes no file but must reach the index.
            and [(e.path, e.meta) for e in entries] == [(e.path, e.meta) for e in previous.reports]
        )
        if nothing_changed:
            # Nothing changed: keep serving the current generation as it is.
            summary.generation = previous.name
        else:
            note("writing index", 0, 1)
            summary.generation = write_generation(
                index_dir, stamp, entries, chunks, summary.failed, vectors, str(corpus.resolve())
            )
            note("writing index", 1, 1)
    summary.seconds = time.perf_counter() - t0
    return summary
