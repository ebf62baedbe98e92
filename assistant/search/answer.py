"""Hits and answers: what retrieval returns, and the JSON contract of
`python -m assistant ask --json` and the Gradio `ask` endpoint.

The JSON shape is a public contract: add fields, never rename or remove them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from .query import Filters


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    source: str  # report path relative to the corpus folder
    title: str
    local_authority: str
    published: str  # ISO date or ""
    page: int
    paragraph: int | None
    section: str
    text: str  # verbatim passage
    highlight: tuple[str, ...]  # exact substrings of `text`
    citation: str
    url: str
    chunk_id: str = ""
    judgement: str = ""  # the graded judgement the passage sits under, as the report names it
    grade: str = ""  # that judgement's grade ("good", "requires improvement", ...); "" where none is printed
    report_grade: str = ""  # the report's overall effectiveness grade, as `grade` spells grades
    # The re-ranker's calibrated probability that the passage answers the question (None where
    # it did not score it: front-page answers, passages below its depth, no re-ranker).
    relevance: float | None = None

    def to_json(self) -> dict:
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "source": self.source,
            "title": self.title,
            "local_authority": self.local_authority,
            "published": self.published,
            "page": self.page,
            "paragraph": self.paragraph,
            "section": self.section,
            "text": self.text,
            "highlight": list(self.highlight),
            "citation": self.citation,
            "url": self.url,
            "judgement": self.judgement,
            "grade": self.grade,
            "report_grade": self.report_grade,
            "relevance": None if self.relevance is None else round(self.relevance, 4),
        }


@dataclass(frozen=True)
class Answer:
    question: str
    filters: Filters
    hits: tuple[Hit, ...]
    month: int | None = None
    intent: str = ""
    notes: tuple[str, ...] = ()  # e.g. "no report for Bedford in 2019; searched 2018-2020"
    generation: str = ""
    authority_names: dict[str, str] = field(default_factory=dict)  # filter key -> display name
    # Why no passage is shown although the library was searched ("no report for
    # Swansea in this library", "nothing in the reports matches"); "" when answered.
    abstained: str = ""
    also_searched: tuple[str, ...] = ()  # glossary terms added to the question's own words
    suggestions: tuple[str, ...] = ()  # what the library does hold, when it abstains
    # The answerability model's chance that the library answers the question (search/answerable.py);
    # None where no model read it (another embedder, a re-ranker, a front-page question).
    answerable: float | None = None

    @property
    def places_abstained(self) -> bool:
        """No passage because the question is about a place the library holds no report for."""
        return self.abstained.startswith("no report for ")

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "filters": filters_json(self.filters, self.authority_names),
            "hits": [h.to_json() for h in self.hits],
            "abstained": self.abstained or None,
            "also_searched": list(self.also_searched),
            "suggestions": list(self.suggestions),
            "answerable": self.answerable,
        }


def filters_json(f: Filters, authority_names: dict[str, str]) -> dict:
    """The filters as the JSON contract shows them: authorities by display name."""
    return {
        "authorities": [authority_names.get(a, a) for a in f.authorities],
        "from": f.year_from,
        "to": f.year_to,
        "reports": list(f.reports),
    }


def citation(title: str, authority: str, published: str, page: int, paragraph: int | None, url: str) -> str:
    """One line a researcher can paste: Ofsted (2022) Title, Authority, p. 3, para. 4. URL"""
    year = published[:4] if published else "n.d."
    bits = [f"Ofsted ({year}) {title or 'Inspection report'}", authority, f"published {published}" if published else "", f"p. {page}"]
    if paragraph is not None:
        bits.append(f"para. {paragraph}")
    line = ", ".join(b for b in bits if b) + "."
    return f"{line} {url}" if url else line


def file_link(source: str, page: int, base: str = "/report/") -> str:
    """Link the app serves for a corpus file, opened at `page` by the browser's PDF viewer."""
    return f"{base}{quote(source)}#page={page}"
