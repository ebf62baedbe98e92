"""The Library tab: every report of a generation, indexed or failed, as rows and as the
HTML table the tab shows (filtered by authority, year and overall grade, sorted by a column)."""

from __future__ import annotations

import html
from dataclasses import astuple, dataclass, fields, replace
from urllib.parse import quote

from ..index.disk import Generation
from ..language.vocab import GRADE_ORDER, GRADE_SHORT, Grade, JudgementArea
from ..reports.document import Judgement


@dataclass(frozen=True)
class LibraryRow:
    authority: str
    published: str
    title: str
    inspection_dates: str
    pages: int | None
    paragraphs: int | None
    overall: str
    judgements: str
    lead_inspector: str
    status: str  # "indexed" or "failed: <reason>"
    file: str


HEADERS = tuple(f.name.replace("_", " ") for f in fields(LibraryRow))


def rows(gen: Generation) -> list[LibraryRow]:
    """Indexed reports by authority then date, then the files that failed with their reasons."""
    out = []
    for r in sorted(gen.reports, key=lambda r: (r.meta.local_authority.lower(), r.meta.published)):
        m = r.meta
        out.append(
            LibraryRow(
                authority=m.local_authority,
                title=m.title,
                published=m.published,
                inspection_dates=m.inspection_dates,
                pages=r.pages,
                paragraphs=r.paragraphs,
                overall=m.overall,
                judgements=judgements_text(m.judgements),
                lead_inspector=m.lead_inspector,
                status="indexed",
                file=r.path,
            )
        )
    for f in sorted(gen.failures, key=lambda f: f.path):
        out.append(LibraryRow("", "", "", "", None, None, "", "", "", f"failed: {f.reason}", f.path))
    return out


def judgements_text(judgements: tuple[Judgement, ...]) -> str:
    """ "Leaders: Good; In care: RI" — the overall grade has its own column, and each
    area its short name (vocab.JudgementArea) so the column stays readable."""
    out = []
    for j in judgements:
        area = JudgementArea.of(j.area)
        if area is JudgementArea.OVERALL:
            continue
        g = Grade.parse(j.grade)
        grade = GRADE_SHORT.get(g, j.grade) if g else j.grade
        out.append(f"{area or j.area}: {grade}")
    return "; ".join(out)


def table(gen: Generation) -> list[list]:
    """Rows as lists (for a data frame or a file)."""
    return [list(astuple(r)) for r in rows(gen)]


# --- the Library tab's table: filtered, sorted, as HTML --------------------------------------

# The columns a header's button sorts by (every one); the default order is rows()'s.
SORTS = tuple(f.name for f in fields(LibraryRow))
DEFAULT_SORT = "authority"
_CLAMPED = ("title", "judgements", "file", "inspection_dates", "status", "overall")
_GRADE_RANK = {g: i for i, g in enumerate(GRADE_ORDER)}


def year_of(r: LibraryRow) -> str:
    return r.published[:4] if r.published[:4].isdigit() else ""


def grade_of(r: LibraryRow) -> str:
    """The overall grade's normalised name ("requires improvement"), or "" for none."""
    g = Grade.parse(r.overall or "")
    return g.value if g else ""


@dataclass(frozen=True)
class View:
    """What the Library tab shows: filters ("" leaves one open) and the column sorted by."""

    authority: str = ""
    year: str = ""
    grade: str = ""
    text: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False

    def sorted_by(self, column: str) -> View:
        """A header's button: sort by its column, or reverse the order if it is the sorted one."""
        if column not in SORTS:
            return self
        if column == self.sort:
            return replace(self, descending=not self.descending)
        return replace(self, sort=column, descending=False)


def filtered(rows_: list[LibraryRow], v: View) -> list[LibraryRow]:
    """The rows of one authority, year and overall grade whose cells contain `v.text` (any case)."""
    needle = " ".join((v.text or "").lower().split())
    out = []
    for r in rows_:
        if v.authority and r.authority != v.authority:
            continue
        if v.year and year_of(r) != v.year:
            continue
        if v.grade and grade_of(r) != v.grade:
            continue
        if needle and needle not in " ".join(str(x) for x in astuple(r) if x is not None).lower():
            continue
        out.append(r)
    return out


def sorted_rows(rows_: list[LibraryRow], column: str = DEFAULT_SORT, descending: bool = False) -> list[LibraryRow]:
    """Rows by one column, blanks (an undated report, a failed file's cells) last either way;
    ties keep rows()'s order (authority, then date). The overall grade sorts best first."""
    column = column if column in SORTS else DEFAULT_SORT

    def value(r: LibraryRow):
        if column == "overall":
            return _GRADE_RANK.get(grade_of(r), len(_GRADE_RANK))
        x = getattr(r, column)
        return x.lower() if isinstance(x, str) else x

    present = [r for r in rows_ if getattr(r, column) not in ("", None)]
    blank = [r for r in rows_ if getattr(r, column) in ("", None)]
    present.sort(key=value, reverse=descending)
    return present + blank


