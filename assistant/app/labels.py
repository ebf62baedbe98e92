"""Answers' plain-text labels, shared by the browser's Markdown (app.markdown) and the
exported files (app.exports): dates, report names, the filters searched with, and
passages grouped by report. Nothing here escapes: each renderer escapes for its format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..language.vocab import MONTH_NAMES
from ..search.answer import Hit
from ..search.query import Filters

# From the full names, not the date reader's lookup, which may also hold other spellings.
_MONTH_NAMES = {i + 1: m.capitalize() for i, m in enumerate(MONTH_NAMES)}


def nice_date(iso: str) -> str:
    """ "2022-01-14" -> "14 January 2022"; anything else unchanged."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not m or int(m.group(2)) not in _MONTH_NAMES:
        return iso or "date unknown"
    return f"{int(m.group(3))} {_MONTH_NAMES[int(m.group(2))]} {m.group(1)}"


def date_label(iso: str) -> str:
    """A report's date for a heading: "14 January 2022", or "date not stated"."""
    return nice_date(iso) if iso else "date not stated"


def report_label(title: str, authority: str, published: str, source: str) -> str:
    """ "Title — Authority, 14 January 2022" as plain text; a report without metadata is
    named by its file and "date not stated", with no empty part or stray punctuation."""
    name = " ".join((title or "").split()) or PurePosixPath(source or "").stem or "Inspection report"
    who = " ".join((authority or "").split())
    if who and who.lower() in name.lower():
        who = ""  # "Blackpool Borough Council: Inspection of ..." names it already: once is enough
    rest = ", ".join(b for b in (who, date_label(published)) if b)
    return f"{name} — {rest}"


def year_text(f: Filters) -> str:
    if f.year_from and f.year_to:
        return str(f.year_from) if f.year_from == f.year_to else f"{f.year_from}–{f.year_to}"
    if f.year_from:
        return f"{f.year_from} onwards"
    if f.year_to:
        return f"up to {f.year_to}"
    return ""


def filters_text(f: Filters, names: dict[str, str]) -> str:
    """ "Bedford · 2017", or "all reports" when nothing narrows the search (plain text)."""
    bits = [names.get(a, a.title()) for a in f.authorities]
    if y := year_text(f):
        bits.append(y)
    if f.reports:
        bits.append(f"{len(f.reports)} selected report{'s' if len(f.reports) != 1 else ''}")
    return " · ".join(bits) if bits else "all reports"


@dataclass(frozen=True)
class ReportGroup:
    source: str
    title: str
    local_authority: str
    published: str
    hits: tuple[Hit, ...]


RELEVANCE = "relevance"
DATE = "date"
ORDERS = (RELEVANCE, DATE)


def group_by_report(hits: tuple[Hit, ...] | list[Hit], order: str = RELEVANCE) -> list[ReportGroup]:
    """Passages grouped by report, best passage first within one; groups in the order of
    their best passage (RELEVANCE), or newest report first (DATE, undated last)."""
    by: dict[str, list[Hit]] = {}
    for h in hits:
        by.setdefault(h.source, []).append(h)
    groups = [
        ReportGroup(src, hs[0].title, hs[0].local_authority, hs[0].published, tuple(sorted(hs, key=lambda x: x.rank))) for src, hs in by.items()
    ]
    groups.sort(key=lambda g: g.hits[0].rank)
    if order == DATE:
        # Undated reports last; ties keep relevance order.
        groups.sort(key=lambda g: g.published or "0000", reverse=True)
    return groups
