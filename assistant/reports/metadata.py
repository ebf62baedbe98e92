"""Report metadata: an admin's correction first, then the report's own text, then
its file name, then an optional `manifest.csv` row. A field nothing states stays empty.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from ..durable import write_atomic
from ..language.vocab import (
    INSPECTION_DATES_RE,
    INSPECTOR_TITLE_RE,
    JUDGEMENT_ROW_RE,
    LEAD_INSPECTOR_RE,
    MONTHS,
    OVERALL_ROW_RE,
    PUBLISHED_RE,
    SIF_OVERALL_RE,
    TITLE_AUTHORITY_RE,
    printed_grade,
)
from .corpus import CORRECTIONS, MANIFEST
from .document import FRONT, HEADING, JUDGEMENT, Judgement, Paragraph, ReportMeta

_DATE_RE = re.compile(r"(\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+(\d{4})", re.IGNORECASE)


# An admin's corrections of what uploaded reports state, beside manifest.csv in the corpus
# folder. A file of its own, not manifest.csv rows: a fetch rewrites manifest.csv rows from
# the manifest it was given (admin.manifest.merge_manifest), which would silently undo a correction,
# and a manifest row only fills what the report does not say while a correction overrides
# what it does say. Two files, two precedences; the fetch code never touches this one.
CORRECTION_COLUMNS = ("path", "local_authority", "publication_date")
_MAX_AUTHORITY = 100  # longer than any English council's name ("Bournemouth, Christchurch and Poole": 35)
# Letters of any script, spaces and the punctuation councils' names use ("King's Lynn", "Brighton & Hove").
_AUTHORITY_RE = re.compile(r"^[^\W\d_](?:[^\W_]|[ '\u2019&,.()-])*$")


@dataclass(frozen=True)
class Correction:
    """What an admin says a report's authority and date are; they override the report's text.
    `published` "" leaves the date to the report."""

    local_authority: str
    published: str = ""  # ISO date


@dataclass(frozen=True)
class ManifestRow:
    """What the corpus folder says about one file besides its bytes: its manifest.csv row
    (gaps only) and an admin's correction (overrides). Carried together so every reader of
    a file (local workers, Ray tasks, `inspect`) applies the correction without new plumbing."""

    local_authority: str
    published: str
    source_url: str
    correction: Correction | None = None


def read_manifest(folder: Path) -> dict[str, ManifestRow]:
    """`manifest.csv` rows keyed by path relative to `folder`, each with its correction from
    `corrections.csv` (a corrected file without a manifest row gets a blank row); {} when neither exists."""
    path = folder / MANIFEST
    rows: dict[str, ManifestRow] = {}
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("path"):
                    rows[row["path"]] = ManifestRow(
                        (row.get("local_authority") or "").strip(),
                        (row.get("publication_date") or "").strip(),
                        (row.get("source_url") or "").strip(),
                    )
    for rel, fix in read_corrections(folder).items():
        rows[rel] = replace(rows.get(rel) or ManifestRow("", "", ""), correction=fix)
    return rows


def check_correction(authority: str, published: str) -> Correction:
    """An admin's correction made tidy, or ValueError saying exactly what is wrong with it."""
    name = " ".join((authority or "").split())
    if not name:
        raise ValueError("the local authority is empty: give the council's name, e.g. Bedford Borough")
    if len(name) > _MAX_AUTHORITY:
        raise ValueError(f"the local authority is {len(name)} characters long; a council's name is at most {_MAX_AUTHORITY}")
    if not _AUTHORITY_RE.match(name):
        raise ValueError(f"the local authority {name!r} has characters a council's name does not (letters, spaces, ' & , . ( ) - only)")
    day = (published or "").strip()
    if day:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            raise ValueError(f"the publication date {day!r} is not written YYYY-MM-DD (e.g. 2022-01-14)")
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"the publication date {day} does not exist") from None
        if parsed > date.today():
            raise ValueError(f"the publication date {day} is in the future")
    return Correction(name, day)


def read_corrections(folder: Path) -> dict[str, Correction]:
    """`corrections.csv` rows keyed by corpus path; {} when absent. A row edited by hand into
    something `check_correction` refuses is left out, so the report's own text stands."""
    path = folder / CORRECTIONS
    if not path.is_file():
        return {}
    out: dict[str, Correction] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                if row.get("path"):
                    out[row["path"]] = check_correction(row.get("local_authority") or "", row.get("publication_date") or "")
            except ValueError:
                continue
    return out


def write_correction(folder: Path, rel: str, fix: Correction | None) -> None:
    """Set (or with None, drop) the correction of corpus path `rel`. The file is replaced whole
    (temporary file, fsync, rename), so a crash leaves the old or the new one, never half.
    A build re-reads a file whose index entry lacks its correction; a dropped one has nothing to
    compare with, so an entry built with it keeps it until its bytes change or `index --rebuild`
    (the Admin tab only drops one for a new upload, whose entry is new anyway)."""
    rows = read_corrections(folder)
    if fix is None:
        if rel not in rows:
            return
        del rows[rel]
    else:
        rows[rel] = fix
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CORRECTION_COLUMNS)
    w.writerows((p, c.local_authority, c.published) for p, c in sorted(rows.items()))
    write_atomic(folder / CORRECTIONS, buf.getvalue().encode("utf-8"))


