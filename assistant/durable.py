"""Files written whole or not at all, and kept after a crash.

Write to a temporary file beside the target, fsync it, rename it over the
target (atomic on POSIX within one folder), then fsync the folder so the
rename itself survives a power cut. Readers see the old file or the new one,
never half of one. Used by the index store, the fetcher and the admin's
corrections file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the entries of folder `path` (new names, renames) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step."""
    # Unique per writer, and dot-named with a suffix no watcher or corpus scan takes for a report.
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
