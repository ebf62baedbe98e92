"""Files -> reports (pages and paragraphs). The only module that opens PDFs.

Each file is parsed in a worker process with a time limit and a memory cap, so
one hostile or broken file costs one line in the failure list and nothing else.
"""

from __future__ import annotations

import hashlib
import html
import html.parser
import multiprocessing as mp
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from pathlib import Path

from ..language.vocab import LABEL_RE
from ..settings import IngestSettings
from . import judgements, layout, metadata
from .document import BODY, FRONT, HEADING, IngestFailure, IngestResult, Page, Paragraph, Report, ReportMeta, Span

SUFFIXES = (".pdf", ".txt", ".md", ".html", ".htm")
# PDF readers (Acrobat, pdf.js, PDFium, pypdf) accept the "%PDF-" header anywhere in
# a file's first kilobyte; bytes before it are a gateway's banner or a bad save.
PDF_HEADER_WINDOW = 1024


class IngestError(Exception):
    """A file that cannot be ingested; the message says why, for an admin."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_files(folder: Path) -> list[Path]:
    """Report files under `folder`, sorted, skipping hidden and symlinked-out ones."""
    root = folder.resolve()
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in SUFFIXES or any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        try:
            if not p.resolve().is_relative_to(root) or not p.is_file():
                continue
        except OSError:
            continue
        out.append(p)
    return out


# --- reading one file (runs inside a worker) -------------------------------------


def pdf_header_offset(head: bytes) -> int | None:
    """Where the "%PDF-" header starts in a file's first bytes, or None if not within
    PDF_HEADER_WINDOW. The one rule for "is this a PDF": ingestion reads what passes
    it, and the app serves what passes it (service.corpus_file)."""
    pos = head[:PDF_HEADER_WINDOW].find(b"%PDF-")
    return pos if pos >= 0 else None


def _pdf_pages(data: bytes, limits: IngestSettings) -> list[str]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError, PyPdfError

    head = data[:PDF_HEADER_WINDOW].lstrip()
    if pdf_header_offset(data) is None:
        if head[:15].lower().startswith((b"<!doctype html", b"<html")) or b"<html" in head.lower():
            raise IngestError("not a PDF: it is an HTML page saved with a .pdf name")
        raise IngestError("not a PDF: no %PDF header")
    if b"%%EOF" not in data[-2048:]:
        raise IngestError("truncated or damaged PDF: no end-of-file marker")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (FileNotDecryptedError, NotImplementedError, Exception) as exc:
                raise IngestError(f"encrypted PDF that cannot be opened: {exc}") from None
            if not ok:
                raise IngestError("encrypted PDF: a password is required")
        n = len(reader.pages)
    except IngestError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IngestError(f"truncated or damaged PDF: {exc}") from None
    if n == 0:
        raise IngestError("PDF has no pages")
    if n > limits.max_pages:
        raise IngestError(f"too many pages ({n}; the limit is {limits.max_pages})")
    pages = []
    for i, page in enumerate(reader.pages):
        try:
            pages.append(page.extract_text() or "")
        except MemoryError:
            raise IngestError(f"page {i + 1} expands beyond the memory limit (decompression bomb?)") from None
        except LimitReachedError as exc:  # pypdf's own cap on inflated stream size
            raise IngestError(f"page {i + 1} expands beyond the decompression limit (decompression bomb?): {exc}") from None
        except Exception as exc:  # pypdf raises many types on bad streams
            raise IngestError(f"cannot read text of page {i + 1}: {type(exc).__name__}: {exc}") from None
    if not any(p.strip() for p in pages):
        raise IngestError("no extractable text (a scanned image? OCR it first)")
    return pages


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"not valid UTF-8 text (bad byte at offset {exc.start})") from None


class _HtmlText(html.parser.HTMLParser):
    """Block-level text of an HTML file: headings and paragraphs, no scripts."""

    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "td", "br", "tr", "section", "article"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[bool, str]] = []  # (is_heading, text)
        self._buf: list[str] = []
        self._heading = False
        self._skip = 0

    def _flush(self):
        text = layout.fold("".join(self._buf))
        if text:
            self.blocks.append((self._heading, text))
        self._buf = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self._flush()
            self._heading = tag in ("h1", "h2", "h3", "h4", "h5", "h6")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self._flush()
            self._heading = False

    def handle_data(self, data):
        if not self._skip:
            self._buf.append(data)


def _text_report_parts(kind: str, text: str) -> tuple[list[Page], list[Paragraph]]:
    """Plain text, Markdown and HTML: one page, blank-line paragraphs."""
    if kind == "html":
        parser = _HtmlText()
        parser.feed(text)
        parser.close()
        parser._flush()
        blocks = parser.blocks
    else:
        blocks = []
        for chunk in re.split(r"\n\s*\n", text):
            folded = layout.fold(chunk)
            if not folded:
                continue
            heading = kind == "md" and folded.startswith("#")
            blocks.append((heading, folded.lstrip("#").strip() if heading else folded))
    paragraphs: list[Paragraph] = []
    parts: list[str] = []
    pos, section = 0, ""
    for heading, t in blocks:
        start = pos + (2 if parts else 0)
        parts.append(t)
        pos = start + len(t)
        if heading:
            section = t
        # "Lead inspector: ..." lines are front matter, as in a PDF, so metadata reads them.
        para_kind = HEADING if heading else FRONT if LABEL_RE.match(t) else BODY
        paragraphs.append(Paragraph(len(paragraphs), t, (1,), None, section, para_kind, (Span(1, start, pos),)))
    if not paragraphs:
        raise IngestError("no text in file")
    return [Page(1, text, "\n\n".join(parts))], paragraphs


def parse_bytes(data: bytes, rel_path: str, limits: IngestSettings = IngestSettings()) -> tuple[list[Page], list[Paragraph]]:
    """Pages and paragraphs of one file's content; raises IngestError."""
    if not data:
        raise IngestError("empty file (0 bytes)")
    suffix = Path(rel_path).suffix.lower()
    if suffix == ".pdf":
        raw = _pdf_pages(data, limits)
        return layout.build_pages(raw)
    kind = {".md": "md", ".html": "html", ".htm": "html"}.get(suffix, "txt")
    return _text_report_parts(kind, _decode_text(data))