def corrected(meta: ReportMeta, row: ManifestRow | None) -> ReportMeta:
    """`meta` with the admin's correction in `row` applied (unchanged when there is none)."""
    fix = row.correction if row else None
    if fix is None:
        return meta
    return replace(meta, local_authority=fix.local_authority, published=fix.published or meta.published)


def parse_date(text: str) -> str:
    """First "14 January 2022"-style date in `text` as ISO, or ""."""
    m = _DATE_RE.search(text)
    if not m:
        return ""
    try:
        return date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1))).isoformat()
    except ValueError:
        return ""


def authority_from_path(rel_path: str) -> str:
    """The authority a corpus path's folder names, as written ("80428_bedford/x.pdf" ->
    "bedford"), or "" when the folder is not Ofsted's "<URN>_<authority>" (anything
    else says nothing). The one folder-name rule: metadata falls back to it, and the
    searcher keys its authority filter on it."""
    parts = rel_path.split("/")
    if len(parts) > 1 and (m := re.match(r"^\d+_(.+)$", parts[-2])):
        return m.group(1)
    return ""


def _clean_name(value: str) -> str:
    return INSPECTOR_TITLE_RE.sub("", value).strip(" ,")


def _title_case(name: str) -> str:
    small = {"and", "of", "the", "upon", "on", "with", "in"}
    words = re.split(r"(\s+|-)", name)
    return "".join(w if w in small or not w.strip() or w == "-" else w[:1].upper() + w[1:] for w in words)


def extract(paragraphs: list[Paragraph] | tuple[Paragraph, ...], rel_path: str, manifest: ManifestRow | None) -> ReportMeta:
    """A report's facts, read from its own paragraphs first.

    In: the report's paragraphs (with their kinds: front lines, judgement-table rows,
    headings), its corpus-relative path and its manifest.csv row if any. Out: title,
    authority, dates, lead inspector, overall grade and the page-1 judgement table.
    The report's text wins because it is what a reader can check; the file name
    ("... - 14 january 2022.pdf") and then the manifest only fill what the text does
    not say, so a report dropped in without a manifest row is still cited properly.
    A field nothing states stays "".
    """
    title = lead = dates = published = overall = authority = ""
    judgements: list[Judgement] = []
    first_page = [p for p in paragraphs if p.pages and p.pages[0] == 1]
    for p in first_page:
        if p.kind not in (FRONT, JUDGEMENT) and not title and p.kind == HEADING:
            title = p.text
    for p in paragraphs:
        if p.kind == FRONT:
            if (m := LEAD_INSPECTOR_RE.match(p.text)) and not lead:
                lead = _clean_name(m.group(1))
            elif (m := INSPECTION_DATES_RE.match(p.text)) and not dates:
                dates = m.group(1).strip()
            elif (m := PUBLISHED_RE.match(p.text)) and not published:
                published = parse_date(m.group(1))
        elif p.kind == JUDGEMENT:
            m = JUDGEMENT_ROW_RE.search(p.text)
            if m:
                judgements.append(Judgement(m.group(1), m.group(2)))
                if OVERALL_ROW_RE.match(m.group(1)):
                    overall = m.group(2)
        elif not lead and (m := LEAD_INSPECTOR_RE.match(p.text)):
            lead = _clean_name(m.group(1))
    # Older reports state the overall judgement as a sentence on page 1.
    if not overall:
        # Some print it over two lines that layout reads as two headings
        # ("Children's services in the Royal Borough of Kingston upon" / "Thames are good").
        texts = [p.text for p in first_page]
        pairs = [f"{a} {b}" for a, b in zip(texts, texts[1:], strict=False)]
        m = next((m for t in texts + pairs if (m := SIF_OVERALL_RE.search(t))), None)
        if m:
            # The sentence says "require improvement to be good"; the table's grade is "Requires ...".
            overall = printed_grade(m.group("grade"))
    for p in paragraphs[:12]:
        m = TITLE_AUTHORITY_RE.match(p.text)
        if m:
            authority = m.group(1).strip()
            break
    # Older reports open with the authority's name alone (the title is read from page 1 only).
    if not authority and title and len(title.split()) <= 6 and not title.lower().startswith("inspection"):
        authority = title
    if not authority and manifest and manifest.local_authority:
        authority = _title_case(manifest.local_authority)
    if not authority:
        authority = _title_case(authority_from_path(rel_path))
    if not published:
        published = parse_date(Path(rel_path).stem)
    if not published and manifest:
        published = manifest.published
    if title and title == authority:
        # "Bedford Borough" then "Inspection of services for ..." : the title is both.
        nxt = next((p.text for p in first_page if p.text != title and p.kind not in (FRONT, JUDGEMENT)), "")
        title = f"{title}: {nxt}" if nxt and len(nxt) < 240 else title
    # A footnote marker glued to the title's last word ("...Children Board1") is not part of it.
    title = re.sub(r"(?<=[a-z])\d{1,2}$", "", title)
    meta = ReportMeta(
        title=title,
        local_authority=authority,
        inspection_dates=dates,
        published=published,
        lead_inspector=lead,
        overall=overall,
        judgements=tuple(judgements),
        source_url=manifest.source_url if manifest else "",
    )
    # Last, so it beats the text: an admin corrected what this report states.
    return corrected(meta, manifest)
