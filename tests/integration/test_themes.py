"""Across-reports answers on the real sample corpus and model: one best passage per
report, concepts covered fully or in part, counts, year x grade tallies, filters."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from assistant.index import keywords
from assistant.search import themes as ac
from assistant.search.query import Filters
from tests.support.contract import HIT_KEYS
from tests.support.paths import ROOT

MISSING = "return home interviews for children who go missing"


@pytest.fixture(scope="module")
def missing(searcher):
    return ac.across(searcher, MISSING)


def test_one_row_per_report_ranked_full_matches_first(missing):
    a = missing
    assert len(a.full) >= 3, "several sample reports discuss return home interviews"
    sources = [r.source for r in a.rows]
    assert len(sources) == len(set(sources))
    assert [r.rank for r in a.rows] == list(range(1, len(a.rows) + 1))
    cov = [r.coverage for r in a.rows]
    assert cov == sorted(cov, key=lambda c: c != ac.FULL), "full matches before partial ones"
    scores = [r.best.hit.score for r in a.full]
    assert scores == sorted(scores, reverse=True)


def test_full_rows_contain_every_concept(missing):
    labels = [c.label for c in missing.concepts]
    # A glossary phrase is one concept, covered by any of its spellings ("RHI").
    assert "return home interviews" in labels
    rhi = next(c for c in missing.concepts if c.label == "return home interviews")
    assert rhi.covered_by(keywords.term_set("She had an RHI")) and not rhi.covered_by(keywords.term_set("return home"))
    assert not {"which", "children", "for"} & set(labels), "framing, common and stop words are no concepts"
    for r in missing.full:
        terms = keywords.term_set(r.best.hit.text)
        assert all(c.covered_by(terms, r.best.hit.text) for c in missing.concepts), r.best.hit.text
        assert not r.best.missing
    for r in missing.partial:
        assert r.best.missing and r.best.covered


def test_count_summary_and_tally_agree_with_rows(missing):
    a = missing
    n = len(a.full)
    authorities = len({r.authority_key for r in a.full})
    assert a.summary().startswith(f"{n} reports in {authorities} authorit")
    if a.partial:
        assert f"{len(a.partial)} more in part" in a.summary()
    tally = a.tally()
    assert sum(t.reports for t in tally) == n
    assert Counter({(t.year, t.grade): t.reports for t in tally}) == Counter((r.year, r.grade) for r in a.full)
    for t in tally:
        assert len(a.rows_for(t.year, t.grade)) == t.reports
    j = json.loads(json.dumps(a.to_json()))
    assert j["reports_full"] == n and j["reports_partial"] == len(a.partial) and j["authorities_full"] == authorities
    assert sum(t["reports"] for t in j["by_year_grade"]) == n
    assert [r["source"] for r in j["rows"]] == [r.source for r in a.rows]
    first = j["rows"][0]["passages"][0]
    # The passage JSON keeps every key of an `ask` hit and adds the judgement's.
    for key in (*HIT_KEYS, "judgement", "grade", "coverage"):
        assert key in first


def test_year_and_grade_filters(searcher, missing):
    later = ac.across(searcher, MISSING, Filters(year_from=2020))
    assert later.rows and all(r.year >= "2020" for r in later.rows)
    assert {r.source for r in later.rows} <= {r.source for r in missing.rows}
    graded = {r.grade for r in missing.rows}
    g = next(iter(sorted(graded)))
    only = ac.across(searcher, MISSING, grades=(g,))
    assert only.rows and all(r.grade == g for r in only.rows)
    assert len(only.rows) == sum(1 for r in missing.rows if r.grade == g)
    assert only.to_json()["filters"]["grades"] == [g]


def test_grade_names_are_read_as_people_write_them():
    assert ac.parse_grades(["Requires Improvement", "RI", "inadequate", ""]) == (
        "requires improvement",
        "inadequate",
    )
    assert ac.parse_grades(["requires improvement to be good"]) == ("requires improvement",)
    with pytest.raises(ValueError, match="unknown grade 'excellent'"):
        ac.parse_grades(["excellent"])


def test_per_report_gives_more_passages_from_one_report(searcher):
    a = ac.across(searcher, MISSING, per_report=2)
    assert any(len(r.passages) == 2 for r in a.rows)
    assert all(len(r.passages) <= 2 for r in a.rows)
    assert len({r.source for r in a.rows}) == len(a.rows)


def test_glossary_spellings_cover_each_other(searcher):
    long = ac.across(searcher, "multi-agency safeguarding hub")
    short = ac.across(searcher, "MASH")
    assert long.full and short.full
    # Either spelling in a passage covers the concept, whichever the question used.
    for r in long.full + short.full:
        low = r.best.hit.text.lower()
        assert "mash" in low or "safeguarding hub" in low
    assert {r.source for r in long.full} & {r.source for r in short.full}


def test_two_part_theme_counts_only_passages_about_both(searcher):
    a = ac.across(searcher, "early help performance data")
    assert a.partial, "passages about early help alone, or performance data alone, are in part only"
    for r in a.full:
        terms = keywords.term_set(r.best.hit.text)
        assert {"earli", "help"} <= terms and "perform" in terms
    for r in a.partial:
        assert r.best.missing


def test_a_theme_no_report_discusses(searcher):
    a = ac.across(searcher, "zebra crossings quantum chromodynamics")
    assert not a.full
    assert a.summary() in ("No report discusses this.",) or a.summary().startswith("No report discusses all of this")


def test_bad_question_is_refused(searcher):
    with pytest.raises(ValueError, match="needs a theme"):
        ac.across(searcher, "   ")


def test_grade_read_from_the_chunk_or_its_heading(searcher):
    gen = searcher.generation
    graded = [c for c in gen.chunks if "requires improvement to be good" in c.section.lower()]
    assert graded
    assert ac.passage_grade(graded[0])[1] == "requires improvement"
    assert ac.passage_grade(None) == ("", ac.NOT_GRADED)


def test_across_api_matches_the_cli_json(tmp_path, sample_index, searcher, embedder):
    """The app's `across` endpoint gives the JSON of `python -m assistant ask --across --json`,
    and `ask` keeps its contract beside it."""
    import shutil
    import subprocess
    import sys

    from gradio_client import Client

    from assistant.app.service import Service
    from assistant.settings import AppSettings
    from tests.support.apps import serve

    root = ROOT
    index = tmp_path / "index"
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    (index / "models").symlink_to(root / "index" / "models")
    service = Service(AppSettings(corpus=root / "corpus", index=index), embedder, searcher)
    with serve(service) as url:
        client = Client(url + "/", verbose=False)
        got = client.predict(
            MISSING,
            None,
            2017,
            None,
            ["good", "Requires Improvement"],
            1,
            api_name="/across",
        )
        with pytest.raises(Exception, match="unknown grade"):
            client.predict(MISSING, None, None, None, ["excellent"], 1, api_name="/across")
        asked = client.predict(MISSING, api_name="/ask")
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "ask",
            "--across",
            "--json",
            "--index",
            str(index),
            "--from",
            "2017",
            "--grade",
            "good",
            "--grade",
            "Requires Improvement",
            MISSING,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        timeout=120,
    )
    assert got == json.loads(cli.stdout)
    assert got["rows"] and {r["grade"] for r in got["rows"]} <= {
        "good",
        "requires improvement",
    }
    assert got["filters"]["from"] == 2017 and got["filters"]["grades"] == [
        "good",
        "requires improvement",
    ]
    assert {"question", "filters", "hits"} <= set(asked) and len(asked["hits"]) == 5


def test_a_phrase_concept_needs_its_words_together():
    (eh,) = ac.concepts("early help")
    apart = "Families were given support. Early in the year, help arrived."
    together = "Early help services are well used; targeted support follows."
    assert not eh.covered_by(keywords.term_set(apart), apart)
    assert eh.covered_by(keywords.term_set(together), together)
    # Its glossary equivalents count, as phrases too.
    fs = "Family support workers visit weekly."
    assert eh.covered_by(keywords.term_set(fs), fs)
    (mash,) = ac.concepts("multi-agency safeguarding hub")
    for text in ("The MASH is effective.", "A multi agency safeguarding hub opened."):
        assert mash.covered_by(keywords.term_set(text), text)
