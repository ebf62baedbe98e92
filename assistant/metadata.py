"""Report metadata: from the report's own text first, then its file name, then
an optional `manifest.csv` row. A field the report does not state stays empty.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .document import FRONT, HEADING, JUDGEMENT, Judgement, Paragraph, ReportMeta
from .vocab import (
    INSPECTION_DATES_RE,
    INSPECTOR_TITLE_RE,
    JUDGEMENT_ROW_RE,
    LEAD_INSPECTOR_RE,
    OVERALL_ROW_RE,
    PUBLISHED_RE,
    SIF_OVERALL_RE,
    TITLE_AUTHORITY_RE,
    printed_grade,
)

# Month names in full, in order: dates are read and written with these.
MONTH_NAMES = tuple("january february march april may june july august september october november december".split())
MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES)}
_DATE_RE = re.compile(r"(\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+(\d{4})", re.IGNORECASE)


@dataclass(frozen=True)
class ManifestRow:
    local_authority: str
    published: str
    source_url: str


def read_manifest(folder: Path) -> dict[str, ManifestRow]:
    """`manifest.csv` rows keyed by path relative to `folder`; {} when absent."""
    path = folder / "manifest.csv"
    if not path.is_file():
        return {}
    rows: dict[str, ManifestRow] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("path"):
                rows[row["path"]] = ManifestRow(
                    row.get("local_authority", "").strip(),
                    row.get("publication_date", "").strip(),
                    row.get("source_url", "").strip(),
                )
    return rows


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
    return ReportMeta(
        title=title,
        local_authority=authority,
        inspection_dates=dates,
        published=published,
        lead_inspector=lead,
        overall=overall,
        judgements=tuple(judgements),
        source_url=manifest.source_url if manifest else "",
    )
