"""Watch mode: re-index when report files in the corpus folder are added, changed or removed.

File events come from watchfiles (the Rust `notify` crate: inotify on Linux,
FSEvents on macOS), a maintained library, rather than a polling loop of our own.
Events are batched until the folder has been quiet for `quiet_ms`, so copying
in a folder of reports, or a fetch landing one file after another, costs one
re-index, not one per file. The callback runs on the watching thread, so
there is one re-index at a time; changes made meanwhile are collected by the
watcher and make the next batch.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..reports.corpus import CORRECTIONS, MANIFEST
from ..reports.ingest import SUFFIXES
from ..settings import DEFAULTS, WatchSettings

# The quiet period, the longest batch and the check-in interval are settings.WatchSettings.
# A copied PDF lands in milliseconds; 1.5 s of quiet keeps a burst (a folder copied in,
# a fetch) in one batch and leaves most of the 15 s target for the build itself
# (bench/fetch.py measures the whole latency).

Rebuild = Callable[[list[str]], None]  # corpus-relative paths that changed


def relevant(corpus: Path, index: Path | None, path: str) -> str | None:
    """The corpus-relative path if a change to `path` can change the index, else None:
    report files, folders, manifest.csv and corrections.csv (the admin's corrections of
    authority and date); not hidden files (a fetch's .part files),
    not the index."""
    p = Path(path)
    try:
        rel = p.relative_to(corpus)
    except ValueError:
        try:
            rel = p.resolve().relative_to(corpus.resolve())
        except (ValueError, OSError):
            return None
    if index is not None:
        try:
            if p.resolve().is_relative_to(index.resolve()):
                return None
        except OSError:
            pass
    if any(part.startswith(".") for part in rel.parts):
        return None
    # A folder counts too: files created in a new folder before the OS watches it, or a
    # folder of reports moved in or out whole, raise an event for the folder alone.
    # (A removed folder is gone and cannot be asked: a name with no extension is taken as one.)
    if p.suffix.lower() in SUFFIXES or rel.as_posix() in (MANIFEST, CORRECTIONS) or p.is_dir() or not p.suffix:
        return rel.as_posix()
    return None


class Watcher:
    """Calls `rebuild(changed paths)` after each quiet period that follows a change."""

    def __init__(self, corpus: Path, index: Path | None, rebuild: Rebuild, quiet_ms: int | None = None, st: WatchSettings = DEFAULTS.watch):
        self.corpus = Path(corpus).absolute()
        self.index = Path(index).absolute() if index is not None else None
        self.rebuild = rebuild
        self.settings = st
        self.quiet_ms = st.quiet_ms if quiet_ms is None else quiet_ms
        self.ready = threading.Event()  # set once the folder is being watched
        self.stopped = threading.Event()
        self.error = ""
        self._thread: threading.Thread | None = None

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self.run, name="watch", daemon=True)
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10) -> None:
        self.stopped.set()
        if self._thread:
            self._thread.join(timeout)

    def run(self) -> None:
        import watchfiles

        def keep(change, path: str) -> bool:
            return relevant(self.corpus, self.index, path) is not None

        try:
            for changes in watchfiles.watch(
                self.corpus,
                watch_filter=keep,
                debounce=self.settings.max_batch_ms,
                step=self.quiet_ms,
                stop_event=self.stopped,
                rust_timeout=self.settings.ready_ms,
                yield_on_timeout=True,  # an empty batch: the watcher is up and checks for stop
                raise_interrupt=False,
            ):
                self.ready.set()
                rels = sorted({r for _, p in changes if (r := relevant(self.corpus, self.index, p))})
                if rels and not self.stopped.is_set():
                    self.rebuild(rels)
        except Exception as exc:  # the folder vanished, or too many watches: say so, stop watching
            self.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.ready.set()


def watch_cli(corpus: Path, index: Path, workers: int = 2, rebuild: bool = False, quiet_ms: int = DEFAULTS.watch.quiet_ms) -> int:
    """`python -m assistant index --watch`: build, then re-build after each quiet change, until Ctrl-C."""
    import faulthandler
    import signal

    from ..index import embed
    from ..index.build import Busy, build_index
    from . import audit

    # A long-running process: `kill -USR1 <pid>` prints where each thread is, to stderr.
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    embedder = embed.load_embedder(cache_dir=Path(index) / "models")

    def build(who: str, from_scratch: bool = False) -> None:
        for _ in range(30):  # another build (the app, a fetch) holds the index: wait for it, a minute at most
            try:
                summary = build_index(corpus, index, rebuild=from_scratch, workers=workers, embedder=embedder)
                break
            except Busy:
                time.sleep(2)
            except Exception as exc:  # noqa: BLE001 - a bad moment (a file vanished mid-build): say so, keep watching
                print(f"re-index failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                audit.record(index, who, audit.REINDEX, (), f"failed: {type(exc).__name__}: {exc}")
                return
        else:
            print("re-index skipped: another build kept the index busy; the next change retries", file=sys.stderr, flush=True)
            return
        for line in summary.lines():
            print(line, flush=True)
        audit.record_build(index, corpus, who, summary)

    build(audit.COMMAND_LINE, rebuild)

    def changed(rels: list[str]) -> None:
        print(f"changed: {', '.join(rels[:5])}{' …' if len(rels) > 5 else ''}; re-indexing", file=sys.stderr, flush=True)
        build(audit.WATCH)

    watcher = Watcher(corpus, index, changed, quiet_ms).start()
    watcher.ready.wait(30)
    print(f"watching {corpus} for changes (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        while watcher.alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        watcher.stop()
    if watcher.error:
        print(f"error: watching stopped: {watcher.error}", file=sys.stderr)
        return 1
    return 0