def read_report(path: Path, rel_path: str, limits: IngestSettings, manifest: metadata.ManifestRow | None) -> Report:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror}") from None
    if size > limits.max_bytes:
        raise IngestError(f"too large ({size / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB)")
    data = path.read_bytes()
    pages, paragraphs = parse_bytes(data, rel_path, limits)
    meta = metadata.extract(paragraphs, rel_path, manifest)
    placed = judgements.assign(paragraphs, meta)
    return Report(rel_path, hashlib.sha256(data).hexdigest(), len(data), meta, tuple(pages), placed)


# --- the worker pool ---------------------------------------------------------------


def _worker(conn: Connection, limits: IngestSettings) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    except (ImportError, ValueError, OSError):
        pass
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        path, rel, manifest = job
        try:
            conn.send(("ok", read_report(Path(path), rel, limits, manifest)))
        except IngestError as exc:
            conn.send(("error", str(exc)))
        except MemoryError:
            conn.send(("error", "ran out of memory while parsing (over the memory limit)"))
        except RecursionError:
            conn.send(("error", "malformed PDF: structure nested too deeply"))
        except Exception as exc:  # a parser bug must not take the pool down
            conn.send(("error", f"unexpected parser error: {type(exc).__name__}: {exc}"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported when the worker tries to read it


class _Slot:
    def __init__(self, ctx, limits: IngestSettings):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, limits), daemon=True)
        self.proc.start()
        child.close()
        self.job: tuple[str, float] | None = None  # (rel path, deadline)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def ingest_files(
    files: Iterable[tuple[Path, str]],
    manifest: dict[str, metadata.ManifestRow] | None = None,
    workers: int = 2,
    limits: IngestSettings = IngestSettings(),
    on_done: Callable[[Report | IngestFailure], None] | None = None,
) -> IngestResult:
    """Parse (path, relative path) pairs in `workers` processes.

    A worker that overruns its time limit or dies is killed and replaced; its
    file is reported as failed and the others go on.
    """
    manifest = manifest or {}
    todo = list(files)
    result = IngestResult()
    if not todo:
        return result
    ctx = mp.get_context("spawn")  # safe from threaded parents (the Gradio app)
    slots = [_Slot(ctx, limits) for _ in range(max(1, min(workers, len(todo))))]
    # Largest first, so the last files to finish are small ones and no worker idles long at the end.
    queue = sorted(todo, key=lambda item: _size(item[0]))

    def done(item: Report | IngestFailure) -> None:
        if isinstance(item, Report):
            result.reports.append(item)
        else:
            result.failures.append(item)
        if on_done:
            on_done(item)

    try:
        while queue or any(s.job for s in slots):
            for s in slots:
                if s.job is None and queue:
                    path, rel = queue.pop()
                    s.job = (rel, time.monotonic() + limits.seconds)
                    s.conn.send((str(path), rel, manifest.get(rel)))
            busy = [s for s in slots if s.job]
            timeout = max(0.0, min(s.job[1] for s in busy if s.job) - time.monotonic())
            ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout)
            for i, s in enumerate(slots):
                if not s.job:
                    continue
                rel, deadline = s.job
                failure = None
                if s.conn in ready:
                    try:
                        status, value = s.conn.recv()
                    except (EOFError, OSError):
                        failure = "the parser process died (crash or memory limit)"
                    else:
                        s.job = None
                        done(value if status == "ok" else IngestFailure(rel, value))
                        continue
                elif s.proc.sentinel in ready or not s.proc.is_alive():
                    failure = "the parser process died (crash or memory limit)"
                elif time.monotonic() >= deadline:
                    failure = f"took longer than the {limits.seconds:.0f} s limit"
                if failure:
                    s.kill()
                    slots[i] = _Slot(ctx, limits)
                    done(IngestFailure(rel, failure))
    finally:
        for s in slots:
            try:
                s.conn.send(None)
            except OSError:
                pass
        for s in slots:
            s.proc.join(2)
            if s.proc.is_alive():
                s.kill()
    return result


