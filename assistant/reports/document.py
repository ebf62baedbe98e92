"""What ingestion hands to the rest of the system: a report as pages and paragraphs.

Frozen dataclasses so a parsed report can be shared between the indexer, the
inspector and the UI without anyone mutating it under the others' feet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..language.vocab import Kind

# Paragraph kinds (vocab.Kind), importable from here as before.
BODY = Kind.BODY
BULLET = Kind.BULLET
HEADING = Kind.HEADING
FOOTNOTE = Kind.FOOTNOTE
JUDGEMENT = Kind.JUDGEMENT
FRONT = Kind.FRONT


@dataclass(frozen=True)
class Span:
    """Where (part of) a paragraph sits in the cleaned text of one page."""

    page: int  # 1-based physical page
    start: int
    end: int


@dataclass(frozen=True)
class Paragraph:
    index: int  # position in the report, 0-based
    text: str  # verbatim, white space folded, line-end hyphenation joined
    pages: tuple[int, ...]
    number: int | None  # the printed paragraph number, None where not numbered
    section: str  # the heading this paragraph falls under ("" before any)
    kind: str
    spans: tuple[Span, ...] = ()
    # The graded judgement it sits under (judgements.assign): the name as printed and its
    # vocab.Grade value; "" where the report grades nothing there.
    judgement: str = ""
    grade: str = ""


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    raw: str  # what the PDF's text layer gave, untouched
    text: str  # cleaned: furniture removed, paragraphs re-flowed, "\n\n" between them


@dataclass(frozen=True)
class Judgement:
    area: str
    grade: str


@dataclass(frozen=True)
class ReportMeta:
    """Facts about a report. Empty string means the report does not say."""

    title: str = ""
    local_authority: str = ""
    inspection_dates: str = ""
    published: str = ""  # ISO date
    lead_inspector: str = ""
    overall: str = ""  # overall effectiveness grade
    judgements: tuple[Judgement, ...] = ()
    source_url: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> ReportMeta:
        d = dict(d)
        d["judgements"] = tuple(Judgement(**j) for j in d.get("judgements", ()))
        return cls(**d)


@dataclass(frozen=True)
class Report:
    path: str  # relative to the corpus folder, "/"-separated
    sha256: str  # content hash: the report's identity
    size: int
    meta: ReportMeta
    pages: tuple[Page, ...]
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class IngestFailure:
    path: str
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IngestResult:
    reports: list[Report] = field(default_factory=list)
    failures: list[IngestFailure] = field(default_factory=list)
