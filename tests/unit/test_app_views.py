"""The page's own views, without a browser (issue 20): the chart by year and grade (app.chart),
links that reproduce an answer (app.permalink) and the Library table (app.library).
The browser test (tests/e2e/test_browser_access.py) checks what a person sees of them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from assistant.app import chart, library, permalink
from assistant.app.library import LibraryRow, View
from assistant.language.vocab import Grade
from assistant.search.themes import Tally, concepts
from assistant.settings import DEFAULT_K, MAX_K


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


TALLY = (Tally("2017", "good", 2), Tally("2017", "inadequate", 1), Tally("2019", "requires improvement", 3), Tally("undated", "good", 4))


def test_chart_draws_a_bar_per_year_and_grade_with_axis_legend_and_text_alternative():
    html = chart.chart_html(TALLY, "Reports by year & <grade>", "t")
    p = _parse(html)
    bars = [a for t, a in p.tags if t == "rect" and "bar" in a.get("class", "")]
    assert sorted((b["data-year"], b["data-grade"], int(b["data-reports"])) for b in bars) == [
        ("2017", "good", 2),
        ("2017", "inadequate", 1),
        ("2019", "requires improvement", 3),
    ]  # the undated report is counted elsewhere, not charted
    assert all(float(b["height"]) > 0 for b in bars)
    # Heights are proportional to the counts; the 2017 stack is as tall as its 3 reports.
    h = {(b["data-year"], b["data-grade"]): float(b["height"]) for b in bars}
    assert abs(h[("2017", "good")] + h[("2017", "inadequate")] - h[("2019", "requires improvement")]) < 0.2
    svg = next(a for t, a in p.tags if t == "svg")
    assert svg["role"] == "img" and svg["aria-labelledby"] == "t-title t-desc"
    text = " ".join(p.text)
    assert "6 reports from 2017 to 2019" in text and "2017: Good 2, Inadequate 1" in text
    assert "2018" in text  # the gap year is on the axis
    assert "Reports by year &amp; &lt;grade&gt;" in html and "<grade>" not in html
    assert [x for x in p.text if x in ("Good", "Requires improvement", "Inadequate")][:3] == ["Good", "Requires improvement", "Inadequate"]
    assert "<table>" in html and '<th scope="row">2019</th>' in html


def test_chart_of_nothing_says_so_and_its_ticks_are_whole_numbers():
    assert "No dated reports" in chart.chart_html((), "x", "t")
    p = _parse(chart.chart_html((Tally("2020", "good", 37),), "x", "t"))
    ticks = [t for t in p.text if re.fullmatch(r"\d+", t.strip())]
    assert "0" in ticks and "40" in ticks and "2020" in ticks
    assert chart.description(()) == "No dated reports to chart."


def test_framing_words_are_never_concepts():
    labels = [c.label for c in concepts("what did inspectors say about early help performance data?")]
    assert labels == ["early help", "performance", "data"]
    assert [c.label for c in concepts("tell me about caseloads")] == ["caseloads"]


def _params(query: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(query.lstrip("?"), keep_blank_values=True)


NAMES = {"bedford": "Bedford Borough", "blackpool": "Blackpool"}
GRADES = ("outstanding", "good", "requires improvement", "adequate", "inadequate", "not graded")


def test_a_link_round_trips_what_shaped_the_answer():
    link = permalink.Link(q="how well are care leavers supported?", authorities=("bedford",), year_from=2017, year_to=2022, order="date", k=3)
    qs = permalink.query_string(link)
    assert qs.startswith("?q=how%20well") and "&authority=bedford&from=2017&to=2022&order=date&k=3" in qs
    assert permalink.parse(_params(qs), NAMES, GRADES) == link
    across = permalink.Link(q="MASH", tab="across", grades=("good", "inadequate"), per_report=2, year_from=2018)
    assert permalink.parse(_params(permalink.query_string(across)), NAMES, GRADES) == across
    assert permalink.url(link, "http://host:7860/") == "http://host:7860/" + qs
    assert permalink.page_address("http://host:7860/app/?q=old#x") == "http://host:7860/app/"
    assert permalink.page_address("javascript:alert(1)") == "" and permalink.page_address(None) == ""


def test_hostile_values_in_a_link_are_data_or_dropped():
    hostile = {
        "q": ["<script>alert(1)</script>\x00\u202e" + "x" * 5000],
        "authority": ["<b>x</b>", "../../etc", "Bedford Borough", "bedford"],
        "from": ["abc"],
        "to": ["99999999"],
        "tab": ["<img src=x>"],
        "order": ["javascript:alert(1)"],
        "k": ["-7"],
        "grade": ["<i>", "good"],
        "per_report": ["1e9"],
    }
    link = permalink.parse(hostile, NAMES, GRADES)
    assert link.q.startswith("<script>alert(1)</script>") and len(link.q) == permalink.MAX_QUESTION  # text, kept as text
    assert "\x00" not in link.q and "\u202e" not in link.q
    assert link.authorities == ("bedford",)  # by key or by name, once; unknown ones dropped
    assert (link.year_from, link.year_to, link.tab, link.order, link.k) == (None, None, "ask", "relevance", DEFAULT_K)
    assert link.grades == ("good",) and link.per_report == 1
    assert permalink.parse({"k": ["500"]}).k == MAX_K and permalink.parse({}).k == DEFAULT_K
    assert permalink.parse({"from": ["2022"], "to": ["2017"]}) == permalink.Link(year_from=2017, year_to=2022)
    # What goes back out is percent-encoded: no markup, no quote or space survives.
    out = permalink.query_string(link)
    assert not re.search(r"[<>\"' ()]", out)


# The report's own overall line, as page 1 prints it (the grade's label: the test reads no eval text).
RI = Grade.REQUIRES_IMPROVEMENT.label
ROWS = [
    LibraryRow(
        "Bedford",
        "2025-08-27",
        "Inspection of Bedford",
        "14 to 18 July 2025",
        11,
        91,
        RI,
        "",
        "A",
        "indexed",
        "b/1.pdf",
    ),
    LibraryRow("Bedford", "2017-04-07", "Bedford: Inspection", "2017", 35, 254, "Good", "", "B", "indexed", "b/2.pdf"),
    LibraryRow("Norfolk", "", "Inspection <of> Norfolk", "", 23, 123, "", "", "C", "indexed", "n/3.pdf"),
    LibraryRow("", "", "", "", None, None, "", "", "", "failed: not a PDF", "x/4.pdf"),
]


def test_library_filters_sorts_and_escapes():
    assert library.filtered(ROWS, View(authority="Bedford", year="2017")) == [ROWS[1]]
    assert library.filtered(ROWS, View(grade="requires improvement")) == [ROWS[0]]
    assert library.filtered(ROWS, View(text="NORFOLK")) == [ROWS[2]]
    assert [r.published for r in library.sorted_rows(ROWS, "published")] == ["2017-04-07", "2025-08-27", "", ""]
    assert [r.published for r in library.sorted_rows(ROWS, "published", descending=True)][:2] == ["2025-08-27", "2017-04-07"]
    assert [r.overall for r in library.sorted_rows(ROWS, "overall")][:2] == ["Good", RI]
    v = View().sorted_by("published")
    assert (v.sort, v.descending) == ("published", False) and v.sorted_by("published").descending
    assert View().sorted_by("<script>") == View()
    assert library.choices(ROWS) == (["Bedford", "Norfolk"], ["2025", "2017"], ["good", "requires improvement"])
    html = library.table_html(ROWS, View(authority="Bedford", sort="published", descending=True))
    assert "2 of 4 report files" in html and 'aria-sort="descending"' in html
    assert html.count("<tr>") == 3  # the header row and two reports
    assert "Inspection <of>" not in library.table_html(ROWS) and "Inspection &lt;of&gt;" in library.table_html(ROWS)
    assert 'href="/report/b/1.pdf"' in html
