"""The audit log: every change to the library, one JSON line each, beside the index.

`INDEX/audit.jsonl` is only ever appended to: each record is one `os.write` on a
file opened with O_APPEND (so records from the app, the command line and a
watcher never interleave), followed by fsync. Nothing rewrites or trims it.
A line torn by a crash mid-write is skipped when reading, never "repaired".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

AUDIT_FILE = "audit.jsonl"

# Who made a change.
ADMIN_TAB = "admin tab"
COMMAND_LINE = "command line"
WATCH = "watch"
APP = "app"  # the app itself, e.g. when it passes over a damaged generation at start

# What was done.
UPLOAD, FETCH, DELETE, REINDEX, FALLBACK = "upload", "fetch", "delete", "reindex", "fallback"
CORRECT = "correct"  # an admin's correction of a report's authority or date


@dataclass(frozen=True)
class FileRef:
    path: str  # corpus-relative
    sha256: str  # "" when the file is gone or could not be read
    note: str = ""  # e.g. "indexed", "removed", "refused: not a PDF"


@dataclass(frozen=True)
class Record:
    time: str  # ISO 8601, UTC
    who: str
    action: str
    files: tuple[FileRef, ...]
    outcome: str

    def to_json(self) -> dict:
        return {
            "time": self.time,
            "who": self.who,
            "action": self.action,
            "files": [{"path": f.path, "sha256": f.sha256, "note": f.note} for f in self.files],
            "outcome": self.outcome,
        }

    @classmethod
    def from_json(cls, d: dict) -> Record:
        files = tuple(FileRef(str(f.get("path", "")), str(f.get("sha256", "")), str(f.get("note", ""))) for f in d.get("files") or ())
        return cls(str(d["time"]), str(d["who"]), str(d["action"]), files, str(d.get("outcome", "")))

    def line(self) -> str:
        """One line for a terminal: time, who, action, outcome, file count."""
        n = len(self.files)
        files = f" ({n} file{'s' if n != 1 else ''})" if n else ""
        return f"{self.time}  {self.who}  {self.action}{files}: {self.outcome}"


def admin(client: str | None) -> str:
    """ "admin tab (192.0.2.7)": who, for a change made in the browser."""
    return f"{ADMIN_TAB} ({client})" if client else ADMIN_TAB


def log_path(index_dir: Path) -> Path:
    return Path(index_dir) / AUDIT_FILE


def record(index_dir: Path, who: str, action: str, files: Iterable[FileRef], outcome: str) -> Record:
    """Append one record and make it durable before returning."""
    rec = Record(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), who, action, tuple(files), outcome)
    data = (json.dumps(rec.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
    path = log_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # after a line torn by a crash: start a line of our own
        # One write call per record: with O_APPEND the kernel places it whole at the end.
        written = os.write(fd, data)
        if written != len(data):  # a full disk; the torn line is skipped when reading
            raise OSError(f"{path}: audit record cut short ({written} of {len(data)} bytes written)")
        os.fsync(fd)
    finally:
        os.close(fd)
    return rec


def read(index_dir: Path, n: int | None = None) -> list[Record]:
    """The last `n` records (all when None), newest first."""
    path = log_path(index_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out: list[Record] = []
    for raw in reversed(data.splitlines()):
        if n is not None and len(out) >= n:
            break
        try:
            out.append(Record.from_json(json.loads(raw)))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a line torn by a crash mid-write
    return out


def file_refs(corpus: Path, rels: Iterable[str], note: str = "") -> tuple[FileRef, ...]:
    """Each corpus file with its SHA-256 as it is on disk now ("" if it is not there)."""
    from ..reports.ingest import sha256_file

    out = []
    for rel in rels:
        try:
            sha = sha256_file(Path(corpus) / rel)
        except OSError:
            sha = ""
        out.append(FileRef(rel, sha, note))
    return tuple(out)


def build_files(corpus: Path, summary) -> tuple[FileRef, ...]:
    """The files a build changed: indexed ones with their hashes, removed and failed ones by name."""
    return (
        file_refs(corpus, summary.indexed, "indexed")
        + tuple(FileRef(rel, "", "removed") for rel in summary.removed)
        + file_refs(corpus, [f.path for f in summary.failed], "failed")
    )


def build_outcome(summary) -> str:
    """The summary's lines (generation, counts, any note on why it rebuilt) as one string."""
    return "; ".join(line.strip() for line in summary.lines() if not line.strip().startswith("failed:"))


def record_build(index_dir: Path, corpus: Path, who: str, summary) -> Record:
    return record(index_dir, who, REINDEX, build_files(corpus, summary), "ok: " + build_outcome(summary))


def record_fallback(index_dir: Path, who: str, damaged: str, served: str, reasons: Iterable[str]) -> Record | None:
    """Record that generation `damaged` was passed over for `served`, once per pair."""
    outcome = f"generation {damaged} is damaged; serving {served}: " + "; ".join(reasons)
    for r in read(index_dir, 200):
        if r.action == FALLBACK and r.outcome.startswith(f"generation {damaged} is damaged; serving {served}:"):
            return None
    return record(index_dir, who, FALLBACK, (), outcome)


def check_fallback(index_dir: Path, served: str, warnings: Iterable[str], who: str) -> list[str]:
    """Warnings to show about the generation being served, recording a fallback in the log
    (once) when CURRENT was passed over for an older generation."""
    from ..index.disk import current_name

    lines = list(warnings)
    current = current_name(Path(index_dir))
    if current and current != served:
        lines.insert(
            0, f"index generation {current} is damaged; answering from the older generation {served} (`python -m assistant index` rebuilds it)"
        )
        try:
            record_fallback(index_dir, who, current, served, warnings)
        except OSError as exc:  # a read-only index folder: the warning still shows
            lines.append(f"could not record this in {log_path(index_dir)}: {exc.strerror or exc}")
    return lines
