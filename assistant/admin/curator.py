"""Every change to the library made from the running app: uploads, corrections,
deletes, fetches from links, re-indexes and watching the corpus folder.

One Curator per process. Re-indexing runs in a background thread, one at a time
(and one per index folder, via the build's lock), while the chat keeps answering
from the serving generation; `reload` (the searcher's) swaps the new one in when
it is complete. Nothing here knows about searching or Gradio.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..index.build import BuildSummary, Busy, build_index
from ..index.disk import Generation, current_name
from ..index.embed import Embedder
from ..reports import ingest, metadata
from ..reports.document import IngestFailure, ReportMeta
from ..settings import FetchSettings
from . import audit, corrections, download, manifest, uploads
from .uploads import UploadReview, sha_or_blank
from .watch import Watcher


@dataclass
class Job:
    stage: str = "starting"
    done: int = 0
    total: int = 0
    summary: BuildSummary | None = None
    error: str = ""
    finished: threading.Event = field(default_factory=threading.Event)

    def update(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total


@dataclass
class FetchJob:
    stage: str = "starting"
    done: int = 0
    total: int = 0
    summary: manifest.FetchSummary | None = None
    reindex: Job | None = None  # the re-index that followed, if anything arrived
    error: str = ""
    finished: threading.Event = field(default_factory=threading.Event)

    def update(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total


class Reindexer:
    """One re-index at a time per process (and per index folder, via the build's lock)."""

    def __init__(self, corpus: Path, index: Path, build_workers: int, embedder: Embedder, reload: Callable[[], object]):
        self.corpus, self.index, self.build_workers = corpus, index, build_workers
        self.embedder = embedder
        self.reload = reload
        self._running = threading.Lock()
        self.last: Job | None = None

    def start(self, who: str = audit.APP) -> Job:
        """`who` goes in the audit log with the build's outcome."""
        if not self._running.acquire(blocking=False):
            raise Busy("a re-index is already running; try again when it finishes")
        job = Job()
        self.last = job
        threading.Thread(target=self._run, args=(job, who), name="reindex", daemon=True).start()
        return job

    def _run(self, job: Job, who: str) -> None:
        try:
            before = current_name(self.index)
            job.summary = build_index(self.corpus, self.index, workers=self.build_workers, embedder=self.embedder, progress=job.update)
            self.reload()
            if not (who == audit.WATCH and job.summary.generation == before):  # a watch batch that changed nothing is no change
                audit.record_build(self.index, self.corpus, who, job.summary)
        except Busy as exc:
            job.error = f"busy: {exc}"
        except Exception as exc:  # reported to the admin, who can act on it; the old generation keeps serving
            job.error = f"{type(exc).__name__}: {exc}"
            try:
                audit.record(self.index, who, audit.REINDEX, (), f"failed: {job.error}")
            except OSError:
                pass
        finally:
            self._running.release()
            job.finished.set()


class Curator:
    """The library's administration for one app: `reload` serves a new generation,
    `serving` gives the one being served."""

    def __init__(
        self,
        corpus: Path,
        index: Path,
        embedder: Embedder,
        reload: Callable[[], object],
        serving: Callable[[], Generation],
        max_upload_bytes: int = 50 * uploads.MB,
        build_workers: int = 1,
        fetch_options: FetchSettings = FetchSettings(),
    ):
        self.corpus, self.index = corpus, index
        self.max_upload_bytes = max_upload_bytes
        self.build_workers = build_workers
        self.fetch_options = fetch_options
        self.serving = serving
        self.reindexer = Reindexer(corpus, index, build_workers, embedder, reload)
        self._fetching = threading.Lock()
        self._correcting = threading.Lock()  # one writer of corrections.csv at a time
        # What each uploaded file's own text says, by (path, SHA-256): read once per content.
        self._read: dict[tuple[str, str], ReportMeta | IngestFailure] = {}
        self.fetch_job: FetchJob | None = None
        self.watcher: Watcher | None = None  # when watching the corpus folder

    # uploads and corrections ---------------------------------------------------------

    def add_uploads(self, paths: list[Path], who: str) -> tuple[list[str], list[str]]:
        """Save each uploaded file (see save_upload) and record the batch; (saved paths, refusals)."""
        saved, errors, refs = [], [], []
        for p in paths:
            try:
                rel = self.save_upload(Path(p), Path(p).name)
            except (ValueError, OSError) as exc:
                errors.append(str(exc))
                refs.append(audit.FileRef(Path(p).name, sha_or_blank(Path(p)), f"refused: {exc}"))
                continue
            saved.append(rel)
            refs.extend(audit.file_refs(self.corpus, [rel], "added"))
        if refs:
            audit.record(self.index, who, audit.UPLOAD, refs, f"{len(saved)} added, {len(errors)} refused")
        return saved, errors

    def save_upload(self, src: Path, original_name: str) -> str:
        """Copy one uploaded file into corpus/uploads/ after checking it; returns its corpus path."""
        return uploads.save_upload(self.corpus, src, original_name, self.max_upload_bytes, self._correcting)

    def uploaded_files(self) -> list[str]:
        return uploads.uploaded_files(self.corpus)

    def review_uploads(self, rels: list[str]) -> list[UploadReview]:
        """For each uploaded file: what its own text states and the admin's correction, if any.
        A file is read (in a worker, as a build reads it) once per content."""
        corpus = self.corpus
        known = set(self.uploaded_files())
        fixes = metadata.read_corrections(corpus)
        shas = {rel: sha_or_blank(corpus / rel) for rel in rels if rel in known}
        todo = [rel for rel, sha in shas.items() if sha and (rel, sha) not in self._read]
        if todo:
            for rel, meta in ingest.read_metadata(corpus, todo, max(1, min(self.build_workers, len(todo)))).items():
                self._read[(rel, shas[rel])] = meta
        out = []
        for rel in rels:
            read = self._read.get((rel, shas.get(rel, "")))
            if read is None:
                out.append(UploadReview(rel, None, "not an uploaded file (it may have been deleted)", fixes.get(rel)))
            elif isinstance(read, IngestFailure):
                out.append(UploadReview(rel, None, read.reason, fixes.get(rel)))
            else:
                out.append(UploadReview(rel, read, "", fixes.get(rel)))
        return out

    def save_correction(self, rel: str, authority: str, published: str, who: str) -> metadata.Correction:
        """Store the admin's authority and date for uploaded file `rel` (corrections.save_correction)."""
        return corrections.save_correction(self.corpus, self.index, self.uploaded_files(), rel, authority, published, who, self._correcting)

    def delete_file(self, rel: str, who: str = audit.APP) -> str:
        return uploads.delete_file(self.corpus, self.index, rel, who)

    def report_files(self) -> list[str]:
        """Every report file the admin may delete: the served generation's and the corpus folder's."""
        gen = self.serving()
        paths = {r.path for r in gen.reports} | {f.path for f in gen.failures}
        corpus = self.corpus
        for p in corpus.rglob("*.pdf"):
            if p.is_file() and not any(x.startswith(".") for x in p.relative_to(corpus).parts):
                paths.add(p.relative_to(corpus).as_posix())
        return sorted(paths)

    # fetching, re-indexing, watching ---------------------------------------------------

    def start_fetch(self, entries: list[manifest.Entry], refused: list[manifest.Outcome], who: str) -> FetchJob:
        """Fetch in the background, then re-index if anything arrived; one fetch at a time."""
        if not self._fetching.acquire(blocking=False):
            raise Busy("a fetch is already running; try again when it finishes")
        job = FetchJob()
        self.fetch_job = job
        threading.Thread(target=self._fetch, args=(job, entries, refused, who), name="fetch", daemon=True).start()
        return job

    def _fetch(self, job: FetchJob, entries: list[manifest.Entry], refused: list[manifest.Outcome], who: str) -> None:
        try:
            opts = replace(self.fetch_options, max_bytes=self.max_upload_bytes)
            job.summary = download.fetch(entries, self.corpus, opts, progress=job.update, refused=refused)
            changed = manifest.merge_manifest(self.corpus, entries, job.summary)
            audit.record(self.index, who, audit.FETCH, download.file_refs(job.summary), download.outcome_text(job.summary))
            if job.summary.of(manifest.FETCHED) or changed:
                job.reindex = self.reindex_when_free(who)
        except Exception as exc:  # noqa: BLE001 - reported to the admin; what landed stays
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._fetching.release()
            job.finished.set()

    def reindex_when_free(self, who: str, tries: int = 120) -> Job | None:
        """Start a re-index, waiting out one that is running (it may have missed our changes)."""
        for _ in range(tries):
            try:
                job = self.reindexer.start(who)
            except Busy:
                running = self.reindexer.last
                if running:
                    running.finished.wait(60)
                time.sleep(0.1)
                continue
            job.finished.wait()
            if job.error.startswith("busy"):  # the index lock: a command-line build of the same index
                time.sleep(1)
                continue
            return job
        return None

    def start_watch(self) -> Watcher:
        def changed(rels: list[str]) -> None:
            print(f"corpus changed ({len(rels)} file(s)); re-indexing", file=sys.stderr, flush=True)
            self.reindex_when_free(audit.WATCH)

        self.watcher = Watcher(self.corpus, self.index, changed).start()
        return self.watcher
