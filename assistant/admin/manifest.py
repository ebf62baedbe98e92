"""Manifests: lists of report links (CSV with path, local_authority, publication_date,
source_url; or links pasted one a line) read into fetch entries, and the corpus's own
`manifest.csv` (reports.corpus.MANIFEST) merged with the rows of what was fetched.

A manifest has the columns of `../shared/corpus/ofsted-ilacs/manifest.csv`: path
(where the file goes, relative to the corpus folder), local_authority,
publication_date, source_url; other columns are ignored. The rows of the files
brought in are merged into the corpus's own `manifest.csv`, which the build
reads for each report's link (and its authority and date where the report
itself does not say). The download itself: admin.download.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..durable import write_atomic
from ..reports.corpus import MANIFEST, PASTED_FOLDER
from ..settings import MB

COLUMNS = ("path", "local_authority", "publication_date", "source_url")

FETCHED, UNCHANGED, FAILED = "fetched", "unchanged", "failed"


@dataclass(frozen=True)
class Entry:
    """One report to fetch: where it goes in the corpus and where it comes from."""

    path: str
    source_url: str
    local_authority: str = ""
    published: str = ""


@dataclass(frozen=True)
class Outcome:
    path: str
    url: str
    status: str  # FETCHED, UNCHANGED or FAILED
    reason: str = ""
    sha256: str = ""
    size: int = 0


@dataclass
class FetchSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    def lines(self) -> list[str]:
        got = self.of(FETCHED)
        mb = sum(o.size for o in got) / MB
        out = [(f"fetched {len(got)} ({mb:.1f} MB), {len(self.of(UNCHANGED))} unchanged, {len(self.of(FAILED))} failed in {self.seconds:.1f} s")]
        out += [f"  failed: {o.path}: {o.reason}" for o in self.of(FAILED)]
        return out


class ManifestError(ValueError):
    """A manifest that cannot be read at all (not CSV, or without path and source_url columns)."""


# --- reading manifests and pasted links -------------------------------------------------


def check_path(rel: str) -> str:
    """`rel` if it is a safe corpus-relative PDF path, else a ValueError saying why."""
    if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        raise ValueError(f"{rel!r} is not a relative path")
    if any(p in ("", ".", "..") or p.startswith(".") for p in rel.split("/")):
        raise ValueError(f"{rel!r}: empty, '..' or hidden parts are not allowed")
    if not rel.lower().endswith(".pdf"):
        raise ValueError(f"{rel!r} does not end in .pdf")
    return rel


def _check_url(url: str) -> str:
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"{url!r} is not an http(s) link")
    return url


def entries_from_csv(text: str, origin: str = "manifest") -> tuple[list[Entry], list[Outcome]]:
    """Entries from manifest CSV text, and a failure for each row that cannot be used."""
    reader = csv.DictReader(io.StringIO(text))
    names = set(reader.fieldnames or ())
    if not {"path", "source_url"} <= names:
        raise ManifestError(f"{origin}: needs the columns path and source_url (has: {', '.join(sorted(names)) or 'none'})")
    entries: list[Entry] = []
    bad: list[Outcome] = []
    seen: set[str] = set()
    for n, row in enumerate(reader, start=2):
        rel, url = (row.get("path") or "").strip(), (row.get("source_url") or "").strip()
        try:
            check_path(rel)
            _check_url(url)
            if rel in seen:
                raise ValueError(f"{rel!r} is listed twice")
        except ValueError as exc:
            bad.append(Outcome(rel or f"{origin} line {n}", url, FAILED, f"{origin} line {n}: {exc}"))
            continue
        seen.add(rel)
        entries.append(Entry(rel, url, (row.get("local_authority") or "").strip(), (row.get("publication_date") or "").strip()))
    return entries, bad


def read_manifest(path: Path) -> tuple[list[Entry], list[Outcome]]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror or exc}") from None
    return entries_from_csv(text, str(path))


def entries_from_links(text: str) -> tuple[list[Entry], list[Outcome]]:
    """Pasted text: manifest CSV (a header with path and source_url), or one link a line,
    each saved as fetched/<last part of the link>.pdf."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and "source_url" in lines[0] and "path" in lines[0]:
        return entries_from_csv("\n".join(lines), "pasted manifest")
    entries: list[Entry] = []
    bad: list[Outcome] = []
    used: set[str] = set()
    for n, url in enumerate(lines, start=1):
        try:
            _check_url(url)
        except ValueError as exc:
            bad.append(Outcome(f"pasted line {n}", url, FAILED, f"pasted line {n}: {exc}"))
            continue
        stem = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
        stem = re.sub(r"\.pdf$", "", stem, flags=re.IGNORECASE)
        stem = re.sub(r"[^A-Za-z0-9 _,()'-]+", "_", stem).strip(" _") or "report"
        rel, k = f"{PASTED_FOLDER}/{stem[:120]}.pdf", 1
        while rel in used:
            k += 1
            rel = f"{PASTED_FOLDER}/{stem[:120]}-{k}.pdf"
        used.add(rel)
        entries.append(Entry(rel, url))
    return entries, bad


def merge_manifest(corpus: Path, entries: list[Entry], summary: FetchSummary) -> int:
    """Put the rows of the files now on disk into CORPUS/manifest.csv (atomically);
    the number of rows added or changed."""
    ok = {o.path for o in summary.outcomes if o.status in (FETCHED, UNCHANGED)}
    wanted = {e.path: e for e in entries if e.path in ok}
    path = corpus / MANIFEST
    fields = list(COLUMNS)
    rows: list[dict[str, str]] = []
    if path.is_file():
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields += [f for f in reader.fieldnames or () if f and f not in fields]
            rows = [{k: v for k, v in r.items() if k} for r in reader]
    changed = 0
    by_path = {r.get("path", ""): r for r in rows}
    for rel, e in wanted.items():
        new = {"path": rel, "local_authority": e.local_authority, "publication_date": e.published, "source_url": e.source_url}
        old = by_path.get(rel)
        if old is None:
            rows.append(new)
            by_path[rel] = new
            changed += 1
        elif any((old.get(k) or "") != v for k, v in new.items() if v or k == "source_url"):
            # A blank authority or date in the new row (a pasted link) keeps what was known.
            old.update({k: v for k, v in new.items() if v or k == "source_url"})
            changed += 1
    if changed:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        write_atomic(path, buf.getvalue().encode("utf-8"))
    return changed
