"""Answers as Markdown for the browser (the files researchers export: app.exports; the
plain-text labels both use: app.labels).

Everything that comes from a report or a question is escaped here, before it
reaches a Markdown renderer: Gradio's sanitizer still lets an <img> through,
and a report must never make a reader's browser fetch an outside address or
show text that the report does not contain. Links are built only from the
corpus path and page (answer.file_link), never from text inside a PDF.
"""

from __future__ import annotations

import html
import re
from pathlib import PurePosixPath

from ..admin import audit
from ..language.vocab import grade_label
from ..search.answer import Answer, Hit, file_link
from ..settings import DEFAULTS
from .labels import RELEVANCE, date_label, filters_text, group_by_report, report_label

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; & < > become
# entities instead, so that no "<" ever reaches the renderer's own tag handling.
_MD_SPECIALS = re.compile(r"""([!"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~])""")


def escape_text(text: str) -> str:
    """Plain text -> Markdown that renders as exactly that text, on one line."""
    text = " ".join(text.split())
    return html.escape(_MD_SPECIALS.sub(r"\\\1", text), quote=False)


def link_markdown(url: str, text: str = "Link to this answer") -> str:
    """A link (app.permalink's: percent-encoded, http(s) or relative "?…") as Markdown; any
    character that could end the link or start markup is percent-encoded again."""
    if not re.match(r"(?:https?://|\?)", url or ""):
        return ""
    safe = re.sub(r"[\s<>()\[\]\\\"'`]", lambda m: f"%{ord(m.group(0)):02X}", url)
    return f"[{escape_text(text)}]({safe})"


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


def copy_block(h: Hit) -> str:
    """The citation as a code block: Gradio gives each code block a copy button."""
    text = " ".join(h.citation.split())
    fence = _fence(text)
    return f"{fence}text\n{text}\n{fence}"


def locator_line(h: Hit) -> str:
    """The one line under a quote: page, ¶ and a link opening the PDF at that page."""
    bits = [f"p\\. {h.page}"]
    if h.paragraph is not None:
        bits.append(f"¶ {h.paragraph}")
    return " · ".join(bits) + f" · [open PDF at p\\. {h.page}]({pdf_link(h)})"


def passage_markdown(h: Hit) -> str:
    """A quote, its one locator line, and the full citation folded away under "copy citation"
    (the report's title is shown once, in its group's heading)."""
    return "\n".join(
        [
            f"> {_emphasised(h.text, h.highlight)}",
            "",
            locator_line(h),
            "",
            "<details><summary>copy citation</summary>",
            "",
            copy_block(h),
            "",
            "</details>",
        ]
    )


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


def answer_markdown(a: Answer, searched_text: str | None = None, suggestions: tuple[str, ...] = (), order: str = RELEVANCE) -> str:
    """The chat reply: summary line, notes, then verbatim passages grouped by report."""
    parts = [summary_line(a, searched_text)]
    parts += [f"*Note: {escape_text(n)}\\.*" for n in a.notes]
    if a.also_searched:
        parts.append(f"*Also searched: {escape_text('; '.join(a.also_searched))}*")
    if not a.hits:
        if a.places_abstained:
            parts.append(f"**Not in this library:** {escape_text(a.abstained[:1].upper() + a.abstained[1:])}\\.")
        else:
            parts.append("No passage in the reports matches this question\\.")
        tries = (*a.suggestions, *suggestions)
        if tries:
            parts.append("Try: " + "; ".join(escape_text(s) for s in tries) + "\\.")
        return "\n\n".join(parts)
    for g in group_by_report(a.hits, order):
        parts.append(f"#### {escape_text(report_label(g.title, g.local_authority, g.published, g.source))}")
        parts += [passage_markdown(h) for h in g.hits]
    return "\n\n".join(parts)


