"""The graded judgement each paragraph sits under (assistant/reports/judgements.py), checked
against the grades each sample report prints in its own judgement table, and
carried through chunking and the index."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from assistant.index.chunking import chunk_report
from assistant.index.read import load_generation
from assistant.language.vocab import Grade, JudgementArea
from assistant.reports import ingest
from assistant.reports.document import BODY, BULLET, FOOTNOTE, FRONT, Report
from assistant.reports.judgements import assign, table_grade
from assistant.settings import IngestSettings

BEDFORD_2017 = "80428_bedford/children's services inspection - 07 april 2017.pdf"
BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"
BLACKPOOL_2019 = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
NORFOLK_2013 = "80418_norfolk/children's services inspection,  pdf - 16 august 2013.pdf"
NORTH_NORTHANTS_2026 = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"

# (report, opening words of a paragraph in the body, the area of the judgement it sits under)
KNOWN = [
    (BEDFORD_2022, "Children and their families who need help have easy access", JudgementArea.HELP_AND_PROTECTION),
    (BEDFORD_2025, "Partner engagement in Bedford is variable", JudgementArea.LEADERS),
    (BLACKPOOL_2019, "Children live in neglectful circumstances for longer", JudgementArea.IN_CARE_AND_CARE_LEAVERS),
    (BEDFORD_2017, "Permanence is a priority for children in Bedford Borough", JudgementArea.ADOPTION),
    (BEDFORD_2017, "The leaving and after care team currently works with 111 care leavers", JudgementArea.CARE_LEAVERS),
    (NORTH_NORTHANTS_2026, "Care-experienced young adults are actively helped", JudgementArea.CARE_LEAVERS),
]


@pytest.fixture(scope="module")
def reports(sample_corpus) -> dict[str, Report]:
    return {r.path: r for r in ingest.ingest_folder(sample_corpus).reports}


def _paragraph(report: Report, opening: str):
    """The first body paragraph after the report's judgement table that opens with `opening`."""
    body = [p for p in report.paragraphs if p.kind == BODY and p.text.startswith(opening) and p.pages[0] > 1]
    assert body, f"no paragraph opening {opening!r} in {report.path}"
    return body[0]


@pytest.mark.parametrize("path, opening, area", KNOWN)
def test_known_paragraph_sits_under_its_judgement_with_the_tables_grade(reports, path, opening, area):
    r = reports[path]
    p = _paragraph(r, opening)
    assert JudgementArea.of(p.judgement) is area, p.judgement
    # The grade the report's own page-1 table gives that judgement.
    row = [j for j in r.meta.judgements if JudgementArea.of(j.area) is area]
    assert len(row) == 1, r.meta.judgements
    assert p.grade == Grade.parse(row[0].grade).value


@pytest.mark.parametrize("path", [BEDFORD_2017, BEDFORD_2022, BEDFORD_2025, BLACKPOOL_2019, NORTH_NORTHANTS_2026])
def test_every_passage_has_a_judgement_and_agrees_with_page_one(reports, path):
    r = reports[path]
    passages = [p for p in r.paragraphs if p.kind in (BODY, BULLET)]
    # 2026 reports print no overall grade: what precedes the first judgement heading sits under none.
    before_sections = r.meta.overall == ""
    unplaced = [p.text[:60] for p in passages if not (p.judgement and p.grade)]
    if before_sections:
        first = next(p.index for p in passages if p.judgement)
        assert all(p.index < first for p in passages if not p.judgement)
        assert len(unplaced) <= 5, unplaced
    else:
        assert not unplaced
    for p in passages:
        if p.judgement and (expected := table_grade(r.meta, p.judgement)) is not None:
            assert p.grade == expected, (p.index, p.judgement, p.grade, expected)


def test_summary_sits_under_the_overall_grade(reports):
    r = reports[BEDFORD_2022]
    summary = next(p for p in r.paragraphs if p.kind == BODY)
    assert summary.pages == (1,)
    assert (summary.judgement, summary.grade) == (JudgementArea.OVERALL.value, Grade.parse(r.meta.overall).value)


