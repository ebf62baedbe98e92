"""Answers as Markdown for the browser, and as CSV/Markdown files for researchers.

Everything that comes from a report or a question is escaped here, before it
reaches a Markdown renderer: Gradio's sanitizer still lets an <img> through,
and a report must never make a reader's browser fetch an outside address or
show text that the report does not contain. Links are built only from the
corpus path and page (answer.file_link), never from text inside a PDF.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass

from .answer import Answer, Hit, file_link
from .metadata import MONTHS
from .query import Filters

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; & < > become
# entities instead, so that no "<" ever reaches the renderer's own tag handling.
_MD_SPECIALS = re.compile(r"""([!"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~])""")
# A lighter escape for exported Markdown files, which people also read raw.
_EXPORT_SPECIALS = re.compile(r"([\\`*_\[\]#|~$!])")
_MONTH_NAMES = {v: k.capitalize() for k, v in MONTHS.items() if len(k) > 3 or k == "may"}


def escape_text(text: str) -> str:
    """Plain text -> Markdown that renders as exactly that text, on one line."""
    text = " ".join(text.split())
    return html.escape(_MD_SPECIALS.sub(r"\\\1", text), quote=False)


def _escape_export(text: str) -> str:
    text = " ".join(text.split())
    return html.escape(_EXPORT_SPECIALS.sub(r"\\\1", text), quote=False)


def nice_date(iso: str) -> str:
    """"2022-01-14" -> "14 January 2022"; anything else unchanged."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not m or int(m.group(2)) not in _MONTH_NAMES:
        return iso or "date unknown"
    return f"{int(m.group(3))} {_MONTH_NAMES[int(m.group(2))]} {m.group(1)}"


def year_text(f: Filters) -> str:
    if f.year_from and f.year_to:
        return str(f.year_from) if f.year_from == f.year_to else f"{f.year_from}–{f.year_to}"
    if f.year_from:
        return f"{f.year_from} onwards"
    if f.year_to:
        return f"up to {f.year_to}"
    return ""


def filters_text(f: Filters, names: dict[str, str]) -> str:
    """"Bedford · 2017", or "all reports" when nothing narrows the search (plain text)."""
    bits = [names.get(a, a.title()) for a in f.authorities]
    if y := year_text(f):
        bits.append(y)
    if f.reports:
        bits.append(f"{len(f.reports)} selected report{'s' if len(f.reports) != 1 else ''}")
    return " · ".join(bits) if bits else "all reports"


def pdf_link(h: Hit) -> str:
    return file_link(h.source, h.page)


def _escape_piece(text: str) -> str:
    """Like escape_text, but keeps a single space at either end: pieces are joined."""
    return html.escape(_MD_SPECIALS.sub(r"\\\1", re.sub(r"\s+", " ", text)), quote=False)


def _emphasised(text: str, highlights: tuple[str, ...]) -> str:
    """Escaped passage with the highlighted sentences marked; highlights are exact substrings."""
    spans: list[tuple[int, int]] = []
    for s in highlights:
        pos = text.find(s) if s else -1
        if pos >= 0 and not any(a < pos + len(s) and pos < b for a, b in spans):
            spans.append((pos, pos + len(s)))
    out, at = [], 0
    for a, b in sorted(spans):
        out.append(_escape_piece(text[at:a]))
        out.append("<mark>" + escape_text(text[a:b]) + "</mark>")
        at = b
    out.append(_escape_piece(text[at:]))
    return "".join(out).strip()


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def citation_line(h: Hit) -> str:
    """The visible citation under a passage: title, authority, date, page, ¶, link to the PDF page."""
    bits = [f"*{escape_text(h.title or 'Inspection report')}*", escape_text(h.local_authority or "authority unknown"), nice_date(h.published), f"p\\. {h.page}"]
    if h.paragraph is not None:
        bits.append(f"¶ {h.paragraph}")
    return "— " + " · ".join(bits) + f" · [open PDF at p\\. {h.page}]({pdf_link(h)})"


def copy_block(h: Hit) -> str:
    """The citation as a code block: Gradio gives each code block a copy button."""
    text = " ".join(h.citation.split())
    fence = _fence(text)
    return f"{fence}text\n{text}\n{fence}"


def passage_markdown(h: Hit) -> str:
    return "\n".join([f"> {_emphasised(h.text, h.highlight)}", "", citation_line(h), "", copy_block(h)])


@dataclass(frozen=True)
class ReportGroup:
    source: str
    title: str
    local_authority: str
    published: str
    hits: tuple[Hit, ...]


def group_by_report(hits: tuple[Hit, ...] | list[Hit]) -> list[ReportGroup]:
    """Passages grouped by report, newest report first, best passage first within one."""
    by: dict[str, list[Hit]] = {}
    for h in hits:
        by.setdefault(h.source, []).append(h)
    groups = [
        ReportGroup(src, hs[0].title, hs[0].local_authority, hs[0].published, tuple(sorted(hs, key=lambda x: x.rank)))
        for src, hs in by.items()
    ]
    # Undated reports last; ties keep relevance order.
    groups.sort(key=lambda g: (g.published or "0000"), reverse=True)
    return groups


def summary_line(a: Answer, searched_text: str | None = None) -> str:
    """One line: what was searched and how much matched (Markdown)."""
    reports = len({h.source for h in a.hits})
    what = escape_text(filters_text(a.filters, a.authority_names))
    topic = f" for “{escape_text(searched_text)}”" if searched_text and searched_text != a.question else ""
    if not a.hits:
        return f"**Searched:** {what}{topic} — no passage matched\\."
    p = "passage" if len(a.hits) == 1 else "passages"
    r = "report" if reports == 1 else "reports"
    return f"**Searched:** {what}{topic} — {len(a.hits)} {p} from {reports} {r}\\."


def answer_markdown(a: Answer, searched_text: str | None = None, suggestions: tuple[str, ...] = ()) -> str:
    """The chat reply: summary line, notes, then verbatim passages grouped by report."""
    parts = [summary_line(a, searched_text)]
    parts += [f"*Note: {escape_text(n)}\\.*" for n in a.notes]
    if not a.hits:
        parts.append("No passage in the reports matches this question\\.")
        if suggestions:
            parts.append("Try: " + "; ".join(escape_text(s) for s in suggestions) + "\\.")
        return "\n\n".join(parts)
    for g in group_by_report(a.hits):
        head = f"#### {escape_text(g.title or 'Inspection report')} — {escape_text(g.local_authority)}, {nice_date(g.published)}"
        parts.append(head)
        parts += [passage_markdown(h) for h in g.hits]
    return "\n\n".join(parts)


def over_time_markdown(hits: list[Hit], authority: str, topic: str) -> str:
    """The best passage from each of one authority's reports, in date order (oldest first)."""
    head = f"### {escape_text(authority)} over time — “{escape_text(topic)}”"
    if not hits:
        return head + "\n\nNo passage in this authority's reports matches\\."
    parts = [head]
    for h in sorted(hits, key=lambda x: x.published or "9999"):
        parts.append(f"#### {nice_date(h.published)} — {escape_text(h.title or 'Inspection report')}")
        parts.append(passage_markdown(h))
    return "\n\n".join(parts)


# --- exports -------------------------------------------------------------------

EXPORT_COLUMNS = ("rank", "quote", "highlight", "citation", "title", "local_authority", "published", "page", "paragraph", "section", "url")


def export_url(h: Hit, base_url: str = "") -> str:
    """The public report URL at the page when the manifest gives one, else this app's link."""
    return h.url or (base_url.rstrip("/") + pdf_link(h))


def _cell(value: object) -> str:
    s = "" if value is None else str(value)
    # A spreadsheet would run a cell starting with these as a formula.
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def export_csv(a: Answer, base_url: str = "") -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EXPORT_COLUMNS)
    for g in group_by_report(a.hits):
        for h in g.hits:
            w.writerow(
                [_cell(x) for x in (
                    h.rank, h.text, " … ".join(h.highlight), h.citation, h.title, h.local_authority,
                    h.published, h.page, h.paragraph, h.section, export_url(h, base_url),
                )]
            )
    return buf.getvalue()


def export_markdown(a: Answer, base_url: str = "") -> str:
    lines = [f"# {_escape_export(a.question)}", "", f"Searched: {_escape_export(filters_text(a.filters, a.authority_names))}", ""]
    if not a.hits:
        lines.append("No passage in the reports matches this question.")
    for g in group_by_report(a.hits):
        lines += [f"## {_escape_export(g.title or 'Inspection report')} — {_escape_export(g.local_authority)}, {nice_date(g.published)}", ""]
        for h in g.hits:
            para = f", ¶ {h.paragraph}" if h.paragraph is not None else ""
            lines += [
                f"> {_escape_export(h.text)}",
                "",
                f"{_escape_export(h.citation)}",
                "",
                f"Page {h.page}{para} — <{export_url(h, base_url)}>",
                "",
            ]
    return "\n".join(lines)
