"""Exports researchers' tools read: BibTeX, RIS and CSL-JSON parsed back with real
libraries (bibtexparser, rispy), and the across-reports table as CSV."""

from __future__ import annotations

import csv
import io
import json

import bibtexparser
import pytest
import rispy

from assistant.app import exports
from assistant.search.answer import Hit


def hit(
    rank=1,
    source="80000_x/report a.pdf",
    page=3,
    paragraph=7,
    published="2020-05-01",
    **kw,
) -> Hit:
    base = {
        "rank": rank,
        "score": 1.0,
        "source": source,
        "title": "Inspection of X local authority children’s services",
        "local_authority": "X",
        "published": published,
        "page": page,
        "paragraph": paragraph,
        "section": "",
        "text": "A passage.",
        "highlight": (),
        "citation": f"Ofsted ({published[:4]}) X, p. {page}.",
        "url": "",
    }
    base.update(kw)
    return Hit(**base)


HOSTILE_TITLE = "Inspection of {Odd} & 100% $weird_title #1 ~ ^ \\ }unbalanced{"


@pytest.fixture(scope="module")
def real_answer(fake_searcher):
    a = fake_searcher.ask("how well are care leavers supported?", k=8)
    assert len({h.source for h in a.hits}) >= 2, "the sample corpus answers this from several reports"
    return a


def test_one_entry_per_report_with_every_cited_page_and_paragraph():
    hits = [
        hit(1, "a.pdf", 3, 7),
        hit(2, "b.pdf", 9, None, published=""),
        hit(3, "a.pdf", 5, 12),
        hit(4, "a.pdf", 3, 7),
    ]
    reps = exports.cited_reports(hits, base_url="http://127.0.0.1:7860")
    assert [r.source for r in reps] == ["a.pdf", "b.pdf"]
    assert reps[0].locators == ((3, 7), (5, 12))
    assert reps[0].locator_text() == "p. 3, para. 7; p. 5, para. 12"
    assert reps[1].locator_text() == "p. 9"  # an unnumbered paragraph has no para.
    assert "date not stated" in reps[1].note() and reps[1].year == ""
    assert reps[0].url == "http://127.0.0.1:7860/report/a.pdf"  # the report, not the page anchor
    spaced = exports.cited_reports([hit(source="80000_x/report a.pdf")], base_url="http://h")
    assert bibtexparser.parse_string(exports.bibtex(spaced)).entries[0]["url"] == "http://h/report/80000_x/report%20a.pdf"
    # Same authority and year twice: distinct keys.
    same = exports.cited_reports([hit(1, "a.pdf"), hit(2, "c.pdf")])
    assert len({r.key for r in same}) == 2


def test_bibtex_parses_with_bibtexparser(real_answer):
    reps = exports.cited_reports(real_answer.hits, base_url="http://127.0.0.1:7860")
    lib = bibtexparser.parse_string(exports.bibtex(reps))
    assert not lib.failed_blocks
    assert len(lib.entries) == len(reps) == len({h.source for h in real_answer.hits})
    by_key = {e.key: e for e in lib.entries}
    for r in reps:
        e = by_key[r.key]
        assert e.entry_type == "techreport"
        assert e["title"] == r.title and e["year"] == r.year and e["institution"] == "Ofsted"
        for page, para in r.locators:
            assert f"p. {page}" + (f", para. {para}" if para is not None else "") in e["note"]
        assert e["url"] == r.url and "#" not in r.url and r.url.startswith(("http://", "https://"))


def test_bibtex_escapes_what_latex_would_read():
    reps = exports.cited_reports([hit(title=HOSTILE_TITLE, local_authority="A & B")])
    text = exports.bibtex(reps)
    lib = bibtexparser.parse_string(text)
    assert not lib.failed_blocks and len(lib.entries) == 1
    title = lib.entries[0]["title"]
    assert "\\&" in title and "\\%" in title and "\\$" in title and "\\_" in title and "\\#" in title
    assert "\\}unbalanced\\{" in title
    # Un-escaping gives back exactly the title.
    unescaped = title.replace("\\textbackslash{}", "\\").replace("\\^{}", "^").replace("\\~{}", "~")
    for c in "{}&%$#_":
        unescaped = unescaped.replace("\\" + c, c)
    assert unescaped == HOSTILE_TITLE


