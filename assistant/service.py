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

from . import conversation, ui_format
from .answer import Answer
from .embed import Embedder, load_embedder
from .indexer import BuildSummary, Busy, build_index
from .query import Filters, norm_name
from .search import Searcher
from .store import IndexError_, generations

MB = 1024 * 1024

@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 7860
    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model_cache: Path | None = None  # default: INDEX/models
    admin_password: str = ""  # empty: the Admin tab is disabled
    max_upload_bytes: int = 50 * MB
    queue_size: int = 64
    concurrency: int = 4
    build_workers: int = 1  # in-app re-index shares 2 cores with the chat

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
            if fh.read(5) != b"%PDF-":
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

    def start(self) -> Job:
        if not self._running.acquire(blocking=False):
            raise Busy("a re-index is already running; try again when it finishes")
        job = Job()
        self.last = job
        threading.Thread(target=self._run, args=(job,), name="reindex", daemon=True).start()
        return job

    def _run(self, job: Job) -> None:
        try:
            job.summary = build_index(
                self.settings.corpus,
                self.settings.index,
                workers=self.settings.build_workers,
                embedder=self.embedder,
                progress=job.update,
            )
            self.searcher.reload()
        except Busy as exc:
            job.error = f"busy: {exc}"
        except Exception as exc:  # reported to the admin, who can act on it; the old generation keeps serving
            job.error = f"{type(exc).__name__}: {exc}"
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

    # chat ----------------------------------------------------------------------------

    def reply(self, question: str, ctx: conversation.Context, k: int) -> Reply:
        names = self.searcher.authorities()
        u = conversation.understand_question(question, set(names))
        turn = conversation.next_turn(question, u, ctx)
        answer = self.searcher.ask(turn.text, k=k, filters=turn.filters)
        new_ctx = conversation.after_answer(turn.context, answer.filters)
        suggestions = () if answer.hits else self.suggestions(new_ctx, k)
        searched = (turn.context.topic or turn.text) if turn.follow_up else question
        return Reply(answer, searched, new_ctx, ui_format.answer_markdown(answer, searched, suggestions))

    def rerun(self, ctx: conversation.Context, k: int) -> Reply:
        """Re-ask the conversation's topic with the filters as the user edited them."""
        topic = ctx.topic or ""
        answer = self.searcher.ask(topic, k=k, filters=ctx.filters) if topic else self._empty(ctx)
        new_ctx = conversation.after_answer(ctx, answer.filters)
        suggestions = () if answer.hits else self.suggestions(new_ctx, k)
        return Reply(answer, topic, new_ctx, ui_format.answer_markdown(answer, topic, suggestions))

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
            if self.searcher.ask(topic, k=1, filters=probe, use_question=False).hits:
                out.append(label)
        if not out and len(probes) == 2:
            if self.searcher.ask(topic, k=1, filters=Filters(), use_question=False).hits:
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

    def _prune_exports(self, keep_seconds: float = 3600) -> None:
        # Gradio copies a file when it is offered for download; ours are only needed until then.
        cutoff = time.time() - keep_seconds
        for p in self.export_dir.glob("passages-*"):
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
        k = max(1, min(int(k or 5), 50))
        return self.searcher.ask(question, k=k, filters=explicit).to_json()

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
        return "\n\n".join(lines)

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
            if fh.read(5) != b"%PDF-":
                raise ValueError(f"{original_name}: not a PDF (its content does not start with %PDF-)")
        stem = re.sub(r"[^A-Za-z0-9 ._,()'-]+", "_", Path(original_name).stem).strip(" ._") or "report"
        dest_dir = self.settings.corpus / "uploads"
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / f"{stem[:120]}.pdf"
        n = 1
        while dest.exists():
            n += 1
            dest = dest_dir / f"{stem[:120]}-{n}.pdf"
        tmp = dest_dir / f".{dest.name}.part"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        return dest.relative_to(self.settings.corpus).as_posix()

    def delete_file(self, rel: str) -> str:
        corpus = self.settings.corpus.resolve()
        if not rel or ".." in rel.split("/") or rel.startswith("/"):
            raise ValueError("choose a report to delete")
        path = corpus / rel
        if not path.resolve().is_relative_to(corpus) and not path.is_symlink():
            raise ValueError(f"{rel}: not in the corpus folder")
        if not (path.is_file() or path.is_symlink()):
            raise ValueError(f"{rel}: no such file")
        path.unlink()
        return rel


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
        searcher = Searcher(settings.index, embedder=embedder)
    return Service(settings, embedder, searcher)
