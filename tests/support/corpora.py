"""Private corpus folders for tests that change or index them."""

from __future__ import annotations

import shutil
from pathlib import Path

# Sample reports the tests name (corpus/).
BEDFORD_2017 = "80428_bedford/children's services inspection - 07 april 2017.pdf"


def copy_corpus(src: Path, dst: Path, only: list[str] | None = None) -> Path:
    """A private corpus: all of `src`, or just the `only` report files, with manifest.csv."""
    if only is None:
        shutil.copytree(src, dst)
        return dst
    dst.mkdir(parents=True)
    shutil.copy2(src / "manifest.csv", dst / "manifest.csv")
    for rel in only:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dst / rel)
    return dst
