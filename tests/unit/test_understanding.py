"""Issue 10 wiring: the glossary mined at build time and used by the searcher, the
words it adds shown with the answer, and places the library holds no report for.
Logic only: the sample corpus indexed with the fake embedder."""

from __future__ import annotations

import json

import pytest

from assistant.index.read import load_generation
from assistant.language.glossary import Glossary
from assistant.search.searcher import glossary_of


def test_the_build_stores_the_acronyms_its_reports_define(fake_index):
    gen = load_generation(fake_index)
    mined = Glossary.mined_from_json(gen.glossary)
    assert mined and all(t.count >= 2 for t in mined)
    texts = " ".join(c.text for c in gen.chunks)
    for t in mined:
        # Each pair was read off the reports: the acronym stands in brackets after its long form.
        assert f"({t.term[0]}" in texts
    assert len(glossary_of(gen).terms) > len(mined)  # plus the curated entries


def test_glossary_words_are_searched_and_said(fake_searcher):
    a = fake_searcher.ask("Blackpool: what is the role of the LADO?")
    assert "local authority designated officer" in a.also_searched
    assert a.to_json()["also_searched"] == list(a.also_searched)
    plain = fake_searcher.ask("Blackpool: how are care leavers supported?")
    assert json.loads(json.dumps(plain.to_json()))["abstained"] is None


@pytest.mark.parametrize(
    "question",
    [
        "How are children's services in Glasgow doing?",
        "What did inspectors say about child protection in Swansea?",
        "Do foster carers in Texas get enough support?",
    ],
)
def test_a_place_with_no_report_is_named_and_nothing_else_is_quoted(fake_searcher, question):
    a = fake_searcher.ask(question)
    assert not a.hits and a.abstained.startswith("no report for ") and a.abstained.endswith(" in this library")
    assert a.suggestions


def test_an_authority_the_library_holds_is_not_a_foreign_place(fake_searcher):
    for question in ["Bedford: how effective was the MASH?", "how well does Reading council help care leavers in Blackpool?"]:
        a = fake_searcher.ask(question)
        assert not a.abstained, (question, a.abstained)
