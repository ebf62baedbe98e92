"""Answers as files researchers keep: CSV and Markdown of the passages, BibTeX, RIS
and CSL-JSON of the cited reports, and the across-reports table as CSV.

A report is the citable work; the passages cited from it are locators (page and
numbered paragraph), which the citation formats carry in their note field:
BibTeX `note`, RIS `N1`, CSL-JSON `note` (CSL-JSON has no item-level locator).
Every writer takes the answer's own hits, so a file says exactly what the
screen showed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..search.answer import Answer, Hit, file_link
from .labels import filters_text, group_by_report, report_label

PUBLISHER = "Ofsted"
REPORT_TYPE = "Children's services inspection report"
NO_DATE = "date not stated"

# --- passages: CSV and Markdown ---------------------------------

EXPORT_COLUMNS = (
    "rank",
    "quote",
    "highlight",
    "citation",
    "title",
    "local_authority",
    "published",
    "page",
    "paragraph",
    "section",
    "url",
    "judgement",
    "grade",
    "answer_link",  # the link that reproduces the answer (app.permalink), the same on every row
)


def export_url(h: Hit, base_url: str = "") -> str:
    """The public report URL at the page when the manifest gives one, else this app's link."""
    return h.url or (base_url.rstrip("/") + file_link(h.source, h.page))


def _cell(value: object) -> str:
    s = "" if value is None else str(value)
    # A spreadsheet would run a cell starting with these as a formula.
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def _grade_fields(h: Hit) -> tuple[str, str]:
    # Hits carry the judgement they sit under once ingestion records it (issue 11 item 1).
    return getattr(h, "judgement", "") or "", getattr(h, "grade", "") or ""


def export_csv(a: Answer, base_url: str = "", link: str = "") -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EXPORT_COLUMNS)
    for g in group_by_report(a.hits):
        for h in g.hits:
            w.writerow(
                [
                    _cell(x)
                    for x in (
                        h.rank,
                        h.text,
                        " … ".join(h.highlight),
                        h.citation,
                        h.title,
                        h.local_authority,
                        h.published,
                        h.page,
                        h.paragraph,
                        h.section,
                        export_url(h, base_url),
                        *_grade_fields(h),
                        link,
                    )
                ]
            )
    return buf.getvalue()


def _link(url: str) -> str:
    """A link for an autolink <...>: percent-encoded already (app.permalink); anything that
    could end the autolink or start markup is encoded too."""
    return re.sub(r"[<>\s\"'`]", lambda m: f"%{ord(m.group(0)):02X}", url)


_EXPORT_SPECIALS = re.compile(r"([\\`*_\[\]#|~$!])")


def _escape_export(text: str) -> str:
    import html

    text = " ".join(text.split())
    return html.escape(_EXPORT_SPECIALS.sub(r"\\\1", text), quote=False)


def export_markdown(a: Answer, base_url: str = "", link: str = "") -> str:
    lines = [
        f"# {_escape_export(a.question)}",
        "",
        f"Searched: {_escape_export(filters_text(a.filters, a.authority_names))}",
        "",
    ]
    if link:
        lines += [f"Link to this answer: <{_link(link)}>", ""]
    if not a.hits:
        lines.append("No passage in the reports matches this question.")
    for g in group_by_report(a.hits):
        lines += [
            f"## {_escape_export(report_label(g.title, g.local_authority, g.published, g.source))}",
            "",
        ]
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


# --- cited reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class CitedReport:
    """One report and the places cited from it, in the order first cited."""

    key: str  # citation key, unique within one export
    source: str
    title: str
    local_authority: str
    published: str  # ISO date or ""
    url: str  # the report itself (no page anchor)
    locators: tuple[tuple[int, int | None], ...]  # (page, paragraph)
    judgements: tuple[str, ...] = ()  # "judgement: grade" of the cited passages, where known

    @property
    def year(self) -> str:
        return self.published[:4] if self.published[:4].isdigit() else ""

    @property
    def display_title(self) -> str:
        """The printed title, or the file name for a report that gives none."""
        return self.title or PurePosixPath(self.source).stem

    def locator_text(self) -> str:
        """ "p. 3, para. 4; p. 7" — every place cited."""
        return "; ".join(f"p. {p}, para. {n}" if n is not None else f"p. {p}" for p, n in self.locators)

    def note(self) -> str:
        bits = [self.local_authority, f"cited: {self.locator_text()}"]
        if not self.published:
            bits.append(NO_DATE)
        if self.judgements:
            bits.append("under the judgement " + "; ".join(self.judgements))
        return ". ".join(b for b in bits if b)


def cited_reports(hits, base_url: str = "", judgement_of: dict[str, str] | None = None) -> list[CitedReport]:
    """The reports behind `hits`, each once with all its cited pages and paragraphs.
    `judgement_of`: chunk id -> "judgement: grade", for hits that do not carry it."""
    order: list[str] = []
    by: dict[str, list[Hit]] = {}
    for h in hits:
        if h.source not in by:
            order.append(h.source)
        by.setdefault(h.source, []).append(h)
    used: dict[str, int] = {}
    out = []
    for src in order:
        hs = by[src]
        h0 = hs[0]
        locs: list[tuple[int, int | None]] = []
        for h in hs:
            if (h.page, h.paragraph) not in locs:
                locs.append((h.page, h.paragraph))
        judgements = []
        for h in hs:
            j, g = _grade_fields(h)
            label = f"{j}: {g}" if j and g else (j or g) or (judgement_of or {}).get(h.chunk_id, "")
            if label and label not in judgements:
                judgements.append(label)
        url = export_url(h0, base_url).split("#")[0]
        out.append(
            CitedReport(
                _key(h0, used),
                src,
                h0.title,
                h0.local_authority,
                h0.published,
                url,
                tuple(locs),
                tuple(judgements),
            )
        )
    return out


