"""The Library tab's rows: every report of a generation, indexed or failed."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

from ..index.disk import Generation
from ..language.vocab import Grade, JudgementArea
from ..reports.document import Judgement


@dataclass(frozen=True)
class LibraryRow:
    authority: str
    published: str
    title: str
    inspection_dates: str
    pages: int | None
    paragraphs: int | None
    overall: str
    judgements: str
    lead_inspector: str
    status: str  # "indexed" or "failed: <reason>"
    file: str


HEADERS = tuple(f.name.replace("_", " ") for f in fields(LibraryRow))


def rows(gen: Generation) -> list[LibraryRow]:
    """Indexed reports by authority then date, then the files that failed with their reasons."""
    out = []
    for r in sorted(gen.reports, key=lambda r: (r.meta.local_authority.lower(), r.meta.published)):
        m = r.meta
        out.append(
            LibraryRow(
                authority=m.local_authority,
                title=m.title,
                published=m.published,
                inspection_dates=m.inspection_dates,
                pages=r.pages,
                paragraphs=r.paragraphs,
                overall=m.overall,
                judgements=judgements_text(m.judgements),
                lead_inspector=m.lead_inspector,
                status="indexed",
                file=r.path,
            )
        )
    for f in sorted(gen.failures, key=lambda f: f.path):
        out.append(LibraryRow("", "", "", "", None, None, "", "", "", f"failed: {f.reason}", f.path))
    return out


def judgements_text(judgements: tuple[Judgement, ...]) -> str:
    """ "Leaders: Good; In care: RI" — the overall grade has its own column, and each
    area its short name (vocab.JudgementArea) so the column stays readable."""
    out = []
    for j in judgements:
        area = JudgementArea.of(j.area)
        if area is JudgementArea.OVERALL:
            continue
        grade = "RI" if Grade.parse(j.grade) is Grade.REQUIRES_IMPROVEMENT else j.grade
        out.append(f"{area or j.area}: {grade}")
    return "; ".join(out)


def table(gen: Generation) -> list[list]:
    """Rows as lists, for a gr.Dataframe."""
    return [list(astuple(r)) for r in rows(gen)]
