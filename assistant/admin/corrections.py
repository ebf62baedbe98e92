"""An admin's corrections of an uploaded report's authority and date: checked, kept in
`corpus/corrections.csv` (reports.metadata reads them at every build) and recorded."""

from __future__ import annotations

import threading
from pathlib import Path

from ..reports import metadata
from ..reports.corpus import UPLOADS
from . import audit


def save_correction(
    corpus: Path, index: Path, uploaded: list[str], rel: str, authority: str, published: str, who: str, correcting: threading.Lock
) -> metadata.Correction:
    """Store the admin's authority and date for uploaded file `rel` (one of `uploaded`; they
    override the report's text from the next re-index on) and record it; ValueError saying
    why when refused. `correcting` is held while corrections.csv is read and written."""
    if rel not in uploaded:
        raise ValueError(f"{rel or 'no file'}: choose an uploaded report (a PDF under {UPLOADS}/)")
    fix = metadata.check_correction(authority, published)
    with correcting:
        before = metadata.read_corrections(corpus).get(rel)
        metadata.write_correction(corpus, rel, fix)
    note = f"authority {fix.local_authority}; published {fix.published or 'as the report states'}"
    if before:
        note += f" (was {before.local_authority}; {before.published or 'as the report states'})"
    audit.record(index, who, audit.CORRECT, audit.file_refs(corpus, [rel], note), "corrected; applies from the next re-index")
    return fix
