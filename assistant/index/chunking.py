"""Paragraphs -> chunks: the units we embed, score and quote.

A chunk is one paragraph, or one run of whole sentences of a paragraph too long
for the model's 256-token window. Its quoted text is the report's text only; a
short context is added for scoring, never shown as a quote: the section heading
for embedding, and the header (authority, year, section) for keyword scoring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..language.vocab import GRADE_RE
from ..reports.document import HEADING, Report, ReportMeta
from .embed import MAX_TOKENS, count_tokens

# Bump when ingestion or chunking rules change what passages a file yields: an index
# built with another version is rebuilt rather than mixed. 3: judgement headings that
# wrap or follow an unpunctuated bullet open their section; footnote markers leave section names.
# 4: the embedded text carries the section only (authority and year stay in the keyword text).
# 5: judgement tables that print "Requires Improvement" with a capital I are read.
# 6: each passage carries the judgement it sits under and that judgement's grade.
CHUNKING_VERSION = 6
# A heading that names a grade says something on its own (tests import this name).
GRADED_HEADING = GRADE_RE
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u2019\u201d)]*\s+(?=[A-Z0-9\u2018\u201c(])")


@dataclass(frozen=True)
class Chunk:
    id: str  # "<file sha[:16]>:<paragraph index>:<part>" - stable across builds
    sha256: str  # the report's content hash
    paragraph: int  # paragraph index in the report
    part: int
    text: str  # verbatim passage
    header: str  # context for embedding/BM25, not quoted
    page: int  # first page of the passage
    number: int | None  # printed paragraph number
    section: str
    kind: str
    # The graded judgement the passage sits under (judgements.assign): its name as the
    # report prints it and its vocab.Grade value; "" where the report grades nothing there.
    judgement: str = ""
    grade: str = ""

    @property
    def embed_text(self) -> str:
        # Authority and year are filters, and are stripped from the question before it
        # is embedded: in the passage vector they only pulled every passage of a report
        # toward each other (dev hit@5 0.922 with them, 0.956 without; bench/RESULTS.md).
        return f"{self.section}\n{self.text}" if self.section else self.text

    @property
    def keyword_text(self) -> str:
        return f"{self.header}\n{self.text}"


def chunk_id(sha256: str, paragraph: int, part: int) -> str:
    return f"{sha256[:16]}:{paragraph}:{part}"


def header_for(report: Report, section: str) -> str:
    return header_from(report.meta, section)


def header_from(meta: ReportMeta, section: str) -> str:
    """The context header from report metadata alone: the store re-derives headers
    on load rather than writing one per passage."""
    bits = [meta.local_authority, meta.published[:4], section]
    return " · ".join(b for b in bits if b)


def split_sentences(text: str) -> list[str]:
    """Sentences as exact consecutive substrings of `text` (joined by single spaces)."""
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        parts.append(text[start : m.start() + len(m.group(0).rstrip())])
        start = m.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _pack(pieces: list[str], budget: int) -> list[str]:
    """Greedy runs of consecutive pieces whose token count fits `budget`."""
    sizes = [n - 2 for n in count_tokens(pieces)]  # drop [CLS]/[SEP] per piece
    out: list[str] = []
    cur: list[str] = []
    cur_n = 0
    for piece, n in zip(pieces, sizes, strict=True):
        if cur and cur_n + n > budget:
            out.append(" ".join(cur))
            cur, cur_n = [], 0
        if n > budget:
            # One overlong "sentence" (a list run together): cut between words.
            words = piece.split(" ")
            out.extend(_pack(words, budget) if len(words) > 1 else [piece])
            continue
        cur.append(piece)
        cur_n += n
    if cur:
        out.append(" ".join(cur))
    return out


def chunk_report(report: Report) -> list[Chunk]:
    """A parsed report's passages, in report order: what the index embeds, scores and quotes.

    In: a Report from ingestion (paragraphs with kind, section, pages, spans). Out: one
    Chunk per paragraph, or per run of whole sentences where a paragraph and its section
    overflow the model's MAX_TOKENS window, so a quote is never cut mid-sentence and
    nothing the model sees is silently truncated. Headings are left out (they travel with
    each paragraph as `section`) unless they carry a grade. Chunk ids are derived from the
    file hash and paragraph position, so they are stable across builds.
    """
    # Headings travel as `section`; only those carrying a judgement ("...in care: good",
    # "Children's services in X are inadequate") say something on their own.
    paragraphs = [p for p in report.paragraphs if p.text.strip() and (p.kind != HEADING or GRADED_HEADING.search(p.text))]
    headers = [header_for(report, p.section) for p in paragraphs]
    # The model's window holds what is embedded: the section and the passage.
    full = count_tokens([f"{p.section}\n{p.text}" if p.section else p.text for p in paragraphs])
    chunks: list[Chunk] = []
    for p, h, n in zip(paragraphs, headers, full, strict=True):
        if n <= MAX_TOKENS:
            texts = [p.text]
        else:
            budget = MAX_TOKENS - (count_tokens([p.section])[0] + 1 if p.section else 2)
            texts = _pack(split_sentences(p.text), budget)
        for part, t in enumerate(texts):
            page = p.pages[0]
            if len(p.spans) > 1 and part > 0:
                # Later parts of a page-spanning paragraph may start on its next page.
                offset = p.text.find(t)
                first_len = p.spans[0].end - p.spans[0].start
                page = p.spans[1].page if offset >= first_len else p.spans[0].page
            chunks.append(
                Chunk(
                    chunk_id(report.sha256, p.index, part),
                    report.sha256,
                    p.index,
                    part,
                    t,
                    h,
                    page,
                    p.number,
                    p.section,
                    p.kind,
                    judgement=p.judgement,
                    grade=p.grade,
                )
            )
    return chunks