def test_older_report_grades_read_from_its_own_sections(reports, sample_corpus):
    """Norfolk 2013 prints no page-1 table; its grades are under each section's heading
    ("Grade 4 (inadequate)") and in the "Record of main findings" on its last page, read here
    from the PDF's text layer independently of ingestion."""
    r = reports[NORFOLK_2013]
    last = PdfReader(sample_corpus / NORFOLK_2013).pages[-1].extract_text()
    printed = " ".join(last.split())
    found = 0
    for name in ("Outcomes for looked after children and young people", "Quality of provision", "Leadership and management"):
        grade = Grade.parse(re.search(re.escape(name) + r" (\w+)", printed).group(1))
        under = [p for p in r.paragraphs if p.kind == BODY and p.judgement == name]
        assert under, name
        assert {p.grade for p in under} == {grade.value}, name
        found += len(under)
    assert found > 50


def test_front_lines_and_footnotes_sit_under_no_judgement(reports):
    for r in reports.values():
        for p in r.paragraphs:
            if p.kind in (FRONT, FOOTNOTE):
                assert (p.judgement, p.grade) == ("", ""), (r.path, p.text)


def test_judgement_table_rows_carry_their_own_grade(reports):
    r = reports[BLACKPOOL_2019]
    rows = [p for p in r.paragraphs if p.kind == "judgement"]
    assert [(p.judgement, p.grade) for p in rows] == [(j.area, Grade.parse(j.grade).value) for j in r.meta.judgements]


MONITORING_VISIT = """# Monitoring visit to Luton children's services

## Introduction

This visit was the third monitoring visit since the local authority was judged inadequate.

## Headline findings

Children in care are now seen regularly by their social workers.

## Evaluation of progress

Leaders have strengthened management oversight, and caseloads have come down.
"""


def test_a_monitoring_visit_letter_grades_nothing(tmp_path):
    path = tmp_path / "luton - 02 may 2025.md"
    path.write_text(MONITORING_VISIT, encoding="utf-8")
    report = ingest.read_report(path, path.name, IngestSettings(), None)
    assert [(p.judgement, p.grade) for p in report.paragraphs] == [("", "")] * len(report.paragraphs)


def test_prose_ending_in_a_grade_word_does_not_open_a_judgement(reports):
    r = reports[BEDFORD_2022]
    text = "Children said that their carers and the support they receive are good."
    from assistant.reports.document import Paragraph

    extra = Paragraph(len(r.paragraphs), text, (5,), None, "", BODY)
    placed = assign(tuple(r.paragraphs) + (extra,), r.meta)
    assert (placed[-1].judgement, placed[-1].grade) == (placed[-2].judgement, placed[-2].grade)


def test_chunks_and_the_index_carry_judgement_and_grade(reports, fake_index):
    gen = load_generation(fake_index)
    indexed = {c.id: c for c in gen.chunks}
    checked = 0
    for r in reports.values():
        by_index = {p.index: p for p in r.paragraphs}
        for c in chunk_report(r):
            p = by_index[c.paragraph]
            assert (c.judgement, c.grade) == (p.judgement, p.grade)
            assert (indexed[c.id].judgement, indexed[c.id].grade) == (c.judgement, c.grade)
            checked += bool(c.grade)
    assert checked > 500


@pytest.mark.slow
def test_full_corpus_passages_record_the_grade_their_page_one_table_gives(shared_corpus):
    """Over the whole shared corpus: in reports whose page 1 grades (a judgement table or the
    overall sentence), >= 98 % of passages record judgement and grade; where the judgement is a
    section the page-1 table grades, the grade is the table's; and a passage records none only
    before the first section of a report that prints no overall grade (the 2026 framework)."""
    res = ingest.ingest_folder(shared_corpus)
    passages = recorded = checked = 0
    disagree, stray = [], []
    for r in res.reports:
        if not (r.meta.judgements or r.meta.overall):
            continue
        body = [p for p in r.paragraphs if p.kind in (BODY, BULLET)]
        first_section = next((p.index for p in body if p.judgement and JudgementArea.of(p.judgement) is not JudgementArea.OVERALL), None)
        for p in body:
            passages += 1
            if not (p.judgement and p.grade):
                if r.meta.overall or first_section is None or p.index > first_section:
                    stray.append((r.path, p.index, p.text[:60]))
                continue
            recorded += 1
            if JudgementArea.of(p.judgement) is JudgementArea.OVERALL:
                continue
            if (expected := table_grade(r.meta, p.judgement)) is not None:
                checked += 1
                if p.grade != expected:
                    disagree.append((r.path, p.index, p.judgement, p.grade, expected))
    assert passages > 50_000
    assert recorded / passages >= 0.98, (recorded, passages)
    assert not stray, stray[:10]
    assert checked > 30_000
    assert len(disagree) <= 0.005 * checked, disagree[:10]
