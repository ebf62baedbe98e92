"""Report metadata: from the report's own text first, then its file name, then
an optional `manifest.csv` row. A field the report does not state stays empty.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .document import FRONT, JUDGEMENT, Judgement, Paragraph, ReportMeta

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "january february march april may june july august september october november december".split()
    )
}
_DATE_RE = re.compile(r"(\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+(\d{4})", re.IGNORECASE)
_LEAD_RE = re.compile(r"^(?:Lead|Reporting) inspector\s*:?\s*(.+)$", re.IGNORECASE)
_DATES_RE = re.compile(r"^Inspection dates?\s*:?\s*(.+)$", re.IGNORECASE)
_PUBLISHED_RE = re.compile(r"^(?:Report )?published\s*:?\s*(.+)$", re.IGNORECASE)
_TITLE_LA_RE = re.compile(r"^Inspection of (.+?) local authority children", re.IGNORECASE)
_SIF_OVERALL_RE = re.compile(
    r"Children\u2019?'?s services in (.+?) (?:are|is|require|requires) "
    r"(outstanding|good|inadequate|improvement to be good|adequate)\b",
    re.IGNORECASE,
)
_OVERALL_ROW_RE = re.compile(r"^Overall effectiveness\b", re.IGNORECASE)
_INSPECTOR_TITLE_RE = re.compile(r",?\s*(Her|His) Majesty\u2019?'?s Inspector.*$|,?\s*\bS?HMI\b.*$")


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


def _authority_from_folder(rel_path: str) -> str:
    # Ofsted's folders are "<URN>_<authority>"; anything else says nothing.
    parts = rel_path.split("/")
    if len(parts) > 1:
        m = re.match(r"^\d+_(.+)$", parts[-2])
        if m:
            return m.group(1)
    return ""


def _clean_name(value: str) -> str:
    return _INSPECTOR_TITLE_RE.sub("", value).strip(" ,")


def _title_case(name: str) -> str:
    small = {"and", "of", "the", "upon", "on", "with", "in"}
    words = re.split(r"(\s+|-)", name)
    return "".join(w if w in small or not w.strip() or w == "-" else w[:1].upper() + w[1:] for w in words)


def extract(paragraphs: list[Paragraph] | tuple[Paragraph, ...], rel_path: str, manifest: ManifestRow | None) -> ReportMeta:
    title = lead = dates = published = overall = authority = ""
    judgements: list[Judgement] = []
    first_page = [p for p in paragraphs if p.pages and p.pages[0] == 1]
    for p in first_page:
        if p.kind not in (FRONT, JUDGEMENT) and not title and p.kind == "heading":
            title = p.text
    for p in paragraphs:
        if p.kind == FRONT:
            if (m := _LEAD_RE.match(p.text)) and not lead:
                lead = _clean_name(m.group(1))
            elif (m := _DATES_RE.match(p.text)) and not dates:
                dates = m.group(1).strip()
            elif (m := _PUBLISHED_RE.match(p.text)) and not published:
                published = parse_date(m.group(1))
        elif p.kind == JUDGEMENT:
            m = re.search(
                r"^(?:\d(?:\.\d)?\.?\s+)?(.+?)\s+(Requires\s+[Ii]mprovement(?:\s+to\s+be\s+good)?|Outstanding|Good|Inadequate|Adequate)$",
                p.text,
            )
            if m:
                judgements.append(Judgement(m.group(1), m.group(2)))
                if _OVERALL_ROW_RE.match(m.group(1)):
                    overall = m.group(2)
        elif not lead and (m := _LEAD_RE.match(p.text)):
            lead = _clean_name(m.group(1))
    # Older reports state the overall judgement as a sentence on page 1.
    if not overall:
        for p in first_page:
            m = _SIF_OVERALL_RE.search(p.text)
            if m:
                grade = m.group(2).lower()
                # The sentence says "require improvement to be good"; the table's grade is "Requires ...".
                overall = f"Requires {m.group(2)}" if grade.startswith("improvement") else grade.capitalize()
                break
    for p in paragraphs[:12]:
        m = _TITLE_LA_RE.match(p.text)
        if m:
            authority = m.group(1).strip()
            break
    if not authority and title and p.pages and len(title.split()) <= 6 and not title.lower().startswith("inspection"):
        authority = title  # older reports open with the authority's name alone
    if not authority and manifest and manifest.local_authority:
        authority = _title_case(manifest.local_authority)
    if not authority:
        authority = _title_case(_authority_from_folder(rel_path))
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
