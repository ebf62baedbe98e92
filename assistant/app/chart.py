"""Reports by year and grade as a bar chart drawn on the server: an SVG with its axis,
legend and a text alternative (a one-sentence description and the same counts as a table).

Drawn here rather than by a plotting library in the browser: the picture is fixed when
the answer is (a Vega-Lite chart in a tab laid out its bars only on a full-page capture),
it needs no script, and what a screen reader gets is written next to what is drawn.
Every value shown is a year (four digits), a grade from GRADE_ORDER, or a count, and is
HTML-escaped all the same.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

from ..language.vocab import GRADE_COLOURS, GRADE_ORDER, NOT_GRADED
from ..language.vocab import grade_label as _label
from ..search.themes import Tally

WIDTH, HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 12, 12, 44  # room for the axis labels and titles


def _colour(grade: str) -> str:
    return GRADE_COLOURS.get(grade, GRADE_COLOURS[NOT_GRADED])


def _step(top: int) -> int:
    """A tick step giving at most about five ticks, in 1-2-5 steps."""
    if top <= 5:
        return 1
    raw = top / 5
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _counts(tally: Iterable[Tally]) -> dict[str, dict[str, int]]:
    by: dict[str, dict[str, int]] = {}
    for t in tally:
        if t.year.isdigit() and t.reports > 0:
            by.setdefault(t.year, {})
            by[t.year][t.grade] = by[t.year].get(t.grade, 0) + t.reports
    return by


def description(tally: Iterable[Tally], what: str = "reports") -> str:
    """The chart in one sentence, for its text alternative: the total and each year's counts."""
    by = _counts(tally)
    if not by:
        return f"No dated {what} to chart."
    total = sum(sum(g.values()) for g in by.values())
    order = {g: i for i, g in enumerate(GRADE_ORDER)}
    years = []
    for y in sorted(by):
        gs = sorted(by[y].items(), key=lambda kv: order.get(kv[0], len(order)))
        years.append(f"{y}: " + ", ".join(f"{_label(g)} {n}" for g, n in gs))
    return f"{total} {what} from {min(by)} to {max(by)}. " + "; ".join(years) + "."


def chart_html(tally: Iterable[Tally], title: str, chart_id: str) -> str:
    """The chart as an HTML fragment: a <figure> holding the SVG (role img, labelled by its
    title and description), the legend and a table of the counts. Empty tally: a sentence."""
    tally = tuple(tally)
    by = _counts(tally)
    esc = html.escape
    if not by:
        return (
            f'<figure class="report-chart" id="{esc(chart_id)}-figure"><figcaption>{esc(title)}</figcaption>'
            "<p>No dated reports to chart yet.</p></figure>"
        )
    years = [str(y) for y in range(int(min(by)), int(max(by)) + 1)]  # every year: gaps show as gaps
    grades = [g for g in GRADE_ORDER if any(g in by.get(y, {}) for y in years)]
    grades += sorted({g for y in by for g in by[y]} - set(grades))
    top = max(sum(g.values()) for g in by.values())
    step = _step(top)
    ymax = step * math.ceil(top / step)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    slot = plot_w / len(years)
    bar_w = max(4.0, min(48.0, slot * 0.7))
    desc = description(tally)
    tid, did = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="report-chart-svg" role="img" aria-labelledby="{esc(tid)} {esc(did)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{esc(tid)}">{esc(title)}</title><desc id="{esc(did)}">{esc(desc)}</desc>',
    ]
    # The y axis: gridlines and whole-number ticks; its title turned along it.
    for v in range(0, ymax + 1, step):
        y = _TOP + plot_h - plot_h * v / ymax
        parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{v}</text>')
    mid = _TOP + plot_h / 2
    parts.append(f'<text x="14" y="{mid:.1f}" transform="rotate(-90 14 {mid:.1f})" text-anchor="middle" class="axis-title">Reports</text>')
    # The x axis: a label under every year (every other one when they crowd).
    every = 1 if slot >= 34 else 2 if slot >= 17 else 5
    base = _TOP + plot_h
    parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{base}" y2="{base}" class="axis"/>')
    for i, year in enumerate(years):
        cx = _LEFT + slot * (i + 0.5)
        if i % every == 0 or year == years[-1]:
            parts.append(f'<text x="{cx:.1f}" y="{base + 16}" text-anchor="middle" class="tick">{esc(year)}</text>')
    parts.append(f'<text x="{_LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" class="axis-title">Year published</text>')
    # The bars: one stack per year, grades bottom to top in GRADE_ORDER.
    for i, year in enumerate(years):
        acc = 0
        x = _LEFT + slot * (i + 0.5) - bar_w / 2
        for g in grades:
            n = by.get(year, {}).get(g, 0)
            if not n:
                continue
            y0 = base - plot_h * (acc + n) / ymax
            h = plot_h * n / ymax
            acc += n
            tip = f"{year}, {_label(g)}: {n} report{'s' if n != 1 else ''}"
            parts.append(
                f'<rect class="bar" data-year="{esc(year)}" data-grade="{esc(g)}" data-reports="{n}" x="{x:.1f}" y="{y0:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{_colour(g)}"><title>{esc(tip)}</title></rect>'
            )
    parts.append("</svg>")
    legend = "".join(f'<li><span class="swatch" style="background:{_colour(g)}"></span>{esc(_label(g))}</li>' for g in grades)
    head = "".join(f'<th scope="col">{esc(_label(g))}</th>' for g in grades)
    rows = "".join(
        f'<tr><th scope="row">{esc(y)}</th>' + "".join(f"<td>{by[y].get(g, 0)}</td>" for g in grades) + f"<td>{sum(by[y].values())}</td></tr>"
        for y in sorted(by)
    )
    table = (
        f'<details class="chart-table"><summary>The counts as a table</summary><table><caption>{esc(title)}</caption>'
        f'<thead><tr><th scope="col">Year</th>{head}<th scope="col">All</th></tr></thead><tbody>{rows}</tbody></table></details>'
    )
    return (
        f'<figure class="report-chart" id="{esc(chart_id)}-figure"><figcaption aria-hidden="true">{esc(title)}</figcaption>'
        + "".join(parts)
        + f'<ul class="legend" aria-label="Grades">{legend}</ul>{table}</figure>'
    )


# Styles for the chart, added to the page's CSS (ui.CSS).
CSS = """
.report-chart { margin: 0; }
.report-chart figcaption { font-weight: 600; margin-bottom: .3em; }
.report-chart-svg { display: block; max-width: 100%; height: auto; }
.report-chart { color: #1f2937; }
.report-chart-svg .grid { stroke: #d0d4da; stroke-width: 1; }
.report-chart-svg .axis { stroke: #333; stroke-width: 1; }
.report-chart-svg .tick { font-size: 12px; fill: #333; }
.report-chart-svg .axis-title { font-size: 13px; fill: #222; font-weight: 600; }
.report-chart-svg .bar { stroke: #fff; stroke-width: 1; cursor: pointer; }
.report-chart-svg .bar:hover { opacity: .8; }
.report-chart .legend { list-style: none; display: flex; flex-wrap: wrap; gap: .4em 1.2em; padding: 0; margin: .4em 0; }
.report-chart .legend li { display: flex; align-items: center; gap: .4em; }
.report-chart .swatch { display: inline-block; width: 1em; height: 1em; border-radius: 2px; }
.report-chart .chart-table table { border-collapse: collapse; margin-top: .4em; }
.report-chart .chart-table th, .report-chart .chart-table td { border: 1px solid #c6cbd1; padding: .15em .5em; text-align: right; }
.report-chart .chart-table caption { text-align: left; }
"""
