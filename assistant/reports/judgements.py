"""Paragraphs -> the graded judgement each one sits under.

An inspection report is written judgement by judgement: 2018+ ILACS reports
under headings such as "The experiences and progress of children in care: good",
2013–2017 SIF reports under graded sections ("The experiences and progress of
children looked after and achieving permanence Requires improvement", "The
graded judgement for adoption performance is that it is good"), and older
reports under a heading with "Grade 4 (inadequate)" beneath it. A paragraph
belongs to the judgement whose heading last opened before it. What comes
before the first such heading (the summary, "What needs to improve?") and
what closes the report sits under the overall judgement when the report gives
one. Reports that grade nothing (monitoring visits, focused visits) leave
both empty.

The result is recorded on each Paragraph (`judgement`, `grade`) at ingestion,
so a passage can be counted and filtered by the grade it sits under.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..language.vocab import (
    AFTER_JUDGEMENTS_SECTION_RE,
    GRADE_SUBHEADING_RE,
    JUDGEMENT_HEADING_RES,
    JUDGEMENT_ROW_RE,
    SIF_OVERALL_RE,
    Grade,
    JudgementArea,
)
from ..settings import DEFAULTS
from .document import BODY, BULLET, HEADING, JUDGEMENT, Paragraph, ReportMeta


@dataclass(frozen=True)
class Under:
    """A judgement as a paragraph sits under it. Empty strings: none."""

    judgement: str = ""  # the judgement's name as the report prints it, without the grade
    grade: str = ""  # vocab.Grade value, "" where the report prints no grade for it


def heading_judgement(p: Paragraph, most_words: int = DEFAULTS.ingest.heading_words) -> Under | None:
    """The judgement a heading (or a SIF section title printed as a short paragraph) opens, if any.
    A judgement heading is short: a paragraph of more than `most_words` words is prose,
    even if it ends "... is good" (settings.IngestSettings.heading_words)."""
    if p.kind not in (HEADING, BODY) or len(p.text.split()) > most_words:
        return None
    for pattern in JUDGEMENT_HEADING_RES:
        m = pattern.match(p.text)
        if not m:
            continue
        name, grade = " ".join(m.group("name").split()).rstrip(" :,"), Grade.parse(m.group("grade"))
        # Only the frameworks' judgements open a section: "Children said their carers are good"
        # does not. A heading that ends in a printed grade ("Capacity to improve Inadequate")
        # is a judgement whatever it names.
        printed = p.kind == HEADING and pattern is JUDGEMENT_HEADING_RES[-1]
        if grade is not None and (printed or JudgementArea.of(name) is not None):
            return Under(name, grade.value)
    return None


def _row(p: Paragraph) -> Under | None:
    m = JUDGEMENT_ROW_RE.search(p.text)
    grade = Grade.parse(m.group(2)) if m else None
    return Under(m.group(1), grade.value) if m and grade else None


def assign(paragraphs: tuple[Paragraph, ...] | list[Paragraph], meta: ReportMeta) -> tuple[Paragraph, ...]:
    """The paragraphs again, each with the judgement it sits under and that judgement's grade.

    In: a report's paragraphs in reading order (footnotes last, as layout gives them) and
    its metadata (for the overall grade). Out: the same paragraphs with `judgement` and
    `grade` set. Front-page lines and footnotes sit under no judgement: they are about
    the report, or belong to the page rather than the section.
    """
    overall_grade = Grade.parse(meta.overall)
    overall = Under(JudgementArea.OVERALL.value, overall_grade.value) if overall_grade else Under()
    out: list[Paragraph] = []
    current = overall
    for i, p in enumerate(paragraphs):
        under = current
        if p.kind == JUDGEMENT:
            under = _row(p) or overall
        elif p.kind == HEADING and SIF_OVERALL_RE.match(p.text):
            # "The overall judgement is inadequate", "Children's services in X require improvement
            # to be Good": the overall judgement, whatever else the words look like.
            current = under = overall
        elif p.kind in (HEADING, BODY) and (opened := heading_judgement(p)) is not None:
            current = under = opened
        elif p.kind == HEADING and (nxt := _next_text(paragraphs, i)) and (m := GRADE_SUBHEADING_RE.match(nxt)):
            # Older reports: the judgement's name, then "Grade 4 (inadequate)" under it.
            grade = Grade.parse(m.group("grade"))
            if grade is not None:
                current = under = Under(p.text, grade.value)
        elif p.kind == HEADING and AFTER_JUDGEMENTS_SECTION_RE.match(p.text):
            current = under = overall
        elif p.kind not in (BODY, BULLET, HEADING):
            under = Under()
        out.append(replace(p, judgement=under.judgement, grade=under.grade))
    return tuple(out)


def _next_text(paragraphs, i: int) -> str:
    return paragraphs[i + 1].text if i + 1 < len(paragraphs) else ""


def table_grade(meta: ReportMeta, judgement: str) -> str | None:
    """The grade (vocab.Grade value) the report's page-1 table gives the judgement named
    `judgement`, matched by JudgementArea across spellings ("The experience and progress of
    care leavers" = "2.2 Experiences and progress of care leavers"); None without such a row."""
    area = JudgementArea.of(judgement)
    if area is None:
        return None
    for j in meta.judgements:
        if JudgementArea.of(j.area) is area and (grade := Grade.parse(j.grade)) is not None:
            return grade.value
    if area is JudgementArea.OVERALL and (grade := Grade.parse(meta.overall)) is not None:
        return grade.value
    return None