def choices(rows_: list[LibraryRow]) -> tuple[list[str], list[str], list[str]]:
    """The filters' options: the authorities, years and overall grades the rows hold."""
    authorities = sorted({r.authority for r in rows_ if r.authority}, key=str.lower)
    years = sorted({year_of(r) for r in rows_ if year_of(r)}, reverse=True)
    grades = [g for g in GRADE_ORDER if any(grade_of(r) == g for r in rows_)]
    return authorities, years, grades


def table_html(rows_: list[LibraryRow], v: View = View()) -> str:
    """The Library tab's table for view `v`: a caption saying how many of how many files, a
    header row whose buttons sort by their column (aria-sort on the sorted one), one row
    per file, an indexed report's title linking to its PDF. Every cell is escaped; the
    table scrolls inside its own region, its header row staying in sight."""
    shown = sorted_rows(filtered(rows_, v), v.sort, v.descending)
    esc = html.escape
    head = []
    for f in fields(LibraryRow):
        label = f.name.replace("_", " ")
        sort = ""
        arrow = ""
        if f.name == v.sort:
            sort = f' aria-sort="{"descending" if v.descending else "ascending"}"'
            arrow = " ▼" if v.descending else " ▲"
        head.append(
            f'<th scope="col" class="col-{f.name}"{sort}><button type="button" class="sort" data-sort="{f.name}">'
            f'{esc(label)}<span aria-hidden="true">{arrow}</span></button></th>'
        )
    body = []
    for r in shown:
        cells = []
        for f in fields(LibraryRow):
            x = getattr(r, f.name)
            text = "" if x is None else str(x)
            if f.name == "title" and r.status == "indexed" and text:
                cell = f'<a href="{esc("/report/" + quote(r.file))}" target="_blank" rel="noopener">{esc(text)}</a>'
            else:
                cell = esc(text)
            if f.name in _CLAMPED and cell:
                # Two lines at most, so that a screenful of rows shows; all of it on hover or focus.
                cell = f'<div class="clamp">{cell}</div>'
            cells.append(f'<td class="col-{f.name}">{cell}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"All {len(rows_)} report files" if len(shown) == len(rows_) else f"{len(shown)} of {len(rows_)} report files"
    caption += f", sorted by {v.sort.replace('_', ' ')} ({'descending' if v.descending else 'ascending'})"
    return (
        '<div class="library-scroll" role="region" aria-label="Library: every report file" tabindex="0">'
        f'<table class="library-table"><caption>{esc(caption)}</caption><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def view(gen: Generation, v: View = View()) -> str:
    return table_html(rows(gen), v)


# Added to the page's CSS (app.ui). Headers never wrap; cells wrap between words only.
CSS = """
.library-scroll { max-height: max(420px, calc(100vh - 250px)); overflow: auto; border: 1px solid #c6cbd1; border-radius: 6px; }
.library-table { border-collapse: collapse; width: 100%; font-size: .8rem; line-height: 1.3; color: #1f2937; }
.library-table caption { text-align: left; padding: .3em .5em; font-weight: 600; }
.library-table th { position: sticky; top: 0; z-index: 1; background: #eef1f4; text-align: left; padding: 0;
  white-space: nowrap; word-break: keep-all; overflow-wrap: normal; hyphens: none; border-bottom: 2px solid #6b7280; }
.library-table th button.sort { all: unset; box-sizing: border-box; display: block; width: 100%; padding: .35em .45em;
  cursor: pointer; font-weight: 600; white-space: nowrap; }
.library-table th button.sort:hover { background: #dde3ea; }
.library-table th button.sort:focus-visible { outline: 3px solid #1d4ed8; outline-offset: -3px; }
.library-table td { padding: .2em .45em; vertical-align: top; border-bottom: 1px solid #e1e4e8;
  word-break: normal; overflow-wrap: normal; hyphens: none; }
.library-table tbody tr:nth-child(even) { background: #f6f7f9; }
.library-table .clamp { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; }
.library-table tr:hover .clamp, .library-table .clamp:focus-within { -webkit-line-clamp: unset; overflow: visible; }
.library-table a { color: #1d4ed8; }
/* Each title link a target of 24 px at least (WCAG 2.5.8), however short the title. */
.library-table td.col-title .clamp { display: block; }
.library-table td.col-title a { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; min-height: 24px; }
.library-table tr:hover td.col-title a, .library-table td.col-title a:focus { -webkit-line-clamp: unset; overflow: visible; }
.library-table td.col-authority { min-width: 7.5em; }
.library-table td.col-title { min-width: 17em; }
.library-table td.col-inspection_dates { min-width: 7em; }
.library-table td.col-overall { min-width: 6.5em; }
.library-table td.col-judgements { min-width: 13em; }
.library-table td.col-lead_inspector { min-width: 6.5em; }
.library-table td.col-status { min-width: 5em; }
.library-table td.col-published, .library-table td.col-pages, .library-table td.col-paragraphs { white-space: nowrap; }
.library-table td.col-file { font-size: .75rem; color: #374151; min-width: 12em; overflow-wrap: break-word; }
"""
