"""The app's shared state: settings, the searcher, answering, re-indexing, uploads.

One Service per process; every browser session shares it. Re-indexing runs in
a background thread while the chat keeps answering from the serving
generation; Searcher.reload() swaps the new one in when it is complete.
Nothing here knows about Gradio, so it can be tested and reused directly.
"""

from __future__ import annotations

import hmac
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import across as across_mod
from . import audit, conversation, exports, fetch, ingest, metadata, ui_format
from .answer import Answer
from .authorities import norm_name
from .document import IngestFailure, ReportMeta
from .embed import Embedder, load_embedder
from .indexer import BuildSummary, Busy, build_index
from .ingest import PDF_HEADER_WINDOW, pdf_header_offset
from .query import Filters, Query
from .search import Searcher
from .settings import DEFAULT_CORPUS, DEFAULT_INDEX, clamp_k
from .store import IndexError_, current_name, generations
from .watch import Watcher

MB = 1024 * 1024
UPLOADS = "uploads"  # the corpus folder the Admin tab saves uploads into
_FETCH_DEFAULTS = fetch.Options()
# How often a running app reads CURRENT: a replica serves a new generation within this
# plus the time to load it (bench/replicas.py).
FOLLOW_SECONDS = 0.5


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 7860
    corpus: Path = DEFAULT_CORPUS
    index: Path = DEFAULT_INDEX
    model_cache: Path | None = None  # default: INDEX/models
    admin_password: str = ""  # empty: the Admin tab is disabled
    max_upload_bytes: int = 50 * MB
    queue_size: int = 64
    concurrency: int = 4
    build_workers: int = 1  # in-app re-index shares 2 cores with the chat
    watch: bool = False  # re-index when files in the corpus folder change (app.py --watch)
    fetch_options: fetch.Options = _FETCH_DEFAULTS  # the Admin tab's fetch (max_bytes follows max_upload_bytes)

    @property
    def models(self) -> Path:
        return self.model_cache or self.index / "models"


# --- serving report files ------------------------------------------------------------


def corpus_file(corpus: Path, index: Path, rel: str) -> Path | None:
    """The PDF at corpus-relative `rel`, or None for anything that is not a report PDF
    inside the corpus folder (`..`, absolute paths, hidden files, symlinks leading out,
    the index, files that are not PDFs by content)."""
    if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    root = corpus.resolve()
    try:
        real = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root) or real.is_relative_to(index.resolve()):
        return None
    if real.suffix.lower() != ".pdf" or not real.is_file():
        return None
    try:
        with real.open("rb") as fh:
            # The rule ingestion reads PDFs by, so that what was indexed can be opened.
            if pdf_header_offset(fh.read(PDF_HEADER_WINDOW)) is None:
                return None  # e.g. an HTML error page saved as .pdf: never serve it as a page
    except OSError:
        return None
    return real


# --- re-indexing in the background ---------------------------------------------------


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


class Reindexer:
    """One re-index at a time per process (and per index folder, via the indexer's lock)."""

    def __init__(self, settings: Settings, embedder: Embedder, searcher: Searcher):
        self.settings = settings
        self.embedder = embedder
        self.searcher = searcher
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
        s = self.settings
        try:
            before = current_name(s.index)
            job.summary = build_index(s.corpus, s.index, workers=s.build_workers, embedder=self.embedder, progress=job.update)
            self.searcher.reload()
            if not (who == audit.WATCH and job.summary.generation == before):  # a watch batch that changed nothing is no change
                audit.record_build(s.index, s.corpus, who, job.summary)
        except Busy as exc:
            job.error = f"busy: {exc}"
        except Exception as exc:  # reported to the admin, who can act on it; the old generation keeps serving
            job.error = f"{type(exc).__name__}: {exc}"
            try:
                audit.record(s.index, who, audit.REINDEX, (), f"failed: {job.error}")
            except OSError:
                pass
        finally:
            self._running.release()
            job.finished.set()


# --- the shared service ---------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the chat shows for one question."""

    answer: Answer
    searched_text: str
    context: conversation.Context
    markdown: str


