"""The shipped answerability model on the sample library, with the real fine-tuned embedder:
questions the reports cannot answer get no passage, real ones (a figure, a keyword query
naming an authority, an everyday question) keep theirs. Questions written for this test."""

from __future__ import annotations

import pytest

from assistant.search.searcher import NOTHING_MATCHES

UNCOVERED = [
    "What salary does Bedford pay its director of children's services?",
    "best pizza in Blackpool",
    "which primary school in Norfolk has the best SATs results",
]
ANSWERED = [
    "how many children are in care in Blackpool?",
    "Blackpool LADO",
    "are foster carers in Blackpool given enough support?",
    "Bedford 2017: how effective was the MASH?",
]


@pytest.fixture(scope="module")
def shipped(searcher):
    if searcher.answerability is None:
        pytest.skip("no answerability model ships for this embedder")
    return searcher


@pytest.mark.parametrize("question", UNCOVERED)
def test_questions_the_reports_cannot_answer_get_no_passage(shipped, question):
    a = shipped.ask(question)
    assert a.hits == () and a.abstained == NOTHING_MATCHES
    assert a.answerable is not None and a.answerable < 1 - shipped.answerability.threshold


@pytest.mark.parametrize("question", ANSWERED)
def test_real_questions_keep_their_passages(shipped, question):
    a = shipped.ask(question)
    assert a.hits, f"{question!r} emptied (answerable {a.answerable})"
    assert a.to_json()["answerable"] == a.answerable
