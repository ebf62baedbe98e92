"""Issue 19's query defects: filter words leave the scored text whatever the query's shape,
a keyword query is never emptied by the floor fitted on sentences, and a report's own name
for a service is found for the generic one (mined from the text). Logic: fake embedder."""

from __future__ import annotations

from copy import copy
from dataclasses import replace

import numpy as np
import pytest

from assistant.index import keywords
from assistant.index.keywords import KeywordIndex
from assistant.language.glossary import ACRONYM, MINED, Term
from assistant.search.aliases import mine_alternatives


@pytest.mark.parametrize(
    "question, topic",
    [
        ("Blackpool LADO", "LADO"),
        ("LADO Blackpool", "LADO"),
        ("Blackpool 2019 LADO", "LADO"),
        ("blackpool fostering", "fostering"),
        ("Bedford MASH", "MASH"),
        ("how effective is the MASH in Bedford", "how effective is the MASH in"),
    ],
)
def test_the_authority_and_year_leave_the_scored_text_whatever_the_shape(fake_searcher, question, topic):
    q = fake_searcher.understand(question)
    assert q.filters.authorities  # the place became a filter ...
    assert q.search_text == topic  # ... and is not scored
    assert "blackpool" not in keywords.terms(q.search_text) and "bedford" not in keywords.terms(q.search_text)


def test_a_place_alone_is_still_searched_as_asked(fake_searcher):
    q = fake_searcher.understand("Bedford 2022")
    assert q.search_text == "Bedford 2022"


@pytest.mark.parametrize(
    "question, keyword",
    [
        ("Blackpool LADO", True),
        ("bedford care leavers 2022", True),
        ("how are care leavers in Bedford supported?", False),
        ("is the Bedford MASH any good", False),
    ],
)
def test_keyword_queries_are_told_from_questions(fake_searcher, question, keyword):
    assert fake_searcher.understand(question).is_keyword is keyword


@pytest.mark.parametrize("question", ["Blackpool LADO", "Bedford care leavers", "Norfolk fostering", "Blackpool missing children"])
def test_a_keyword_query_is_never_emptied_by_the_sentence_floor(fake_searcher, question):
    a = fake_searcher.ask(question, mode="fused")
    assert not a.abstained and a.hits
    (wanted,) = fake_searcher.understand(question).filters.authorities
    assert all(h.source.split("/")[0].split("_", 1)[1] == wanted for h in a.hits)


def _library(reports: dict[str, list[str]]):
    texts, report_of = [], []
    for i, (_, passages) in enumerate(reports.items()):
        texts.extend(passages)
        report_of.extend([i] * len(passages))
    index = KeywordIndex.build(keywords.tokenize_table(texts))
    return index, texts, np.array(report_of)


FRONT = "contacts and referrals are screened promptly, thresholds are applied and strategy discussions follow"
MISSING = "children who go missing are offered interviews when they return and exploitation risks are assessed"


def test_two_names_of_one_service_are_alternatives_and_a_different_service_is_not():
    reports = {}
    for i in range(4):
        reports[f"mash-{i}"] = [f"The MASH: {FRONT} in area {i}.", f"Return home interviews (RHI): {MISSING}.", "Leaders know their services well."]
    for i in range(3):
        reports[f"ifd-{i}"] = [f"The IFD: {FRONT} for district {i}.", f"The RHI offer: {MISSING}.", "Caseloads are manageable."]
    index, texts, report_of = _library(reports)
    terms = [
        Term(ACRONYM, ("MASH",), ("multi-agency safeguarding hub",), MINED, 4),
        Term(ACRONYM, ("IFD",), ("integrated front door",), MINED, 3),
        Term(ACRONYM, ("RHI",), ("return home interview",), MINED, 7),
    ]
    alt = mine_alternatives(terms, index, texts, report_of)
    assert [a.short for a in alt.of["mash"]] == ["IFD"]
    assert [a.short for a in alt.of["ifd"]] == ["MASH"]
    # RHI is used beside both (not instead of either), and about other things.
    assert "rhi" not in alt.of
    # In a report that says IFD, a question about the MASH also searches the IFD.
    ifd_rows = np.flatnonzero(report_of == list(reports).index("ifd-0"))
    present = lambda t: bool(np.isin(index.rows_with(t), ifd_rows).any())  # noqa: E731
    assert [(t, a.long) for t, a in alt.in_scope(["mash", "effect"], present)] == [("mash", "integrated front door")]


def test_a_keyword_query_in_words_the_library_does_not_know_is_still_emptied(fake_searcher):
    assert fake_searcher.ask("Blackpool zxqv blorf", mode="fused").abstained
    assert fake_searcher.ask("zxqv blorf quantum", mode="fused").abstained


def _own_words(searcher, question: str, **settings) -> tuple[np.ndarray, list[str]]:
    """BM25 of the question's own words over its scope (what the floor reads), and the texts."""
    s = copy(searcher)
    s.settings = replace(searcher.settings, **settings)
    snap = s.acquire()
    q = s.understand(question, snap)
    rows = s._rows(snap, s._scope(snap, q)[0])
    return s._signals(snap, q, rows).bm, [snap.gen.chunks[int(r)].text for r in rows]


def test_an_acronym_the_scope_never_prints_is_scored_by_its_long_form(fake_searcher):
    # Bedford's reports write "newly qualified ..." and never "NQSW": the long form is all the
    # scope can answer with, so it counts as the question's own words (what the floor and the
    # "unknown words" share read), not only as the glossary's lighter addition.
    off, _ = _own_words(fake_searcher, "Bedford NQSW", absent_long_form=False)
    on, texts = _own_words(fake_searcher, "Bedford NQSW", absent_long_form=True)
    assert off.max() == 0
    assert any("newly qualified" in texts[int(i)].lower() for i in np.argsort(-on)[:3])