def over_time_markdown(hits: list[Hit], authority: str, topic: str) -> str:
    """The best passage from each of one authority's reports, in date order (oldest first)."""
    head = f"### {escape_text(authority)} over time — “{escape_text(topic)}”"
    if not hits:
        return head + "\n\nNo passage in this authority's reports matches\\."
    parts = [head]
    for h in sorted(hits, key=lambda x: x.published or "9999"):
        title = " ".join((h.title or "").split()) or PurePosixPath(h.source).stem
        parts.append(f"#### {escape_text(date_label(h.published))} — {escape_text(title)}")
        parts.append(passage_markdown(h))
    return "\n\n".join(parts)


# --- across reports ------------------------------------------------------------------

ACROSS_TABLE_HEADERS = ("rank", "match", "authority", "published", "grade", "page", "¶", "passage")


def across_markdown(a, year: str | None = None, grade: str | None = None, most: int = DEFAULTS.app.across_shown) -> str:
    """An across-reports answer: the count, the concepts counted, then one best passage per report
    (full matches, then those in part); `year`/`grade` narrow to one bar of the chart."""
    parts = [f"**{escape_text(a.summary())}**"]
    if a.concepts:
        parts.append("Counted where a passage names every part of the question: " + " · ".join(escape_text(c.label) for c in a.concepts) + "\\.")
    parts += [f"*Note: {escape_text(n)}\\.*" for n in a.notes]
    undated = sum(1 for r in a.full if not r.year.isdigit())
    if undated:
        parts.append(f"*{undated} report{'s' if undated != 1 else ''} with no date {'are' if undated != 1 else 'is'} counted but not charted\\.*")
    full = a.rows_for(year, grade)
    partial = a.rows_for(year, grade, coverage="partial")
    if year or grade:
        which = " · ".join(escape_text(x if x != grade else grade_label(x)) for x in (year, grade) if x)
        parts.append(f"Showing **{which}**: {len(full)} report{'s' if len(full) != 1 else ''}\\.")
    shown = 0
    for title, rows in (("Reports discussing all of it", full), ("In part", partial)):
        if not rows:
            continue
        parts.append(f"### {title}")
        for r in rows:
            if shown >= most:
                break
            shown += 1
            parts.append(f"#### {r.rank}\\. {escape_text(report_label(r.title, r.local_authority, r.published, r.source))}")
            for p in r.passages:
                bits = [f"Under the judgement: {escape_text(p.judgement)}" if p.judgement else "", f"**{escape_text(grade_label(p.grade))}**"]
                if p.missing:
                    bits.append("does not mention " + ", ".join(escape_text(m) for m in p.missing))
                parts.append(" · ".join(b for b in bits if b))
                parts.append(passage_markdown(p.hit))
    if shown >= most and shown < len(full) + len(partial):
        parts.append(f"*The first {most} reports are shown; the table and the CSV export list all {len(full) + len(partial)}\\.*")
    return "\n\n".join(parts)


def across_table(a) -> list[list]:
    """One row per report for a gr.Dataframe (the passage shortened; the CSV has it whole)."""
    out = []
    for r in a.rows:
        h = r.best.hit
        text = " ".join(h.text.split())
        out.append(
            [
                r.rank,
                r.coverage,
                r.local_authority,
                r.published or "date not stated",
                r.grade,
                h.page,
                "" if h.paragraph is None else h.paragraph,
                text if len(text) <= 240 else text[:239] + "…",
            ]
        )
    return out


# --- the audit log ---------------------------------------------------------------


def audit_markdown(records: list[audit.Record]) -> str:
    """The audit log as the Admin tab's table, newest first."""
    if not records:
        return "No changes recorded yet."
    # escape_text escapes "|" too, so a cell cannot break the table.
    rows = ["| time (UTC) | who | action | files | outcome |", "|---|---|---|---|---|"]
    for r in records:
        files = "<br>".join(escape_text(f"{f.path} {f.sha256[:12]} {f.note}") for f in r.files[:10])
        if len(r.files) > 10:
            files += f"<br>… and {len(r.files) - 10} more"
        when = r.time.replace("T", " ").rstrip("Z")
        rows.append(f"| {when} | {escape_text(r.who)} | {r.action} | {files} | {escape_text(r.outcome)} |")
    return "\n".join(rows)
