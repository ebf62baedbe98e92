"""Reports from a manifest of links into the corpus folder: `python -m assistant fetch MANIFEST.csv`
(the manifest read by admin.manifest).

HTTP client: the standard library's `http.client`. No new dependency, and it
gives direct control of what this needs per request: every redirect checked
against the allowed hosts before it is followed, Range requests to resume a
partial download, and a socket timeout on every read so a stalled server costs
a retry rather than a hung fetch. (urllib follows redirects itself; httpx comes
with gradio only as its dependency, at whatever version gradio picks.)

What lands under a real name is always a complete, checked PDF: bytes go to a
hidden `.NAME.part` file (with `.NAME.part.json` saying which link and version
they are from, for resuming), are fsynced, checked (the bytes start as a PDF,
end with the end-of-file marker, are as long as announced and within the size
limit) and only then renamed into place. `.fetch-state.jsonl` in the corpus
folder remembers the size and SHA-256 of what each link gave, so a second run
re-fetches nothing that is still on disk as it was.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..durable import fsync_dir, write_atomic
from ..reports.corpus import FETCH_STATE
from ..reports.ingest import sha256_file
from ..settings import FetchSettings
from .manifest import FAILED, FETCHED, MB, UNCHANGED, Entry, FetchSummary, Outcome, check_path

USER_AGENT = "ofsted-report-assistant-fetch/1"

Progress = Callable[[str, int, int], None]


class _Refused(Exception):
    """Not worth retrying: the answer will not change (404, not a PDF, too big, redirected away)."""


class _Retry(Exception):
    """Worth retrying: a timeout, a dropped connection, a 5xx."""

    def __init__(self, reason: str, after: float = 0.0):
        super().__init__(reason)
        self.after = after


# --- what earlier runs fetched ----------------------------------------------------------


@dataclass(frozen=True)
class _Known:
    url: str
    size: int
    sha256: str


class _State:
    """`.fetch-state.jsonl`: one line per file fetched, appended as each lands (a killed
    run loses nothing it finished); the last line for a path wins; compacted at the end."""

    def __init__(self, corpus: Path):
        self.path = corpus / FETCH_STATE
        self.known: dict[str, _Known] = {}
        self._lock = threading.Lock()
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            lines = []
        for raw in lines:
            try:
                d = json.loads(raw)
                self.known[d["path"]] = _Known(d["url"], int(d["size"]), d["sha256"])
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill

    def unchanged(self, entry: Entry, dest: Path) -> _Known | None:
        k = self.known.get(entry.path)
        if not k or k.url != entry.source_url:
            return None
        try:
            if dest.stat().st_size != k.size or sha256_file(dest) != k.sha256:
                return None
        except OSError:
            return None
        return k

    def add(self, entry: Entry, size: int, sha: str) -> None:
        line = json.dumps({"path": entry.path, "url": entry.source_url, "size": size, "sha256": sha}, ensure_ascii=False) + "\n"
        with self._lock:
            self.known[entry.path] = _Known(entry.source_url, size, sha)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def compact(self) -> None:
        with self._lock:
            body = "".join(
                json.dumps({"path": p, "url": k.url, "size": k.size, "sha256": k.sha256}, ensure_ascii=False) + "\n"
                for p, k in sorted(self.known.items())
            )
            write_atomic(self.path, body.encode("utf-8"))


# --- HTTP ---------------------------------------------------------------------------------


class _Pace:
    """At most `rate` request starts a second, shared by all workers."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next)
            self.next = at + self.interval
        if at > now:
            time.sleep(at - now)


def _open(url: str, headers: dict[str, str], opts: FetchSettings, pace: _Pace) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """GET `url`, following redirects only to its own host (or an allowed one), never https -> http."""
    origin = urlsplit(url).hostname
    for _ in range(opts.max_redirects + 1):
        u = urlsplit(url)
        pace.wait()
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        conn = cls(u.hostname or "", u.port, timeout=opts.timeout)
        try:
            conn.request(
                "GET",
                (u.path or "/") + (f"?{u.query}" if u.query else ""),
                headers={"User-Agent": USER_AGENT, "Accept": "application/pdf", **headers},
            )
            resp = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        if resp.status not in (301, 302, 303, 307, 308):
            return conn, resp
        location = resp.getheader("Location") or ""
        conn.close()
        nxt = urljoin(url, location)
        n = urlsplit(nxt)
        if not location or n.scheme not in ("http", "https"):
            raise _Refused(f"redirected to an unusable address {location!r}")
        if u.scheme == "https" and n.scheme == "http":
            raise _Refused(f"redirected from https to plain http ({nxt})")
        if n.hostname != origin and n.hostname not in opts.allow_hosts:
            raise _Refused(f"redirected to another host, {n.hostname} (allow it with --allow-host {n.hostname})")
        url = nxt
    raise _Refused(f"more than {opts.max_redirects} redirects")


