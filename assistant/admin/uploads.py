"""Report files the Admin tab adds or removes: an upload checked and saved under
`corpus/uploads/`, the uploaded files listed and reviewed (what each one's own text
states, beside the admin's correction), and a corpus file deleted."""

from __future__ import annotations

import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from ..reports import ingest, metadata
from ..reports.corpus import UPLOADS
from ..reports.document import ReportMeta
from ..settings import MB
from . import audit


@dataclass(frozen=True)
class UploadReview:
    """One uploaded file for the admin to check: what its text states, and the correction."""

    path: str
    read: ReportMeta | None  # None when the file could not be read (`error` says why)
    error: str
    correction: metadata.Correction | None


def sha_or_blank(path: Path) -> str:
    """The file's SHA-256, or "" when it is not there or cannot be read."""
    try:
        return ingest.sha256_file(path) if path.is_file() else ""
    except OSError:
        return ""


def save_upload(corpus: Path, src: Path, original_name: str, max_bytes: int, correcting: threading.Lock) -> str:
    """Copy one uploaded file into corpus/uploads/ after checking it; returns its corpus path.
    `correcting` is held while corrections.csv is written."""
    size = src.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{original_name}: {size / MB:.1f} MB is over the {max_bytes / MB:.0f} MB limit")
    with src.open("rb") as fh:
        # The same rule as ingestion and serving: a "%PDF-" header within the first 1 KB.
        if ingest.pdf_header_offset(fh.read(ingest.PDF_HEADER_WINDOW)) is None:
            raise ValueError(f"{original_name}: not a PDF (no %PDF- header in its first {ingest.PDF_HEADER_WINDOW} bytes)")
    stem = re.sub(r"[^A-Za-z0-9 ._,()'-]+", "_", Path(original_name).stem).strip(" ._") or "report"
    dest_dir = corpus / UPLOADS
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{stem[:120]}.pdf"
    n = 1
    while dest.exists():
        n += 1
        dest = dest_dir / f"{stem[:120]}-{n}.pdf"
    tmp = dest_dir / f".{dest.name}.part"
    shutil.copyfile(src, tmp)
    rel = dest.relative_to(corpus).as_posix()
    with correcting:
        # A correction left behind by a file of this name removed earlier is not this file's.
        metadata.write_correction(corpus, rel, None)
    os.replace(tmp, dest)
    return rel


def uploaded_files(corpus: Path) -> list[str]:
    """Corpus paths of the PDFs under uploads/: the reports whose metadata the admin may correct."""
    folder = corpus / UPLOADS
    if not folder.is_dir():
        return []
    return [p.relative_to(corpus).as_posix() for p in ingest.list_files(folder) if p.suffix.lower() == ".pdf"]


def delete_file(corpus: Path, index: Path, rel: str, who: str) -> str:
    """Remove corpus file `rel` and record it; ValueError saying why when refused."""
    root = corpus.resolve()
    if not rel or ".." in rel.split("/") or rel.startswith("/"):
        raise ValueError("choose a report to delete")
    path = root / rel
    if not path.resolve().is_relative_to(root) and not path.is_symlink():
        raise ValueError(f"{rel}: not in the corpus folder")
    if not (path.is_file() or path.is_symlink()):
        raise ValueError(f"{rel}: no such file")
    sha = sha_or_blank(path)
    path.unlink()
    audit.record(index, who, audit.DELETE, [audit.FileRef(rel, sha, "deleted")], "deleted")
    return rel
