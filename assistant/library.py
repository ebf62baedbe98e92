"""The Library tab's rows: every report of a generation, indexed or failed."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

from .store import Generation


@dataclass(frozen=True)
class LibraryRow:
    status: str  # "indexed" or "failed: <reason>"
    authority: str
    title: str
    published: str
    inspection_dates: str
    pages: int | None
    paragraphs: int | None
    overall: str
    judgements: str
    lead_inspector: str
    file: str


HEADERS = tuple(f.name.replace("_", " ") for f in fields(LibraryRow))


def rows(gen: Generation) -> list[LibraryRow]:
    """Indexed reports newest first, then the files that failed with their reasons."""
    out = []
    for r in sorted(gen.reports, key=lambda r: (r.meta.local_authority.lower(), r.meta.published), reverse=False):
        m = r.meta
        out.append(
            LibraryRow(
                status="indexed",
                authority=m.local_authority,
                title=m.title,
                published=m.published,
                inspection_dates=m.inspection_dates,
                pages=r.pages,
                paragraphs=r.paragraphs,
                overall=m.overall,
                judgements="; ".join(f"{j.area}: {j.grade}" for j in m.judgements),
                lead_inspector=m.lead_inspector,
                file=r.path,
            )
        )
    for f in sorted(gen.failures, key=lambda f: f.path):
        out.append(LibraryRow(f"failed: {f.reason}", "", "", "", "", None, None, "", "", "", f.path))
    return out


def table(gen: Generation) -> list[list]:
    """Rows as lists, for a gr.Dataframe."""
    return [list(astuple(r)) for r in rows(gen)]