def test_ris_parses_with_rispy(real_answer):
    reps = exports.cited_reports(real_answer.hits)
    entries = rispy.loads(exports.ris(reps))
    assert len(entries) == len(reps)
    for e, r in zip(entries, reps, strict=True):
        assert e["type_of_reference"] == "RPRT"
        assert e["title"] == r.title and e["authors"] == ["Ofsted"]
        assert e["year"] == r.year and e["date"] == r.published.replace("-", "/")
        assert r.locator_text() in " ".join(e["notes"])
        assert e["id"] == r.key


def test_ris_of_a_report_without_metadata():
    reps = exports.cited_reports(
        [
            hit(
                source="uploads/my upload.pdf",
                title="",
                local_authority="",
                published="",
            )
        ]
    )
    (e,) = rispy.loads(exports.ris(reps))
    assert e["title"] == "my upload" and "year" not in e and "date not stated" in " ".join(e["notes"])


def test_csl_json_is_valid_items(real_answer):
    reps = exports.cited_reports(real_answer.hits)
    items = json.loads(exports.csl_json(reps))
    assert isinstance(items, list) and len(items) == len(reps)
    assert len({i["id"] for i in items}) == len(items)
    for item, r in zip(items, reps, strict=True):
        # Required by the CSL-JSON schema: id and type; a report needs a title and an author to cite.
        assert item["type"] == "report" and item["title"] == r.title and item["author"] == [{"literal": "Ofsted"}]
        y, m, d = (int(x) for x in r.published.split("-"))
        assert item["issued"] == {"date-parts": [[y, m, d]]}
        assert r.locator_text() in item["note"]
        assert all(isinstance(v, (str, list, dict)) for v in item.values())


def test_answer_csv_keeps_its_columns_and_adds_grade_at_the_end(real_answer):
    rows = list(csv.reader(io.StringIO(exports.export_csv(real_answer))))
    head = rows[0]
    assert head[:11] == [
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
    ]
    assert head[11:] == ["judgement", "grade", "answer_link"]
    assert len(rows) - 1 == len(real_answer.hits)
    # The link that reproduces the answer (app.permalink) rides on every row, and in the Markdown.
    link = "http://127.0.0.1:7860/?q=care%20leavers&k=3"
    rows = list(csv.DictReader(io.StringIO(exports.export_csv(real_answer, link=link))))
    assert {r["answer_link"] for r in rows} == {link}
    assert f"Link to this answer: <{link}>" in exports.export_markdown(real_answer, link=link)
    assert "<script>" not in exports.export_markdown(real_answer, link=link + "<script>")


def test_across_table_one_row_per_report(fake_searcher):
    from assistant.search.themes import across

    a = across(fake_searcher, "return home interviews for children who go missing")
    text = exports.across_csv(a, base_url="http://127.0.0.1:7860")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(a.rows) and len({r["source"] for r in rows}) == len(rows)
    assert [r["coverage"] for r in rows].count("full") == len(a.full)
    for r, row in zip(a.rows, rows, strict=True):
        assert row["quote"] == r.best.hit.text and row["grade"] == r.grade and row["page"] == str(r.best.hit.page)
    # Its citations: the same reports, in the same order.
    reps = exports.across_cited(a)
    assert [x.source for x in reps] == [r.source for r in a.rows]
    lib = bibtexparser.parse_string(exports.bibtex(reps))
    assert len(lib.entries) == len(a.rows)


def test_empty_answer_exports_are_empty_but_valid():
    assert bibtexparser.parse_string(exports.bibtex([])).entries == []
    assert rispy.loads(exports.ris([])) == []
    assert json.loads(exports.csl_json([])) == []
