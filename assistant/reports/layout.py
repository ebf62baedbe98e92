"""Raw page text -> cleaned pages and paragraphs.

Works on the text layer alone (no fonts or coordinates), so it applies to any
report whose PDF has one. Every rule here may only *remove* lines (running
headers, page numbers) or *join* lines (white space, line-end hyphens): a
paragraph's words are always the report's own words, in the report's order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..language.vocab import (
    FOOTNOTES_SECTION,
    GRADE_AT_END_RE,
    GRADE_LINE_RE,
    GRADE_WRAP_HEAD,
    GRADE_WRAP_TAIL,
    GRADED_HEADING_RE,
    JUDGEMENTS_SECTION,
    LABEL_RE,
    TABLE_HEAD_RE,
)
from ..settings import DEFAULTS
from .document import BODY, BULLET, FOOTNOTE, FRONT, HEADING, JUDGEMENT, Page, Paragraph, Span

# Bullet glyphs, including Symbol/Wingdings ones that land in the private use area.
_BULLET_RE = re.compile(r"^[\u2022\u25aa\u25fc\u25a0\u25cf\u25e6\u27a2\uf000-\uf0ff]\s*")
_NUMBERED_RE = re.compile(r"^(\d{1,3})\.\s+(?=\S)")
_TERMINAL_RE = re.compile(r"[.!?:;][\"'\u2019\u201d)\]]*$")
# Paragraphs not under a printed heading get these section labels.
_KIND_SECTIONS: dict[str, str] = {JUDGEMENT: JUDGEMENTS_SECTION, FOOTNOTE: FOOTNOTES_SECTION}
# A footnote marker glued to the end of a heading ("What needs to improve?1").
_MARKER_END_RE = re.compile(r"(?<=[?)a-z\u2019])(\d{1,2})$")
_FOOTNOTE_START_RE = re.compile(r"^(\d{1,2})\s+(?=[A-Z\u2018\u201c'\"(a-z])")
_WORD_HYPHEN_END_RE = re.compile(r"([A-Za-z]+)-$")
_WORD_START_RE = re.compile(r"^([A-Za-z]+)")


def fold(text: str) -> str:
    """Collapse every run of white space (incl. non-breaking) to one space."""
    return " ".join(text.split())


def _norm(line: str) -> str:
    return re.sub(r"\d+", "#", fold(line)).lower()


@dataclass
class _Line:
    page: int  # 1-based
    text: str  # stripped, white space folded
    blank_before: bool


@dataclass
class _Block:
    kind: str
    lines: list[_Line] = field(default_factory=list)
    number: int | None = None
    prefix_len: int = 0  # chars of the first line that are a marker ("12. ", bullet)
    closed: bool = False  # nothing more may be appended


def find_furniture(
    pages: list[list[str]], edge_lines: int = DEFAULTS.ingest.edge_lines, share: float = DEFAULTS.ingest.furniture_share
) -> set[tuple[int, int]]:
    """(page index, line index) of running headers, footers and page numbers.

    Only lines in the `edge_lines` at the top and bottom of a page, where running headers,
    footers and page numbers live, are ever removed; one is furniture when its digit-blind
    form repeats on `share` of the pages (and on at least 3): robust to "page 7 of 12" and dates."""
    n = len(pages)
    if n < 3:
        return set()
    seen: Counter[str] = Counter()
    edges: list[list[tuple[int, str]]] = []
    for lines in pages:
        idx = [i for i, line in enumerate(lines) if line.strip()]
        region = idx[:edge_lines] + idx[-edge_lines:]
        cand = [(i, _norm(lines[i])) for i in dict.fromkeys(region)]
        edges.append(cand)
        seen.update({key for _, key in cand})
    need = max(3, int(share * n + 0.999))
    return {(p, i) for p, cand in enumerate(edges) for i, key in cand if seen[key] >= need}


def _footnote_start(lines: list[tuple[str, bool]], page_text: str) -> int | None:
    """Index in `lines` where the page's footnotes begin, if it has any.

    A footnote is a line "N Text..." in the lower half of the page, after a
    gap, whose number N also appears as a marker glued to a word above it
    ("Board1", "improve?1"). Everything after it on the page is footnote text.
    """
    half = len(lines) // 2
    for i in range(half, len(lines)):
        text, blank_before = lines[i]
        m = _FOOTNOTE_START_RE.match(text)
        if not m or not blank_before:
            continue
        marker = re.compile(r"[A-Za-z)?.,\u2019]" + m.group(1) + r"(?!\d)")
        if marker.search(page_text[: page_text.find(text)] if text in page_text else page_text):
            return i
    return None


class _Vocabulary:
    """Which spelling the report itself uses, to undo hyphenation at line ends.

    Ofsted's PDFs come from word processors that rarely hyphenate, so a line
    ending in "-" is usually a real compound ("face-to-face"): the hyphen is
    kept unless the report spells the joined word without it elsewhere.
    """

    def __init__(self, raw_pages: list[str]):
        words = re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", "\n".join(raw_pages))
        self.plain = {w.lower() for w in words if "-" not in w}
        self.hyphenated = {w.lower() for w in words if "-" in w}

    def join(self, left: str, right: str) -> str:
        m, n = _WORD_HYPHEN_END_RE.search(left), _WORD_START_RE.match(right)
        if left.endswith("\u00ad"):
            return left[:-1] + right
        if not left.endswith("-") or not m or not n:
            return f"{left} {right}"
        a, b = m.group(1).lower(), n.group(1).lower()
        if a + b in self.plain and f"{a}-{b}" not in self.hyphenated:
            return left[:-1] + right
        return left + right


def _is_terminal(text: str) -> bool:
    return bool(_TERMINAL_RE.search(text))


def _fits(prev: str, nxt: str, width: int) -> bool:
    """Would the next line's first word have fitted on the previous line?
    If so, the previous line was ended on purpose: a paragraph break."""
    return len(prev) + 1 + len(nxt.split()[0]) <= 0.9 * width


def _continues_on_next_page(prev: _Block, line: _Line, width: int) -> bool:
    last = prev.lines[-1].text
    if line.text[:1].islower():
        return True
    if not _is_terminal(last):
        return not _fits(last, line.text, width)
    # A numbered paragraph often breaks between sentences; only a full last line
    # (and no heading-like first line) says the paragraph went on.
    heading_like = len(line.text) < 0.7 * width and not _is_terminal(line.text)
    return prev.number is not None and not _fits(last, line.text, width) and not heading_like


def _looks_like_heading(text: str, n_lines: int) -> bool:
    if not text or n_lines > 3 or len(text) > 160 or len(text.split()) > 22:
        return False
    if not (text[0].isupper() or text[0].isdigit()):
        return False
    if text.endswith("?"):
        return len(text) <= 80
    return not re.search(r"[.;,:]$", text)


def _typical_width(lines: list[_Line]) -> int:
    widths = sorted(len(line.text) for line in lines)
    if not widths:
        return 80
    return max(40, widths[int(0.9 * (len(widths) - 1))])


def _judgement_table(lines: list[_Line], start: int) -> tuple[list[_Block], int]:
    """Rows of a judgement table starting at lines[start]; returns (rows, next index).

    Each row is the lines up to and including the one that ends in a grade.
    Stops at the first run of lines that does not close with a grade.
    """
    rows: list[_Block] = []
    i, buf = start, []
    while i < len(lines):
        buf.append(lines[i])
        i += 1
        joined = fold(" ".join(line.text for line in buf))
        if joined.lower().endswith(GRADE_WRAP_HEAD) and i < len(lines) and lines[i].text.startswith(GRADE_WRAP_TAIL):
            continue  # the grade wraps: "Requires improvement / to be good"
        if GRADE_AT_END_RE.search(joined):
            rows.append(_Block(JUDGEMENT, buf))
            buf = []
        elif len(buf) >= 5 or _NUMBERED_RE.match(lines[i - 1].text) and len(buf) > 1:
            i -= len(buf)
            break
    else:
        i -= len(buf)
    return rows, i


def _table_starts(lines: list[_Line], i: int) -> bool:
    """Judgement tables open page 1: a "Judgement Grade" header, or (older
    reports) numbered rows such as "1. Children who need help ... Good"."""
    if lines[i].page != 1:
        return False
    if TABLE_HEAD_RE.match(lines[i].text):
        return True
    if _NUMBERED_RE.match(lines[i].text):
        window = fold(" ".join(line.text for line in lines[i : i + 2]))
        return bool(GRADE_AT_END_RE.search(fold(lines[i].text))) or bool(GRADE_AT_END_RE.search(window))
    return False


def _opens_graded_heading(lines: list[_Line], i: int) -> bool:
    """Does a judgement heading start at lines[i], on this line or wrapped onto the next?
    It opens a new block even when the line above did not end with a full stop, as
    the last "What needs to improve?" bullet often does not."""
    if GRADED_HEADING_RE.match(lines[i].text):
        return True
    nxt = lines[i + 1] if i + 1 < len(lines) else None
    return bool(nxt and nxt.page == lines[i].page and not nxt.blank_before and GRADED_HEADING_RE.match(f"{lines[i].text} {nxt.text}"))


def _blocks(lines: list[_Line]) -> list[_Block]:
    width = _typical_width(lines)
    blocks: list[_Block] = []
    last_number = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if _table_starts(lines, i):
            start = i
            if TABLE_HEAD_RE.match(line.text):
                blocks.append(_Block(HEADING, [line]))
                i += 1
            rows, i = _judgement_table(lines, i)
            blocks.extend(rows)
            if rows or i != start:
                continue
            i = start
        prev = blocks[-1] if blocks else None
        prev_line = prev.lines[-1] if prev else None
        num = _NUMBERED_RE.match(line.text)
        bullet = _BULLET_RE.match(line.text)
        label = LABEL_RE.match(line.text)
        new_page = prev_line is not None and prev_line.page != line.page

        if num and (last_number < int(num.group(1)) <= last_number + 3 or int(num.group(1)) == 1):
            last_number = int(num.group(1))
            blocks.append(_Block(BODY, [line], number=last_number, prefix_len=num.end()))
        elif bullet:
            blocks.append(_Block(BULLET, [line], prefix_len=bullet.end()))
        elif label:
            blocks.append(_Block(FRONT, [line]))
        elif prev is None or prev_line is None or prev.kind in (HEADING, JUDGEMENT) or prev.closed:
            blocks.append(_Block(BODY, [line]))
        elif prev.kind == FRONT:
            # "Lead inspector: Jane Smith" may wrap its title onto one short line.
            if len(prev.lines) == 1 and len(line.text.split()) <= 4 and not line.blank_before and not TABLE_HEAD_RE.match(line.text):
                prev.lines.append(line)
            else:
                blocks.append(_Block(BODY, [line]))
        elif new_page:
            # A paragraph runs on to the next page unless it had visibly ended.
            if _continues_on_next_page(prev, line, width):
                prev.lines.append(line)
            else:
                blocks.append(_Block(BODY, [line]))
        elif line.blank_before or _opens_graded_heading(lines, i):
            blocks.append(_Block(BODY, [line]))
        elif GRADE_LINE_RE.match(line.text) and prev.kind == BODY and all(len(x.text) < 0.7 * width for x in prev.lines):
            # Older reports print a section's grade on the line under its heading.
            prev.lines.append(line)
            prev.closed = True
        elif _is_terminal(prev_line.text) and _fits(prev_line.text, line.text, width) and not line.text[:1].islower():
            blocks.append(_Block(BODY, [line]))
        elif (
            len(prev_line.text) < 0.7 * width
            and _fits(prev_line.text, line.text, width)
            and not _is_terminal(prev_line.text)
            and not prev_line.text.endswith((",", "-", "\u2013", "and", "or", "of", "the"))
            and (line.text[:1].isupper() or line.text[:1].isdigit())
            and all(len(x.text) < 0.7 * width for x in prev.lines)
            and prev.kind == BODY
            and prev.number is None
        ):
            # A short unpunctuated line followed by a capital: a heading line.
            blocks.append(_Block(BODY, [line]))
        else:
            prev.lines.append(line)
        i += 1
    return blocks


def build_pages(raw_pages: list[str]) -> tuple[list[Page], list[Paragraph]]:
    """Clean a report's raw page texts into pages and paragraphs."""
    split = [raw.split("\n") for raw in raw_pages]
    furniture = find_furniture(split)
    vocab = _Vocabulary(raw_pages)

    body: list[_Line] = []
    notes: dict[int, list[_Line]] = {}
    for p, lines in enumerate(split):
        kept: list[tuple[str, bool]] = []
        blank = False
        for i, raw_line in enumerate(lines):
            if (p, i) in furniture:
                continue
            text = fold(raw_line)
            if not text:
                blank = True
                continue
            kept.append((text, blank))
            blank = False
        cut = _footnote_start(kept, fold(raw_pages[p]))
        page_lines = [_Line(p + 1, t, b) for t, b in kept]
        if cut is not None:
            notes[p + 1] = page_lines[cut:]
            page_lines = page_lines[:cut]
        body.extend(page_lines)

    blocks = _blocks(body)
    for page, note_lines in sorted(notes.items()):
        # Footnotes sit after the body; each "N text" line opens a new one.
        for line in note_lines:
            if _FOOTNOTE_START_RE.match(line.text) or not blocks or blocks[-1].kind != FOOTNOTE or blocks[-1].lines[-1].page != page:
                blocks.append(_Block(FOOTNOTE, [line]))
            else:
                blocks[-1].lines.append(line)
    blocks = _classify(blocks)
    marks = {(page, int(m.group(1))) for page, lines in notes.items() for line in lines if (m := _FOOTNOTE_START_RE.match(line.text))}
    return _assemble(raw_pages, blocks, vocab, marks)