def ingest_folder(folder: Path, workers: int = 2, limits: IngestSettings = IngestSettings(), on_done=None) -> IngestResult:
    files = [(p, p.relative_to(folder).as_posix()) for p in list_files(folder)]
    return ingest_files(files, metadata.read_manifest(folder), workers, limits, on_done)


def read_metadata(
    folder: Path, rels: list[str], workers: int = 1, limits: IngestSettings = IngestSettings()
) -> dict[str, ReportMeta | IngestFailure]:
    """What each of the corpus files `rels` states about itself (title, authority, dates, lead
    inspector, grades), read in workers as a build reads it, manifest.csv filling gaps, but
    without an admin's correction: what the admin reviews before correcting."""
    rows = {rel: replace(row, correction=None) for rel, row in metadata.read_manifest(folder).items()}
    result = ingest_files([(folder / rel, rel) for rel in rels], rows, workers, limits)
    out: dict[str, ReportMeta | IngestFailure] = {r.path: r.meta for r in result.reports}
    out.update({f.path: f for f in result.failures})
    return out


def ingest_one(path: Path, root: Path | None = None, limits: IngestSettings = IngestSettings()) -> Report:
    """One file, in a worker (same limits as a build); raises IngestError."""
    root = root or path.parent
    rel = path.resolve().relative_to(root.resolve()).as_posix() if path.resolve().is_relative_to(root.resolve()) else path.name
    res = ingest_files([(path, rel)], metadata.read_manifest(root), 1, limits)
    if res.failures:
        raise IngestError(res.failures[0].reason)
    return res.reports[0]
