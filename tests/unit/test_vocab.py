"""The inspectorate's vocabulary (assistant/language/vocab.py): every spelling the reports use,
and no second copy of it elsewhere in the package."""

from __future__ import annotations

import json
import re

import pytest

from assistant.language import vocab
from assistant.language.vocab import Grade, Intent, JudgementArea, Kind
from assistant.reports import ingest
from tests.support.paths import ROOT

PACKAGE = ROOT / "assistant"


@pytest.mark.parametrize(
    "phrase, grade",
    [
        ("Good", Grade.GOOD),
        ("Outstanding", Grade.OUTSTANDING),
        ("Inadequate", Grade.INADEQUATE),
        ("Adequate", Grade.ADEQUATE),
        ("Requires Improvement", Grade.REQUIRES_IMPROVEMENT),
        ("REQUIRES IMPROVEMENT TO BE GOOD", Grade.REQUIRES_IMPROVEMENT),
        ("requires\u00a0improvement", Grade.REQUIRES_IMPROVEMENT),
        ("require improvement to be good", Grade.REQUIRES_IMPROVEMENT),
        ("Grade 4 (inadequate)", Grade.INADEQUATE),
        ("The experiences and progress of care leavers: good", Grade.GOOD),
        ("Nothing graded here", None),
        ("goodwill", None),
    ],
)
def test_grade_parse_reads_every_spelling(phrase, grade):
    assert Grade.parse(phrase) is grade


def test_inadequate_is_not_read_as_adequate():
    assert Grade.parse("Inadequate") is Grade.INADEQUATE
    assert vocab.JUDGEMENT_ROW_RE.search("Overall effectiveness Inadequate").group(2) == "Inadequate"


# The table's spelling of the long grade: "Requires" and the sentence's other words.
RI_LONG = "require improvement to be good"
RI_PRINTED = "Requires " + RI_LONG.split(" ", 1)[1]


@pytest.mark.parametrize(
    "sentence, printed",
    [
        (RI_LONG, RI_PRINTED),
        ("requires " + RI_LONG.split(" ", 1)[1], RI_PRINTED),
        ("good", "Good"),
        ("inadequate", "Inadequate"),
    ],
)
def test_printed_grade_is_the_tables_spelling(sentence, printed):
    assert vocab.printed_grade(sentence) == printed


def test_table_grades_must_be_printed_capitalised():
    # A table row closes with a printed grade; a sentence ending "... were good" does not.
    assert vocab.GRADE_AT_END_RE.search("Overall effectiveness Good")
    assert vocab.GRADE_AT_END_RE.search("Children in care Requires Improvement")
    assert not vocab.GRADE_AT_END_RE.search("Children said their carers were good")
    assert vocab.GRADE_LINE_RE.match("Requires improvement")
    assert not vocab.GRADE_LINE_RE.match("requires improvement")


def test_sif_overall_sentence_gives_the_tables_grade():
    m = vocab.SIF_OVERALL_RE.search(f"Children\u2019s services in Bedford Borough {RI_LONG}")
    assert (m.group("authority"), vocab.printed_grade(m.group("grade"))) == ("Bedford Borough", RI_PRINTED)
    m = vocab.SIF_OVERALL_RE.search("Children's services in Norfolk are inadequate.")
    assert (m.group("authority"), vocab.printed_grade(m.group("grade"))) == ("Norfolk", "Inadequate")
    for sentence, grade in [
        ("The overall judgement is that children\u2019s services require improvement", "Requires improvement"),
        ("The overall judgement is that children\u2019s services are good The local authority leads", "Good"),
        ("The overall judgement is requires improvement.", "Requires improvement"),
        (f"Children\u2019s services {RI_LONG}", RI_PRINTED),
        ("The overall judgement is Inadequate", "Inadequate"),
        ("The overall judgement is that children\u2019s service requires improvement.", "Requires improvement"),
    ]:
        assert vocab.printed_grade(vocab.SIF_OVERALL_RE.search(sentence).group("grade")) == grade, sentence


