"""The app's shared state: settings, the searcher, answering, exports.

One Service per process; every browser session shares it. Changes to the
library (uploads, corrections, deletes, fetches, re-indexes, watching) are its
`admin` (admin.curator.Curator), which re-indexes in a background thread while
the chat keeps answering from the serving generation; Searcher.reload() swaps
the new one in when it is complete. Nothing here knows about Gradio, so it can
be tested and reused directly.
"""

from __future__ import annotations

import hmac
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..admin import audit
from ..admin.curator import Curator
from ..index.build import build_index
from ..index.disk import IndexLoadError, current_name, generations
from ..index.embed import Embedder, load_embedder
from ..reports.ingest import PDF_HEADER_WINDOW, pdf_header_offset
from ..search import conversation, themes
from ..search.answer import Answer
from ..search.authorities import norm_name
from ..search.query import Filters, Query
from ..search.rerank import load_reranker
from ..search.searcher import Searcher, Snapshot
from ..settings import AppSettings, clamp_k
from . import exports
from .labels import year_text
from .markdown import answer_markdown, audit_markdown, escape_text

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


# --- the shared service ---------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the chat shows for one question."""

    answer: Answer
    searched_text: str
    context: conversation.Context
    markdown: str


class Service:
    def __init__(self, settings: AppSettings, embedder: Embedder, searcher: Searcher):
        self.settings = settings
        self.embedder = embedder
        self.searcher = searcher
        self.admin = Curator(
            settings.corpus,
            settings.index,
            embedder,
            reload=lambda: self.searcher.reload(),
            serving=lambda: self.searcher.generation,
            max_upload_bytes=settings.max_upload_bytes,
            build_workers=settings.build_workers,
            fetch_options=settings.fetch_options,
        )
        self.export_dir = Path(tempfile.mkdtemp(prefix="ofsted-assistant-exports-"))

    # chat ----------------------------------------------------------------------------

    def reply(self, question: str, ctx: conversation.Context, k: int) -> Reply:
        snap = self.searcher.acquire()  # one generation for the question, its answer and the suggestions
        turn = conversation.next_turn(self.searcher.understand(question, snap), ctx)
        answer = self.searcher.search(turn.query, k=k, snapshot=snap)
        new_ctx = conversation.after_answer(turn.context, answer.filters)
        suggestions = () if answer.hits or answer.places_abstained else self.suggestions(new_ctx, k, snap)
        searched = (turn.context.topic or turn.query.text) if turn.follow_up else question
        return Reply(answer, searched, new_ctx, answer_markdown(answer, searched, suggestions))

    def rerun(self, ctx: conversation.Context, k: int) -> Reply:
        """Re-ask the conversation's topic with the filters as the user edited them."""
        query = conversation.rerun(ctx)
        snap = self.searcher.acquire()
        answer = self.searcher.search(query, k=k, snapshot=snap) if query else self._empty(ctx, snap)
        new_ctx = conversation.after_answer(ctx, answer.filters)
        suggestions = () if answer.hits or answer.places_abstained else self.suggestions(new_ctx, k, snap)
        return Reply(answer, ctx.topic, new_ctx, answer_markdown(answer, ctx.topic, suggestions))

    def _empty(self, ctx: conversation.Context, snap: Snapshot) -> Answer:
        return Answer("", ctx.filters, (), authority_names=dict(snap.names))

    def suggestions(self, ctx: conversation.Context, k: int, snapshot: Snapshot | None = None) -> tuple[str, ...]:
        """Which filter to drop when nothing matched: the ones whose removal finds something
        (in `snapshot`, the answer's, when given)."""
        snap = snapshot or self.searcher.acquire()
        f, names = ctx.filters, dict(snap.names)
        topic = ctx.topic
        out: list[str] = []
        if not topic:
            return ("ask about a topic, e.g. how well children in care are supported",)
        probes = []
        if f.year_from or f.year_to:
            probes.append((f"drop the year filter ({year_text(f)})", replace(f, year_from=None, year_to=None)))
        if f.authorities:
            who = ", ".join(names.get(a, a) for a in f.authorities)
            probes.append((f"drop the authority filter ({who})", replace(f, authorities=())))
        for label, probe in probes:
            if self.searcher.search(Query.plain(topic, probe), k=1, snapshot=snap).hits:
                out.append(label)
        if not out and len(probes) == 2:
            if self.searcher.search(Query.plain(topic), k=1, snapshot=snap).hits:
                out.append("drop both the authority and the year filters")
        if not out:
            out.append("rephrase the question in the words a report would use")
        return tuple(out)

    def export_files(self, answer: Answer, link: str = "") -> tuple[Path, Path]:
        """The answer's passages as CSV and Markdown; `link` reproduces it (app.permalink)."""
        self._prune_exports()
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.perf_counter_ns() % 1_000_000:06d}"
        csv_path = self.export_dir / f"passages-{stamp}.csv"
        md_path = self.export_dir / f"passages-{stamp}.md"
        csv_path.write_text(exports.export_csv(answer, link=link), encoding="utf-8")
        md_path.write_text(exports.export_markdown(answer, link=link), encoding="utf-8")
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

    def across(self, question: str, filters: Filters | None = None, grades=(), per_report: int = 1) -> themes.AcrossAnswer:
        """One best passage per report that discusses `question` (search.themes)."""
        return themes.across(self.searcher, question, filters, tuple(grades or ()), per_report)

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

    def across_files(self, a: themes.AcrossAnswer, link: str = "") -> tuple[Path, Path, Path, Path]:
        """The across table as CSV (one row per report; `link` reproduces it), and its reports
        as BibTeX, RIS and CSL-JSON."""
        csv_path = self.export_dir / f"across-{self._export_stamp()}.csv"
        csv_path.write_text(exports.across_csv(a, link=link), encoding="utf-8")
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
        job = self.admin.reindexer.last
        if job and not job.finished.is_set():
            lines.append(f"Re-index running: {escape_text(job.stage)} {job.done}/{job.total}.")
        fj = self.admin.fetch_job
        if fj and not fj.finished.is_set():
            lines.append(f"Fetch running: {fj.done}/{fj.total}.")
        watcher = self.admin.watcher
        if watcher is not None:
            lines.append(
                "Watching the corpus folder: changes are re-indexed automatically."
                + (f" **Watching stopped:** {escape_text(watcher.error)}" if watcher.error else "")
            )
        lines[1:1] = [f"**Warning:** {escape_text(w)}" for w in self.serving_warnings()]
        return "\n\n".join(lines)

    def follow_index(self, every: float | None = None) -> threading.Event:
        """Serve each generation that becomes current, whoever built it (another replica
        on the same index folder, the command line), without a restart. Set the
        returned event to stop."""
        stop = threading.Event()
        every = self.settings.follow_seconds if every is None else every

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
        return audit_markdown(audit.read(self.settings.index, n))


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


def start_service(settings: AppSettings, embedder: Embedder | None = None) -> Service:
    """Load the model and the index, building the index first when there is none."""
    if embedder is None:
        print("loading the model…", file=sys.stderr, flush=True)
        embedder = load_embedder(cache_dir=settings.models, model=settings.embedder)
    reranker = load_reranker()
    try:
        searcher = Searcher(settings.index, embedder=embedder, reranker=reranker)
    except IndexLoadError as exc:
        print(f"{exc}\nbuilding the index from {settings.corpus} …", file=sys.stderr, flush=True)
        summary = build_index(settings.corpus, settings.index, embedder=embedder, progress=_terminal_progress())
        for line in summary.lines():
            print(line, file=sys.stderr, flush=True)
        audit.record_build(settings.index, settings.corpus, audit.APP, summary)
        searcher = Searcher(settings.index, embedder=embedder, reranker=reranker)
    service = Service(settings, embedder, searcher)
    service.follow_index()  # replicas on one index folder each pick up a re-index by any of them
    for line in service.serving_warnings():
        print(f"warning: {line}", file=sys.stderr, flush=True)
    if settings.watch:
        service.admin.start_watch()
    return service