class Service:
    def __init__(self, settings: Settings, embedder: Embedder, searcher: Searcher):
        self.settings = settings
        self.embedder = embedder
        self.searcher = searcher
        self.reindexer = Reindexer(settings, embedder, searcher)
        self.export_dir = Path(tempfile.mkdtemp(prefix="ofsted-assistant-exports-"))
        self._fetching = threading.Lock()
        self._correcting = threading.Lock()  # one writer of corrections.csv at a time
        # What each uploaded file's own text says, by (path, SHA-256): read once per content.
        self._read: dict[tuple[str, str], ReportMeta | IngestFailure] = {}
        self.fetch_job: FetchJob | None = None
        self.watcher: Watcher | None = None  # when watching the corpus folder

    # chat ----------------------------------------------------------------------------

    def reply(self, question: str, ctx: conversation.Context, k: int) -> Reply:
        turn = conversation.next_turn(self.searcher.understand(question), ctx)
        answer = self.searcher.search(turn.query, k=k)
        new_ctx = conversation.after_answer(turn.context, answer.filters)
        suggestions = () if answer.hits or answer.places_abstained else self.suggestions(new_ctx, k)
        searched = (turn.context.topic or turn.query.text) if turn.follow_up else question
        return Reply(answer, searched, new_ctx, ui_format.answer_markdown(answer, searched, suggestions))

    def rerun(self, ctx: conversation.Context, k: int) -> Reply:
        """Re-ask the conversation's topic with the filters as the user edited them."""
        query = conversation.rerun(ctx)
        answer = self.searcher.search(query, k=k) if query else self._empty(ctx)
        new_ctx = conversation.after_answer(ctx, answer.filters)
        suggestions = () if answer.hits or answer.places_abstained else self.suggestions(new_ctx, k)
        return Reply(answer, ctx.topic, new_ctx, ui_format.answer_markdown(answer, ctx.topic, suggestions))

    def _empty(self, ctx: conversation.Context) -> Answer:
        return Answer("", ctx.filters, (), authority_names=self.searcher.authorities())

    def suggestions(self, ctx: conversation.Context, k: int) -> tuple[str, ...]:
        """Which filter to drop when nothing matched: the ones whose removal finds something."""
        f, names = ctx.filters, self.searcher.authorities()
        topic = ctx.topic
        out: list[str] = []
        if not topic:
            return ("ask about a topic, e.g. how well children in care are supported",)
        probes = []
        if f.year_from or f.year_to:
            probes.append((f"drop the year filter ({ui_format.year_text(f)})", replace(f, year_from=None, year_to=None)))
        if f.authorities:
            who = ", ".join(names.get(a, a) for a in f.authorities)
            probes.append((f"drop the authority filter ({who})", replace(f, authorities=())))
        for label, probe in probes:
            if self.searcher.search(Query.plain(topic, probe), k=1).hits:
                out.append(label)
        if not out and len(probes) == 2:
            if self.searcher.search(Query.plain(topic), k=1).hits:
                out.append("drop both the authority and the year filters")
        if not out:
            out.append("rephrase the question in the words a report would use")
        return tuple(out)

    def export_files(self, answer: Answer) -> tuple[Path, Path]:
        self._prune_exports()
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.perf_counter_ns() % 1_000_000:06d}"
        csv_path = self.export_dir / f"passages-{stamp}.csv"
        md_path = self.export_dir / f"passages-{stamp}.md"
        csv_path.write_text(ui_format.export_csv(answer), encoding="utf-8")
        md_path.write_text(ui_format.export_markdown(answer), encoding="utf-8")
        return csv_path, md_path

    def _export_stamp(self) -> str:
        self._prune_exports()
        return time.strftime("%Y%m%d-%H%M%S") + f"-{time.perf_counter_ns() % 1_000_000:06d}"

    def citation_files(self, cited: list[exports.CitedReport], name: str = "reports") -> tuple[Path, Path, Path]:
        """BibTeX, RIS and CSL-JSON files of the cited reports, for citation managers."""
        stamp = self._export_stamp()
        out = []
        for ext, text in (("bib", exports.bibtex(cited)), ("ris", exports.ris(cited)), ("json", exports.csl_json(cited))):
            path = self.export_dir / f"{name}-{stamp}.{ext}"
            path.write_text(text, encoding="utf-8")
            out.append(path)
        return out[0], out[1], out[2]

    def _prune_exports(self, keep_seconds: float = 3600) -> None:
        # Gradio copies a file when it is offered for download; ours are only needed until then.
        cutoff = time.time() - keep_seconds
        for p in self.export_dir.glob("*"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except OSError:
                pass

    # API -------------------------------------------------------------------------------

    def ask_json(self, question: str, authorities: list[str] | None, year_from: int | None, year_to: int | None, k: int) -> dict:
        explicit = None
        if authorities or year_from or year_to:
            explicit = Filters(tuple(norm_name(a) for a in authorities or ()), year_from or None, year_to or None)
        k = clamp_k(k)
        return self.searcher.ask(question, k=k, filters=explicit).to_json()

    # across reports ----------------------------------------------------------------------

    def across(self, question: str, filters: Filters | None = None, grades=(), per_report: int = 1) -> across_mod.AcrossAnswer:
        """One best passage per report that discusses `question` (see across.py)."""
        return across_mod.across(self.searcher, question, filters, tuple(grades or ()), per_report)

    def across_json(
        self,
        question: str,
        authorities: list[str] | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        grades: list[str] | None = None,
        per_report: int = 1,
    ) -> dict:
        explicit = None
        if authorities or year_from or year_to:
            explicit = Filters(tuple(norm_name(a) for a in authorities or ()), year_from or None, year_to or None)
        return self.across(question, explicit, tuple(grades or ()), per_report).to_json()

    def across_files(self, a: across_mod.AcrossAnswer) -> tuple[Path, Path, Path, Path]:
        """The across table as CSV (one row per report), and its reports as BibTeX, RIS and CSL-JSON."""
        csv_path = self.export_dir / f"across-{self._export_stamp()}.csv"
        csv_path.write_text(exports.across_csv(a), encoding="utf-8")
        return (csv_path, *self.citation_files(exports.across_cited(a), "across-reports"))

    # admin -----------------------------------------------------------------------------

    def password_ok(self, given: str | None) -> bool:
        secret = self.settings.admin_password
        if not secret or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))

    def index_status(self) -> str:
        gen = self.searcher.generation
        ok = len(gen.reports)
        lines = [
            f"**Serving generation** `{gen.name}`: {ok} reports indexed, {len(gen.failures)} failed, {len(gen.chunks)} passages.",
            f"Generations on disk: {', '.join(f'`{g}`' for g in generations(self.settings.index)) or 'none'}.",
        ]
        job = self.reindexer.last
        if job and not job.finished.is_set():
            lines.append(f"Re-index running: {ui_format.escape_text(job.stage)} {job.done}/{job.total}.")
        fj = self.fetch_job
        if fj and not fj.finished.is_set():
            lines.append(f"Fetch running: {fj.done}/{fj.total}.")
        if self.watcher is not None:
            lines.append(
                "Watching the corpus folder: changes are re-indexed automatically."
                + (f" **Watching stopped:** {ui_format.escape_text(self.watcher.error)}" if self.watcher.error else "")
            )
        lines[1:1] = [f"**Warning:** {ui_format.escape_text(w)}" for w in self.serving_warnings()]
        return "\n\n".join(lines)

    def follow_index(self, every: float = FOLLOW_SECONDS) -> threading.Event:
        """Serve each generation that becomes current, whoever built it (another replica
        on the same index folder, the command line), without a restart. Set the
        returned event to stop."""
        stop = threading.Event()

        def run() -> None:
            passed_over = None  # a generation that would not load: retried only once CURRENT moves on
            while not stop.wait(every):
                name = current_name(self.settings.index)
                if not name or name in (self.searcher.generation.name, passed_over):
                    continue
                try:
                    self.searcher.reload()  # a load failure keeps the old generation and says so in its warnings
                except Exception as exc:  # a bug must not stop the following; say it where the operator looks
                    print(f"warning: index generation {name} not loaded: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                if self.searcher.generation.name != name and current_name(self.settings.index) == name:
                    passed_over = name

        threading.Thread(target=run, name="follow-index", daemon=True).start()
        return stop

    def serving_warnings(self) -> list[str]:
        """Why an older generation is being served, while it is (and the audit log records it once)."""
        if current_name(self.settings.index) in (None, self.searcher.generation.name):
            return []
        return audit.check_fallback(self.settings.index, self.searcher.generation.name, self.searcher.warnings, audit.APP)

    def audit_markdown(self, n: int = 50) -> str:
        return audit.markdown(audit.read(self.settings.index, n))

    def add_uploads(self, paths: list[Path], who: str) -> tuple[list[str], list[str]]:
        """Save each uploaded file (see save_upload) and record the batch; (saved paths, refusals)."""
        saved, errors, refs = [], [], []
        for p in paths:
            try:
                rel = self.save_upload(Path(p), Path(p).name)
            except (ValueError, OSError) as exc:
                errors.append(str(exc))
                refs.append(audit.FileRef(Path(p).name, _sha_or_blank(Path(p)), f"refused: {exc}"))
                continue
            saved.append(rel)
            refs.extend(audit.file_refs(self.settings.corpus, [rel], "added"))
        if refs:
            audit.record(self.settings.index, who, audit.UPLOAD, refs, f"{len(saved)} added, {len(errors)} refused")
        return saved, errors

    def start_fetch(self, entries: list[fetch.Entry], refused: list[fetch.Outcome], who: str) -> FetchJob:
        """Fetch in the background, then re-index if anything arrived; one fetch at a time."""
        if not self._fetching.acquire(blocking=False):
            raise Busy("a fetch is already running; try again when it finishes")
        job = FetchJob()
        self.fetch_job = job
        threading.Thread(target=self._fetch, args=(job, entries, refused, who), name="fetch", daemon=True).start()
        return job

    def _fetch(self, job: FetchJob, entries: list[fetch.Entry], refused: list[fetch.Outcome], who: str) -> None:
        s = self.settings
        try:
            opts = replace(s.fetch_options, max_bytes=s.max_upload_bytes)
            job.summary = fetch.fetch(entries, s.corpus, opts, progress=job.update, refused=refused)
            changed = fetch.merge_manifest(s.corpus, entries, job.summary)
            audit.record(s.index, who, audit.FETCH, fetch.file_refs(job.summary), fetch.outcome_text(job.summary))
            if job.summary.of(fetch.FETCHED) or changed:
                job.reindex = self._reindex_when_free(who)
        except Exception as exc:  # noqa: BLE001 - reported to the admin; what landed stays
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._fetching.release()
            job.finished.set()

    def _reindex_when_free(self, who: str, tries: int = 120) -> Job | None:
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
            self._reindex_when_free(audit.WATCH)

        self.watcher = Watcher(self.settings.corpus, self.settings.index, changed).start()
        return self.watcher

    def report_files(self) -> list[str]:
        gen = self.searcher.generation
        paths = {r.path for r in gen.reports} | {f.path for f in gen.failures}
        corpus = self.settings.corpus
        for p in corpus.rglob("*.pdf"):
            if p.is_file() and not any(x.startswith(".") for x in p.relative_to(corpus).parts):
                paths.add(p.relative_to(corpus).as_posix())
        return sorted(paths)

    def save_upload(self, src: Path, original_name: str) -> str:
        """Copy one uploaded file into corpus/uploads/ after checking it; returns its corpus path."""
        size = src.stat().st_size
        if size > self.settings.max_upload_bytes:
            raise ValueError(f"{original_name}: {size / MB:.1f} MB is over the {self.settings.max_upload_bytes / MB:.0f} MB limit")
        with src.open("rb") as fh:
            # The same rule as ingestion and serving: a "%PDF-" header within the first 1 KB.
            if ingest.pdf_header_offset(fh.read(ingest.PDF_HEADER_WINDOW)) is None:
                raise ValueError(f"{original_name}: not a PDF (no %PDF- header in its first {ingest.PDF_HEADER_WINDOW} bytes)")
        stem = re.sub(r"[^A-Za-z0-9 ._,()'-]+", "_", Path(original_name).stem).strip(" ._") or "report"
        dest_dir = self.settings.corpus / UPLOADS
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / f"{stem[:120]}.pdf"
        n = 1
        while dest.exists():
            n += 1
            dest = dest_dir / f"{stem[:120]}-{n}.pdf"
        tmp = dest_dir / f".{dest.name}.part"
        shutil.copyfile(src, tmp)
        rel = dest.relative_to(self.settings.corpus).as_posix()
        with self._correcting:
            # A correction left behind by a file of this name removed earlier is not this file's.
            metadata.write_correction(self.settings.corpus, rel, None)
        os.replace(tmp, dest)
        return rel

    def uploaded_files(self) -> list[str]:
        """Corpus paths of the PDFs under uploads/: the reports whose metadata the admin may correct."""
        folder = self.settings.corpus / UPLOADS
        if not folder.is_dir():
            return []
        return [p.relative_to(self.settings.corpus).as_posix() for p in ingest.list_files(folder) if p.suffix.lower() == ".pdf"]

    def review_uploads(self, rels: list[str]) -> list[UploadReview]:
        """For each uploaded file: what its own text states and the admin's correction, if any.
        A file is read (in a worker, as a build reads it) once per content."""
        corpus = self.settings.corpus
        known = set(self.uploaded_files())
        fixes = metadata.read_corrections(corpus)
        shas = {rel: _sha_or_blank(corpus / rel) for rel in rels if rel in known}
        todo = [rel for rel, sha in shas.items() if sha and (rel, sha) not in self._read]
        if todo:
            for rel, meta in ingest.read_metadata(corpus, todo, max(1, min(self.settings.build_workers, len(todo)))).items():
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
        """Store the admin's authority and date for uploaded file `rel` (they override the report's
        text from the next re-index on) and record it; ValueError saying why when refused."""
        if rel not in self.uploaded_files():
            raise ValueError(f"{rel or 'no file'}: choose an uploaded report (a PDF under {UPLOADS}/)")
        fix = metadata.check_correction(authority, published)
        with self._correcting:
            before = metadata.read_corrections(self.settings.corpus).get(rel)
            metadata.write_correction(self.settings.corpus, rel, fix)
        note = f"authority {fix.local_authority}; published {fix.published or 'as the report states'}"
        if before:
            note += f" (was {before.local_authority}; {before.published or 'as the report states'})"
        audit.record(
            self.settings.index, who, audit.CORRECT, audit.file_refs(self.settings.corpus, [rel], note), "corrected; applies from the next re-index"
        )
        return fix

    def delete_file(self, rel: str, who: str = audit.APP) -> str:
        corpus = self.settings.corpus.resolve()
        if not rel or ".." in rel.split("/") or rel.startswith("/"):
            raise ValueError("choose a report to delete")
        path = corpus / rel
        if not path.resolve().is_relative_to(corpus) and not path.is_symlink():
            raise ValueError(f"{rel}: not in the corpus folder")
        if not (path.is_file() or path.is_symlink()):
            raise ValueError(f"{rel}: no such file")
        sha = _sha_or_blank(path)
        path.unlink()
        audit.record(self.settings.index, who, audit.DELETE, [audit.FileRef(rel, sha, "deleted")], "deleted")
        return rel


def _sha_or_blank(path: Path) -> str:
    from .ingest import sha256_file

    try:
        return sha256_file(path) if path.is_file() else ""
    except OSError:
        return ""


@dataclass(frozen=True)
class UploadReview:
    """One uploaded file for the admin to check: what its text states, and the correction."""

    path: str
    read: ReportMeta | None  # None when the file could not be read (`error` says why)
    error: str
    correction: metadata.Correction | None


@dataclass
class FetchJob:
    stage: str = "starting"
    done: int = 0
    total: int = 0
    summary: fetch.FetchSummary | None = None
    reindex: Job | None = None  # the re-index that followed, if anything arrived
    error: str = ""
    finished: threading.Event = field(default_factory=threading.Event)

    def update(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total


# --- startup --------------------------------------------------------------------------


def _terminal_progress():
    """A tqdm bar per indexing stage on stderr; a stage is complete when the next one starts."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def finish_others(stage: str) -> None:
        for name, bar in list(bars.items()):
            if name != stage:
                bar.n = bar.total
                bar.close()
                del bars[name]

    def update(stage: str, done: int, total: int) -> None:
        finish_others(stage)
        if total <= 0:
            print(stage, file=sys.stderr, flush=True)
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, leave=True, file=sys.stderr, mininterval=0.5)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            del bars[stage]

    return update


def start_service(settings: Settings, embedder: Embedder | None = None) -> Service:
    """Load the model and the index, building the index first when there is none."""
    if embedder is None:
        print("loading the model…", file=sys.stderr, flush=True)
        embedder = load_embedder(cache_dir=settings.models)
    try:
        searcher = Searcher(settings.index, embedder=embedder)
    except IndexError_ as exc:
        print(f"{exc}\nbuilding the index from {settings.corpus} …", file=sys.stderr, flush=True)
        summary = build_index(settings.corpus, settings.index, embedder=embedder, progress=_terminal_progress())
        for line in summary.lines():
            print(line, file=sys.stderr, flush=True)
        audit.record_build(settings.index, settings.corpus, audit.APP, summary)
        searcher = Searcher(settings.index, embedder=embedder)
    service = Service(settings, embedder, searcher)
    service.follow_index()  # replicas on one index folder each pick up a re-index by any of them
    for line in service.serving_warnings():
        print(f"warning: {line}", file=sys.stderr, flush=True)
    if settings.watch:
        service.start_watch()
    return service
