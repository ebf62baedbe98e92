"""Answer formatting for the browser and the exports: verbatim, escaped, cited."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import replace
from urllib.parse import quote, unquote

import pytest
from markdown_it import MarkdownIt

from assistant.app.exports import export_csv, export_markdown
from assistant.app.labels import filters_text, group_by_report, nice_date
from assistant.app.markdown import answer_markdown, escape_text, over_time_markdown
from assistant.search.answer import Answer, Hit
from assistant.search.query import Filters

# CommonMark with raw HTML allowed, like the browser's renderer before its sanitizer.
MD = MarkdownIt("commonmark", {"html": True})

HOSTILE = (
    "<img src=x onerror=alert(1)> <script>alert(2)</script> [click](http://evil.example/x) "
    "![pic](http://evil.example/p.png) **bold** _it_ `code` # not a heading | a | b | "
    "www.evil.example https://evil.example/y $$x^2$$ &amp; &lt;b&gt; 1. list \\ back\\slash ~~del~~ <http://evil.example>"
)


def text_of(rendered: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered)).split())


def fold(s: str) -> str:
    return " ".join(s.split())


def hit(rank=1, source="80000_x/report a.pdf", text="A passage.", published="2020-05-01", page=3, paragraph=7, highlight=(), **kw) -> Hit:
    base = dict(
        rank=rank,
        score=1.0,
        source=source,
        title="Inspection of X",
        local_authority="X",
        published=published,
        page=page,
        paragraph=paragraph,
        section="",
        text=text,
        highlight=highlight,
        citation=f"Ofsted ({published[:4]}) Inspection of X, X, p. {page}.",
        url="",
    )
    base.update(kw)
    return Hit(**base)


@pytest.mark.parametrize("s", [HOSTILE, "plain words", "C:\\path\\to", "a\nb\tc", "100% * 2 = 200%"])
def test_escape_text_renders_as_exactly_the_text(s):
    rendered = MD.renderInline(escape_text(s))
    assert "<" not in escape_text(s)
    assert text_of(rendered) == fold(s)
    assert not re.search(r"<(img|script|a|strong|em|code|del)\b", rendered)


def test_hostile_passage_cannot_add_markup_or_links():
    h = hit(text=HOSTILE, highlight=("**bold**",), title="<img src=x>[t](http://evil.example)", local_authority="<b>LA</b>")
    md = answer_markdown(Answer("<img src=q onerror=alert(3)>", Filters(), (h,)))
    rendered = MD.render(md)
    assert "<img" not in rendered and "<script" not in rendered
    hrefs = re.findall(r'href="([^"]*)"', rendered)
    assert hrefs == ["/report/80000_x/report%20a.pdf#page=3"]  # only the link we build, from the path
    assert fold(HOSTILE) in text_of(rendered)
    assert "<mark>**bold**</mark>" in rendered  # the highlight is marked, its text still literal


def test_answer_lists_report_groups_by_best_passage_with_citations():
    hits = (
        hit(1, "a/old.pdf", "Old report passage one.", "2013-08-16", page=4, paragraph=12, title="Old report"),
        hit(
            2,
            "b/new.pdf",
            "New report passage. It has two sentences.",
            "2022-01-14",
            page=9,
            paragraph=None,
            title="New report",
            highlight=("It has two sentences.",),
        ),
        hit(3, "a/old.pdf", "Old report passage two.", "2013-08-16", page=5, paragraph=13, title="Old report"),
    )
    a = Answer("q", Filters(("bedford",), 2013, 2022), hits, authority_names={"bedford": "Bedford Borough"})
    md = answer_markdown(a)
    first = md.splitlines()[0]
    assert "Bedford Borough · 2013–2022" in first and "3 passages from 2 reports" in first
    rendered = MD.render(md)
    plain = text_of(rendered)
    # Relevance first: the report holding the best passage leads, whatever its date.
    assert plain.index("Old report passage one") < plain.index("Old report passage two") < plain.index("New report passage")
    assert "14 January 2022" in plain and "16 August 2013" in plain
    # The title once per report group, not once per passage.
    assert plain.count("Old report") == 1 + 2 and plain.count("Old report —") == 1
    assert "p. 4 · ¶ 12" in plain and "p. 5 · ¶ 13" in plain
    assert "p. 9 · open PDF" in plain  # no ¶ shown when the paragraph is unnumbered
    assert rendered.count("<blockquote>") == 3
    assert "<mark>It has two sentences.</mark>" in rendered
    assert 'href="/report/a/old.pdf#page=4"' in rendered
    # Each passage carries its full citation in a code block (the browser adds a copy
    # button to those), folded under "copy citation".
    assert rendered.count('<code class="language-text">') == 3
    assert rendered.count("<summary>copy citation</summary>") == 3

    by_date = text_of(MD.render(answer_markdown(a, order="date")))
    assert by_date.index("New report passage") < by_date.index("Old report passage one") < by_date.index("Old report passage two")


def test_report_without_metadata_is_labelled_cleanly():
    h = hit(source="uploads/my upload.pdf", title="", local_authority="", published="")
    plain = text_of(MD.render(answer_markdown(Answer("q", Filters(), (h,)))))
    assert "my upload — date not stated" in plain
    assert not re.search(r"—\s*,|,\s*,|,\s*$|—\s*$", plain.split("my upload", 1)[1].split("\n")[0])
    assert "Inspection report — ," not in plain and "date unknown" not in plain
    assert "date not stated — my upload" in text_of(MD.render(over_time_markdown([h], "X", "t")))


def test_real_answer_is_quoted_verbatim_and_cited(fake_searcher):
    a = fake_searcher.ask("Bedford 2017: how effective was the MASH?", k=5)
    assert a.hits, "the sample corpus answers this"
    md = answer_markdown(a)
    rendered = MD.render(md)
    plain = text_of(rendered)
    for h in a.hits:
        assert fold(h.text) in plain
        assert f"p. {h.page}" in plain
        if h.paragraph is not None:
            assert f"¶ {h.paragraph}" in plain
        for s in h.highlight:
            assert f"<mark>{html.escape(fold(s), quote=False)}" in rendered.replace("&quot;", '"')
    for href in re.findall(r'href="([^"]*)"', rendered):
        path, _, page = unquote(href).partition("#page=")
        assert path.removeprefix("/report/") in {h.source for h in a.hits} and page.isdigit()
    assert "Bedford" in md.splitlines()[0] and "2017" in md.splitlines()[0]


def test_no_match_says_so_and_suggests():
    a = Answer("q", Filters(("norfolk",), 2030, 2030), (), authority_names={"norfolk": "Norfolk"})
    md = answer_markdown(a, suggestions=("drop the year filter (2030)",))
    plain = text_of(MD.render(md))
    assert "no passage matched" in plain
    assert "No passage in the reports matches this question." in plain
    assert "drop the year filter (2030)" in plain
    assert "<blockquote>" not in MD.render(md)


def test_follow_up_topic_is_shown():
    a = Answer("and in 2022?", Filters(("bedford",), 2022, 2022), (hit(),), authority_names={"bedford": "Bedford"})
    first = answer_markdown(a, searched_text="care leavers").splitlines()[0]
    assert "Bedford · 2022" in text_of(MD.render(first)) and "“care leavers”" in text_of(MD.render(first))


def test_filters_text_and_dates():
    assert filters_text(Filters(), {}) == "all reports"
    assert filters_text(Filters(("a", "b"), 2019, None), {"a": "A"}) == "A · B · 2019 onwards"
    assert filters_text(Filters((), None, 2018), {}) == "up to 2018"
    assert nice_date("2025-08-27") == "27 August 2025"
    assert nice_date("2025-05-02") == "2 May 2025"
    assert nice_date("") == "date unknown"


def test_group_by_report_keeps_rank_order_within_a_report():
    hs = [hit(3, "a.pdf", published="2020-01-01"), hit(1, "a.pdf", published="2020-01-01"), hit(2, "b.pdf", published="")]
    groups = group_by_report(hs)
    assert [g.source for g in groups] == ["a.pdf", "b.pdf"]  # by best passage
    assert [h.rank for h in groups[0].hits] == [1, 3]
    hs = [hit(1, "u.pdf", published=""), hit(2, "n.pdf", published="2022-01-01"), hit(3, "o.pdf", published="2017-01-01")]
    assert [g.source for g in group_by_report(hs)] == ["u.pdf", "n.pdf", "o.pdf"]
    assert [g.source for g in group_by_report(hs, "date")] == ["n.pdf", "o.pdf", "u.pdf"]  # undated last


def test_exports_carry_quote_citation_page_paragraph_url(fake_searcher):
    a = fake_searcher.ask("Bedford 2017: how effective was the MASH?", k=4)
    rows = list(csv.DictReader(io.StringIO(export_csv(a, base_url="http://127.0.0.1:7860"))))
    assert len(rows) == len(a.hits)
    by_rank = {int(r["rank"]): r for r in rows}
    for h in a.hits:
        r = by_rank[h.rank]
        assert r["quote"] == h.text and r["citation"] == h.citation and r["page"] == str(h.page)
        assert r["paragraph"] == ("" if h.paragraph is None else str(h.paragraph))
        local = f"http://127.0.0.1:7860/report/{quote(h.source)}#page={h.page}"
        assert r["url"] == (h.url or local) and r["url"].endswith(f"#page={h.page}")
    md = export_markdown(a)
    for h in a.hits:
        assert f"Page {h.page}" in md
        assert fold(h.text) in text_of(MD.render(md))


def test_csv_cells_cannot_become_formulas():
    a = Answer("q", Filters(), (hit(text='=HYPERLINK("http://evil.example")', section="+1"),))
    row = next(csv.DictReader(io.StringIO(export_csv(a))))
    assert row["quote"].startswith("'=") and row["section"] == "'+1"


def test_over_time_is_in_date_order():
    hs = [hit(1, "n.pdf", "Newer.", "2022-01-14"), hit(1, "o.pdf", "Older.", "2017-04-07")]
    plain = text_of(MD.render(over_time_markdown(hs, "Bedford", "care leavers")))
    assert plain.index("7 April 2017") < plain.index("14 January 2022")
    assert plain.index("Older.") < plain.index("Newer.")
    assert "no passage" in text_of(MD.render(over_time_markdown([], "Bedford", "x"))).lower()


def test_user_question_in_summary_is_escaped():
    a = Answer("x", Filters(), (), authority_names={})
    md = answer_markdown(replace(a, question="y"), searched_text="<img src=x onerror=alert(1)>")
    assert "<img" not in MD.render(md)


def test_dates_name_months_in_full_whatever_spellings_the_date_reader_knows(monkeypatch):
    """nice_date once took its month names from the date reader's lookup (vocab.MONTHS)
    through a filter meant to keep full names only (`len(k) > 3 or k == "may"`): always
    true for that lookup, and it would have let an abbreviation such as "sept" through."""
    import importlib

    from assistant.app import labels
    from assistant.language import vocab

    monkeypatch.setitem(vocab.MONTHS, "sept", 9)
    monkeypatch.setitem(vocab.MONTHS, "jan", 1)
    try:
        fresh = importlib.reload(labels)
        assert fresh.nice_date("2017-09-14") == "14 September 2017"
        assert fresh.nice_date("2022-01-14") == "14 January 2022"
        assert fresh.nice_date("2025-05-02") == "2 May 2025"
    finally:
        monkeypatch.undo()
        importlib.reload(labels)
