"""Retrieval behaviour on the sample index: filters read from questions, intent,
highlights, the no-answer case, and hits that point at the right paragraph."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from assistant.reports import ingest
from assistant.reports.layout import fold
from assistant.search.query import Filters
from assistant.search.searcher import authority_key
from tests.support.contract import ANSWER_KEYS, FILTER_KEYS, HIT_KEYS
from tests.support.paths import MODEL_CACHE, ROOT

BEDFORD_2017 = "80428_bedford/children's services inspection - 07 april 2017.pdf"
BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BLACKPOOL_2019 = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
NORFOLK_2013 = "80418_norfolk/children's services inspection,  pdf - 16 august 2013.pdf"


QUESTIONS = [
    "How well does Bedford support care leavers in 2022?",
    "In 2019, were Blackpool's children seen alone by their social workers?",
    "How quickly are contacts about children at risk dealt with at the front door?",
    "What did inspectors say about the stability of the social work workforce?",
    "Norfolk 2013: how good were the health assessments of looked after children?",
]


def test_authority_and_year_in_the_question_become_filters(searcher):
    cases = [
        (QUESTIONS[0], "bedford", 2022, BEDFORD_2022),
        (QUESTIONS[1], "blackpool", 2019, BLACKPOOL_2019),
        ("Bedford 2017: were children's plans reviewed on time?", "bedford", 2017, BEDFORD_2017),
    ]
    for question, key, year, report in cases:
        u = searcher.understand(question)
        assert (u.filters.authorities, u.filters.year_from, u.filters.year_to) == ((key,), year, year), question
        answer = searcher.ask(question)
        assert answer.filters == u.filters
        assert answer.hits and {h.source for h in answer.hits} == {report}, question
        assert answer.to_json()["filters"] == {
            "authorities": [searcher.authorities()[key]],
            "from": year,
            "to": year,
            "reports": [],
        }


def test_authority_next_to_punctuation_becomes_a_filter(searcher):
    for question in ["What is help like for care leavers in North Northamptonshire?", "Norfolk: were reviews timely?"]:
        assert searcher.understand(question).filters.authorities, question


def test_lead_inspector_question_ranks_the_lead_inspector_line_first(searcher):
    reports = [r for r in searcher.generation.reports if r.meta.lead_inspector]
    assert len(reports) == 6
    for r in reports:
        name = authority_key(r.path, r.meta.local_authority).title()  # "Bedford", "North Northamptonshire"
        question = f"Who was the lead inspector for {name} in {r.meta.published[:4]}?"
        answer = searcher.ask(question)
        assert answer.hits, question
        top = answer.hits[0]
        assert top.source == r.path, question
        assert re.match(r"(Lead|Reporting) inspector\b", top.text), (question, top.text)
        assert r.meta.lead_inspector in top.text


def test_highlights_are_exact_substrings_of_the_passage(searcher):
    highlighted = 0
    for question in QUESTIONS:
        answer = searcher.ask(question, k=10)
        assert answer.hits, question
        for h in answer.hits:
            assert all(s and s in h.text for s in h.highlight), (question, h.highlight, h.text)
            highlighted += bool(h.highlight)
    assert highlighted >= len(QUESTIONS)


@pytest.mark.parametrize("question", ["zxqv blorf quantum banana", "qwrtzp vlokk snargle fendibulous"])
def test_nonsense_question_has_no_hits(searcher, question):
    answer = searcher.ask(question)
    assert answer.hits == ()
    assert answer.to_json()["hits"] == []


def test_explicit_filters_override_the_question(searcher):
    question = QUESTIONS[0]  # names Bedford and 2022
    explicit = Filters(authorities=("blackpool",), year_from=2019, year_to=2019)
    answer = searcher.ask(question, filters=explicit)
    assert (answer.filters.authorities, answer.filters.year_from, answer.filters.year_to) == (("blackpool",), 2019, 2019)
    assert answer.hits and {h.source for h in answer.hits} == {BLACKPOOL_2019}
    # A report chosen explicitly narrows to that report.
    answer = searcher.ask("How are care leavers supported?", filters=Filters(reports=(NORFOLK_2013,)))
    assert answer.hits and {h.source for h in answer.hits} == {NORFOLK_2013}
    # And the question's own words can be switched off.
    answer = searcher.ask(question, use_question=False)
    assert answer.filters.is_empty()
    assert len({h.source for h in searcher.ask(question, k=20, use_question=False).hits}) > 1


def _check_contract(d: dict) -> None:
    assert ANSWER_KEYS <= set(d)
    assert set(d["filters"]) == FILTER_KEYS
    for h in d["hits"]:
        assert HIT_KEYS <= set(h)
        assert isinstance(h["highlight"], list) and isinstance(h["page"], int)


def test_ask_json_keeps_the_contract_keys(searcher, sample_index, tmp_path):
    answer = searcher.ask(QUESTIONS[0])
    d = json.loads(json.dumps(answer.to_json()))
    _check_contract(d)
    assert d["hits"] and [h["rank"] for h in d["hits"]] == list(range(1, len(d["hits"]) + 1))

    # The CLI prints the same contract, and the same answer from the same generation.
    index = tmp_path / "index"
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock", "models"))
    (index / "models").mkdir()
    for f in MODEL_CACHE.glob("*.onnx"):
        (index / "models" / f.name).symlink_to(f)
    run = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--json", "--index", str(index), QUESTIONS[0]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    cli = json.loads(run.stdout.strip().splitlines()[-1])
    _check_contract(cli)
    assert [(h["source"], h["page"], h["text"]) for h in cli["hits"]] == [(h["source"], h["page"], h["text"]) for h in d["hits"]]
    assert cli["filters"] == d["filters"]


def test_hits_point_at_the_ingested_paragraph_and_page(searcher, sample_corpus):
    reports: dict[str, object] = {}
    checked = 0
    for question in QUESTIONS[:2] + QUESTIONS[4:] + ["Who was the lead inspector for Bedford in 2022?"]:
        for h in searcher.ask(question, k=5).hits:
            if h.source not in reports:
                reports[h.source] = ingest.ingest_one(sample_corpus / h.source, sample_corpus)
            report = reports[h.source]
            sha16, index, part = h.chunk_id.split(":")
            assert report.sha256.startswith(sha16)
            p = report.paragraphs[int(index)]
            assert p.index == int(index)
            assert h.text in p.text and (int(part) > 0 or p.text.startswith(h.text))
            assert (h.paragraph, h.section) == (p.number, p.section)
            assert h.page in p.pages and (int(part) > 0 or h.page == p.pages[0])
            # The passage starts on the page the hit names.
            assert fold(h.text)[:40] in fold(report.pages[h.page - 1].text), (h.chunk_id, h.page)
            assert f"p. {h.page}" in h.citation and (h.paragraph is None or f"para. {h.paragraph}" in h.citation)
            assert h.url.endswith(f"#page={h.page}") and h.url.startswith("https://")
            checked += 1
    assert len(reports) >= 3 and checked >= 15


def test_the_finding_ranks_above_its_one_line_restatement(searcher):
    """Bedford 2025 states a finding in the body (with its evidence) and again as a
    'What needs to improve?' bullet: the body paragraph is the one to quote first,
    unless the question asks what needs to improve."""
    about = searcher.ask("Bedford 2025: homeless 16- and 17-year-olds", k=5)
    sections = [h.section for h in about.hits]
    assert not sections[0].startswith("What needs to improve")
    assert any(s.startswith("What needs to improve") for s in sections[1:])
    actions = searcher.ask("Bedford 2025: what needs to improve for homeless 16- and 17-year-olds?", k=5)
    assert actions.hits[0].section.startswith("What needs to improve")


def test_framing_words_are_not_scored_as_the_subject():
    from assistant.search.query import understand, without_framing

    assert without_framing("What did Ofsted inspectors say about early help in late 2019?").split() == [
        "What",
        "did",
        "about",
        "early",
        "help",
        "in",
        "2019?",
    ]
    assert without_framing("inspection report") == "inspection report"  # nothing left: keep the question
    assert understand("What should Bedford improve first?", set()).wants_actions
    assert not understand("How well were care leavers supported?", set()).wants_actions