def _classify(blocks: list[_Block]) -> list[_Block]:
    for b in blocks:
        if b.kind == BODY and b.number is None:
            text = fold(" ".join(line.text for line in b.lines))
            if _looks_like_heading(text, len(b.lines)):
                b.kind = HEADING
    return blocks


def _piece_text(lines: list[_Line], vocab: _Vocabulary, skip: int) -> str:
    out = ""
    for k, line in enumerate(lines):
        t = line.text[skip:] if k == 0 else line.text
        out = vocab.join(out, t) if out else t
    return out.strip()


def _section_name(heading: _Block, text: str, marks: set[tuple[int, int]]) -> str:
    """The heading as a section label: without a footnote marker that the page's footnotes explain."""
    m = _MARKER_END_RE.search(text)
    if m and (heading.lines[-1].page, int(m.group(1))) in marks:
        return text[: m.start()]
    return text


def _assemble(raw_pages: list[str], blocks: list[_Block], vocab: _Vocabulary, marks: set[tuple[int, int]]) -> tuple[list[Page], list[Paragraph]]:
    page_parts: dict[int, list[str]] = {i + 1: [] for i in range(len(raw_pages))}
    page_len: dict[int, int] = {i + 1: 0 for i in range(len(raw_pages))}
    paragraphs: list[Paragraph] = []
    section = ""
    parent_number: int | None = None
    order = sorted(range(len(blocks)), key=lambda k: (blocks[k].kind == FOOTNOTE, 0))
    for k in order:
        b = blocks[k]
        # Split the block's lines by page, so each page's cleaned text holds its own part.
        groups: list[list[_Line]] = []
        for line in b.lines:
            if groups and groups[-1][-1].page == line.page:
                groups[-1].append(line)
            else:
                groups.append([line])
        pieces = [_piece_text(g, vocab, b.prefix_len if gi == 0 else 0) for gi, g in enumerate(groups)]
        if not any(pieces):
            continue
        text = ""
        spans = []
        for g, piece in zip(groups, pieces, strict=True):
            if not piece:
                continue
            page = g[0].page
            start = page_len[page] + (2 if page_parts[page] else 0)
            page_parts[page].append(piece)
            page_len[page] = start + len(piece)
            spans.append(Span(page, start, start + len(piece)))
            text = vocab.join(text, piece) if text else piece
        if b.kind == HEADING:
            section = _section_name(b, text, marks)
            parent_number = None
        number = b.number
        if b.kind == BODY:
            parent_number = b.number
        elif b.kind == BULLET:
            # A bullet inside a numbered paragraph is cited by that paragraph's number.
            number = parent_number
        elif b.kind in (FRONT, JUDGEMENT):
            parent_number = None
            # What follows the judgement table is the summary, not under a heading.
            section = "" if b.kind == JUDGEMENT else section
        kind_section = _KIND_SECTIONS.get(b.kind, section)
        paragraphs.append(
            Paragraph(
                index=len(paragraphs),
                text=text,
                pages=tuple(dict.fromkeys(s.page for s in spans)),
                number=number,
                section=kind_section,
                kind=b.kind,
                spans=tuple(spans),
            )
        )
    pages = [Page(number=i + 1, raw=raw, text="\n\n".join(page_parts[i + 1])) for i, raw in enumerate(raw_pages)]
    return pages, paragraphs