def _retry_after(resp: http.client.HTTPResponse) -> float:
    value = resp.getheader("Retry-After") or ""
    return min(float(value), 60.0) if value.strip().isdigit() else 0.0


def _mb(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= 10 * MB else f"{n / MB:.2f} MB"


def _looks_like_pdf(head: bytes) -> str:
    """ "" for the start of a PDF, else why not."""
    if b"%PDF-" in head[:1024]:
        return ""
    lower = head[:1024].lower()
    if b"<html" in lower or b"<!doctype html" in lower:
        return "not a PDF: the server sent an HTML page"
    return "not a PDF: no %PDF header"


class _Download:
    """One entry's download into its .part file, resumable across tries and runs."""

    def __init__(self, entry: Entry, dest: Path, opts: FetchSettings, pace: _Pace):
        self.entry, self.dest, self.opts, self.pace = entry, dest, opts, pace
        self.part = dest.parent / f".{dest.name}.part"
        self.meta = dest.parent / f".{dest.name}.part.json"

    def _resume_from(self) -> tuple[int, str]:
        """(bytes already here, the validator they were fetched under) or (0, "")."""
        try:
            meta = json.loads(self.meta.read_text())
            size = self.part.stat().st_size
        except (OSError, ValueError):
            return 0, ""
        if meta.get("url") != self.entry.source_url or not meta.get("validator") or size <= 0:
            return 0, ""
        return size, str(meta["validator"])

    def _restart(self) -> None:
        for p in (self.part, self.meta):
            p.unlink(missing_ok=True)

    def attempt(self) -> None:
        """One request; leaves a complete .part or raises _Retry / _Refused."""
        offset, validator = self._resume_from()
        headers = {"Range": f"bytes={offset}-", "If-Range": validator} if offset else {}
        try:
            conn, resp = _open(self.entry.source_url, headers, self.opts, self.pace)
        except _Refused:
            raise
        except TimeoutError:
            raise _Retry("timed out connecting") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retry(f"connection failed ({exc.__class__.__name__}: {exc})") from None
        try:
            self._receive(resp, offset)
        except TimeoutError:
            raise _Retry("timed out: the server stopped sending") from None
        except http.client.IncompleteRead as exc:
            raise _Retry(f"truncated: the connection closed after {len(exc.partial)} bytes of the body") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retry(f"connection dropped ({exc.__class__.__name__}: {exc})") from None
        finally:
            conn.close()

    def _receive(self, resp: http.client.HTTPResponse, offset: int) -> None:
        status = resp.status
        if status == 416 and offset:
            self._restart()
            raise _Retry("the partial download no longer fits the file; starting again")
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status} {resp.reason}", _retry_after(resp))
        if status not in (200, 206):
            raise _Refused(f"HTTP {status} {resp.reason}")
        if status == 206:
            m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.getheader("Content-Range") or "")
            if not offset or not m or int(m.group(1)) != offset:
                self._restart()
                raise _Retry("the server resumed at the wrong place; starting again")
            total = int(m.group(2)) if m.group(2) != "*" else None
        else:
            offset = 0  # a full answer (the file changed, or no resuming): start the part afresh
            length = resp.getheader("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if total is not None and total > self.opts.max_bytes:
            raise _Refused(f"{_mb(total)} is over the {_mb(self.opts.max_bytes)} limit")
        validator = resp.getheader("ETag") or resp.getheader("Last-Modified") or ""
        if not offset:
            self.part.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.meta, json.dumps({"url": self.entry.source_url, "validator": validator}).encode())
        with self.part.open("ab" if offset else "wb") as fh:
            got = offset
            head = b"" if not offset else None
            while True:
                block = resp.read1(1 << 16)
                if not block:
                    break
                if head is not None:
                    # Look at the start before fetching the rest: an error page is refused at once.
                    head += block
                    if len(head) >= 1024:
                        why, head = _looks_like_pdf(head), None
                        if why:
                            raise _Refused(why)
                got += len(block)
                if got > self.opts.max_bytes:
                    raise _Refused(f"over the {_mb(self.opts.max_bytes)} limit")
                fh.write(block)
            fh.flush()
            os.fsync(fh.fileno())
        if total is not None and got < total:
            raise _Retry(f"truncated: {got} of {total} bytes arrived")
        with self.part.open("rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, got - 2048))
            tail = fh.read()
        why = _looks_like_pdf(head)
        if why:
            raise _Refused(why)
        if b"%%EOF" not in tail:
            # The body ended early with no length to tell: fetch it whole again.
            self._restart()
            raise _Retry("truncated: the PDF has no end-of-file marker")

    def run(self, state: _State) -> Outcome:
        e = self.entry
        last = _Retry("not tried")
        for n in range(self.opts.retries + 1):
            if n:
                # Doubling back-off with a little jitter, so parallel workers do not retry in step.
                delay = self.opts.backoff * 2 ** (n - 1) * (1 + random.random() / 4)
                time.sleep(min(max(delay, last.after), 60.0))
            try:
                self.attempt()
                break
            except _Refused as exc:
                self._restart()
                return Outcome(e.path, e.source_url, FAILED, str(exc))
            except _Retry as exc:
                last = exc
        else:
            self._restart()
            return Outcome(e.path, e.source_url, FAILED, f"{last} (gave up after {self.opts.retries + 1} tries)")
        sha, size = sha256_file(self.part), self.part.stat().st_size
        try:
            same = self.dest.is_file() and self.dest.stat().st_size == size and sha256_file(self.dest) == sha
        except OSError:
            same = False
        if same:
            self._restart()
        else:
            os.replace(self.part, self.dest)
            self.meta.unlink(missing_ok=True)
            fsync_dir(self.dest.parent)
        state.add(e, size, sha)
        return Outcome(e.path, e.source_url, UNCHANGED if same else FETCHED, "", sha, size)


# --- the whole fetch --------------------------------------------------------------------


def _dest(corpus: Path, rel: str) -> Path:
    dest = corpus / check_path(rel)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A folder in the corpus that is a symlink leading out would put the file elsewhere.
    if not dest.parent.resolve().is_relative_to(corpus.resolve()):
        raise ValueError(f"{rel!r} leads out of the corpus folder")
    if dest.is_symlink() or (dest.exists() and not dest.is_file()):
        raise ValueError(f"{rel!r} exists and is not a plain file")
    return dest


def fetch(
    entries: list[Entry],
    corpus: Path,
    opts: FetchSettings = FetchSettings(),
    progress: Progress | None = None,
    refused: Sequence[Outcome] = (),
) -> FetchSummary:
    """Download every entry not already on disk as last fetched; see the module docstring.
    `refused`: rows the manifest reader already turned down, reported with the rest."""
    t0 = time.perf_counter()
    note = progress or (lambda stage, done, total: None)
    corpus.mkdir(parents=True, exist_ok=True)
    state = _State(corpus)
    pace = _Pace(opts.rate)
    summary = FetchSummary()
    lock = threading.Lock()
    total = len(entries)
    note("fetching reports", 0, total)

    def one(entry: Entry) -> Outcome:
        try:
            dest = _dest(corpus, entry.path)
        except (ValueError, OSError) as exc:
            return Outcome(entry.path, entry.source_url, FAILED, str(exc))
        known = state.unchanged(entry, dest)
        if known:
            return Outcome(entry.path, entry.source_url, UNCHANGED, "", known.sha256, known.size)
        try:
            return _Download(entry, dest, opts, pace).run(state)
        except OSError as exc:  # the disk, not the network: full, read-only
            return Outcome(entry.path, entry.source_url, FAILED, f"could not write: {exc.strerror or exc}")

    def done(o: Outcome) -> None:
        with lock:
            summary.outcomes.append(o)
            note("fetching reports", len(summary.outcomes), total)

    with ThreadPoolExecutor(max(1, opts.workers), thread_name_prefix="fetch") as pool:
        for fut in as_completed([pool.submit(one, e) for e in entries]):
            done(fut.result())
    order = {e.path: i for i, e in enumerate(entries)}
    summary.outcomes.sort(key=lambda o: order.get(o.path, -1))
    summary.outcomes[:0] = refused
    state.compact()
    summary.seconds = time.perf_counter() - t0
    return summary


def file_refs(summary: FetchSummary):
    """The audit log's view of a fetch: each file with its hash and what happened."""
    from .audit import FileRef

    return tuple(
        FileRef(o.path, o.sha256, o.status if o.status != FAILED else f"failed: {o.reason}") for o in summary.outcomes if o.status != UNCHANGED
    )


def outcome_text(summary: FetchSummary) -> str:
    return summary.lines()[0]
