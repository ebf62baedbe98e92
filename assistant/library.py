"""The Library tab's rows: every report of a generation, indexed or failed."""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass, fields

from .document import Judgement
from .store import Generation

# Short names for the judgement areas of the inspection frameworks, so the column stays readable.
_AREAS = (
    (r"leader", "Leaders"),
    (r"help and protection|need help", "Help and protection"),
    (r"in care and care leavers|looked after and care leavers", "In care and care leavers"),
    (r"care leaver|leaving care", "Care leavers"),
    (r"children in care|looked after|in care", "In care"),
    (r"adoption", "Adoption"),
    (r"safeguarding (children )?board|lscb", "LSCB"),
)
_REQUIRES_IMPROVEMENT = re.compile(r"^requires\s+improvement\b", re.I)


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
    """"Leaders: Good; In care: RI" — the overall grade has its own column."""
    out = []
    for j in judgements:
        area = j.area.lower()
        if area.startswith("overall"):
            continue
        short = next((name for pat, name in _AREAS if re.search(pat, area)), j.area)
        out.append(f"{short}: {'RI' if _REQUIRES_IMPROVEMENT.match(j.grade) else j.grade}")
    return "; ".join(out)


def table(gen: Generation) -> list[list]:
    """Rows as lists, for a gr.Dataframe."""
    return [list(astuple(r)) for r in rows(gen)]