def _key(h: Hit, used: dict[str, int]) -> str:
    who = (
        re.sub(
            r"[^a-z0-9]+",
            "",
            (h.local_authority or PurePosixPath(h.source).parent.name or "report").lower(),
        )[:30]
        or "report"
    )
    base = f"ofsted{h.published[:4] if h.published[:4].isdigit() else 'nd'}{who}"
    n = used.get(base, 0)
    used[base] = n + 1
    return base if n == 0 else f"{base}{chr(ord('a') + n - 1) if n <= 26 else n}"


# --- BibTeX -------------------------------------------------------------------------------

_BIB_SPECIAL = re.compile(r"([\\{}&%$#_^~])")
_BIB_REPLACE = {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}"}


def _bib(text: str) -> str:
    """A field value safe inside braces: LaTeX specials escaped, braces never unbalanced."""
    text = " ".join(str(text).split())
    return _BIB_SPECIAL.sub(lambda m: _BIB_REPLACE.get(m.group(1), "\\" + m.group(1)), text)


def _bib_field(name: str, value: str) -> str:
    if name == "author":
        return value  # already braced
    if name == "url":
        # Read verbatim by biblatex and the url package: escaping "%20" would break it.
        return value.replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")
    return _bib(value)


def bibtex(reports: list[CitedReport]) -> str:
    out = []
    for r in reports:
        fields = [
            ("title", r.display_title),
            (
                "author",
                "{" + PUBLISHER + "}",
            ),  # a corporate author: braced so it is not split into names
            ("institution", PUBLISHER),
            ("type", REPORT_TYPE),
            ("year", r.year),
            ("date", r.published),
            ("url", r.url),
            ("note", r.note()),
            ("keywords", r.local_authority),
        ]
        body = ",\n".join(f"  {name} = {{{_bib_field(name, value)}}}" for name, value in fields if value)
        out.append(f"@techreport{{{r.key},\n{body}\n}}\n")
    return "\n".join(out)


# --- RIS ------------------------------------------------------------------------------------


def _ris(text: str) -> str:
    return " ".join(str(text).split())


def ris(reports: list[CitedReport]) -> str:
    lines: list[str] = []
    for r in reports:
        lines.append("TY  - RPRT")
        lines.append(f"TI  - {_ris(r.display_title)}")
        lines.append(f"AU  - {PUBLISHER}")
        lines.append(f"PB  - {PUBLISHER}")
        lines.append(f"M3  - {REPORT_TYPE}")
        if r.year:
            lines.append(f"PY  - {r.year}")
        if r.published:
            lines.append(f"DA  - {r.published.replace('-', '/')}")
        if r.local_authority:
            lines.append(f"KW  - {_ris(r.local_authority)}")
        if r.url:
            lines.append(f"UR  - {r.url}")
        lines.append(f"N1  - {_ris(r.note())}")
        lines.append(f"ID  - {r.key}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)


# --- CSL-JSON -----------------------------------------------------------------------------


def csl_json(reports: list[CitedReport]) -> str:
    items = []
    for r in reports:
        item: dict = {
            "id": r.key,
            "type": "report",
            "title": r.display_title,
            "author": [{"literal": PUBLISHER}],
            "publisher": PUBLISHER,
            "genre": REPORT_TYPE,
            "note": r.note(),
        }
        if r.published:
            item["issued"] = {"date-parts": [[int(x) for x in r.published.split("-") if x.isdigit()]]}
        if r.url:
            item["URL"] = r.url
        if r.local_authority:
            item["keyword"] = r.local_authority
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


# --- across reports ---------------------------------------------------------------------------

ACROSS_COLUMNS = (
    "rank",
    "coverage",
    "local_authority",
    "published",
    "year",
    "title",
    "overall",
    "judgement",
    "grade",
    "page",
    "paragraph",
    "quote",
    "citation",
    "url",
    "score",
    "source",
    "answer_link",  # the link that reproduces the across answer (app.permalink)
)


def across_csv(a, base_url: str = "", link: str = "") -> str:
    """One row per report of a themes.AcrossAnswer: its best passage."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(ACROSS_COLUMNS)
    for r in a.rows:
        p = r.best
        h = p.hit
        w.writerow(
            [
                _cell(x)
                for x in (
                    r.rank,
                    r.coverage,
                    r.local_authority,
                    r.published,
                    r.year,
                    r.title or PurePosixPath(r.source).stem,
                    r.overall,
                    p.judgement,
                    p.grade,
                    h.page,
                    h.paragraph,
                    h.text,
                    h.citation,
                    export_url(h, base_url),
                    round(h.score, 4),
                    r.source,
                    link,
                )
            ]
        )
    return buf.getvalue()


def across_cited(a, base_url: str = "") -> list[CitedReport]:
    """The reports of a themes.AcrossAnswer, rows in order, for the citation formats."""
    passages = [p for r in a.rows for p in r.passages]
    labels = {p.hit.chunk_id: f"{p.judgement}: {p.grade}" if p.judgement else p.grade for p in passages}
    return cited_reports([p.hit for p in passages], base_url, labels)