def test_lead_inspector_line_both_spellings():
    assert vocab.LEAD_INSPECTOR_RE.match("Lead inspector: Margaret Burke, Her Majesty\u2019s Inspector").group(1).startswith("Margaret")
    assert vocab.LEAD_INSPECTOR_RE.match("Reporting inspector Gary Lamb HMI").group(1) == "Gary Lamb HMI"
    assert not vocab.LEAD_INSPECTOR_RE.match("Deputy lead inspector: Peter McEntee, HMI")
    # Stoke-on-Trent 2022 names two; its lead was once read as "s: Rebecca Quested".
    two = "Lead inspectors: Rebecca Quested, His Majesty\u2019s Inspector, and Matthew Reed, His"
    assert vocab.LEAD_INSPECTOR_RE.match(two).group(1).startswith("Rebecca Quested")
    assert vocab.LABEL_RE.match("Lead inspector: Jane Doe") and vocab.LABEL_RE.match("Reporting inspector Gary Lamb")


def test_every_page_one_judgement_of_the_sample_has_an_area_and_a_grade(sample_corpus):
    res = ingest.ingest_folder(sample_corpus)
    judgements = [j for r in res.reports for j in r.meta.judgements]
    assert len(judgements) >= 15
    for j in judgements:
        assert JudgementArea.of(j.area) is not None, j
        assert Grade.parse(j.grade) is not None, j


def test_kind_and_intent_values_are_the_persisted_strings():
    # The index and the JSON carry these strings; the enums must serialise to them unchanged.
    assert [k.value for k in Kind] == ["body", "bullet", "heading", "footnote", "judgement", "front"]
    assert json.dumps([Kind.BODY, Intent.LEAD_INSPECTOR, Intent.OVERALL]) == '["body", "lead-inspector", "overall-grade"]'
    assert Kind.FRONT == "front" and f"{Kind.JUDGEMENT}" == "judgement"


def test_question_patterns():
    assert vocab.LEAD_QUESTION_RE.search("who led the inspection of Bedford in 2022")
    assert vocab.OVERALL_QUESTION_RE.search("what was the overall effectiveness grade")
    assert vocab.ACTIONS_QUESTION_RE.search("what should the council improve")
    assert vocab.FRAMING_RE.sub("", "what did inspectors say about the MASH").split() == ["what", "did", "about", "the", "MASH"]


def test_restatement_sections():
    for name in ("What needs to improve?", "Recommendations", "Summary for children and young people", "The local authority\u2019s strengths"):
        assert vocab.RESTATEMENT_SECTION_RE.match(name), name
    assert not vocab.RESTATEMENT_SECTION_RE.match("The experiences and progress of care leavers: good")


# Signatures of the vocabulary written out by hand: a grade or lead-inspector pattern,
# the month names, the "RI" short form, "not graded", a grade's colour, a grade name
# capitalised by hand (vocab.grade_label), a synonym group of the glossary's.
_COPIES = re.compile(
    r"(?:outstanding|good|inadequate|adequate)\s*\|\s*(?:outstanding|good|inadequate|adequate|requires)"
    r"|Requires\\s|\[Ii\]mprovement|\((?:\?:)?Lead\|Reporting\)|Lead inspector\|Reporting"
    r"|january\W+february|[\"']RI[\"']|[\"']not graded[\"']|[\"'](?:good|inadequate|outstanding)[\"']:\s*[\"']#"
    r"|\b(?:g|x|grade|name)\[:1\]\.upper\(\)\s*\+|[\"']caseload[\"'],\s*[\"']workload[\"']",
    re.IGNORECASE,
)
# Every module but the vocabulary's own (language/).
MODULES = sorted(rel for rel in (p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")) if not rel.startswith("language/"))


@pytest.mark.parametrize("module", MODULES)
def test_no_second_copy_of_the_vocabulary(module):
    source = (PACKAGE / module).read_text(encoding="utf-8")
    assert not _COPIES.findall(source), f"{module}: take it from assistant/language/vocab.py"


def test_the_guard_reads_every_module():
    assert {"app/ui.py", "app/exports.py", "app/markdown.py", "app/chart.py", "search/themes.py", "search/searcher.py", "cli.py"} <= set(MODULES)
    assert len(MODULES) == len(list(PACKAGE.rglob("*.py"))) - len(list((PACKAGE / "language").rglob("*.py")))
    copies = ('"RI"', "january february march", "(?:Lead|Reporting) inspector", '"not graded"', '"good": "#2e7d32"', "g[:1].upper() + g[1:]")
    for copy in copies + ('("caseload", "workload")',):
        assert _COPIES.search(copy), copy


def test_months_and_short_grades():
    assert vocab.MONTHS["september"] == 9 and len(vocab.MONTH_NAMES) == 12
    assert vocab.GRADE_SHORT[Grade.parse(Grade.REQUIRES_IMPROVEMENT.label)] == "RI"
