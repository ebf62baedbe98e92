"""Ingestion of the real sample PDFs: what a paragraph is, where it is, and
that it is made of the report's own words.

The expectations are derived from the raw text layer (pypdf, read here
independently of assistant.reports.ingest), so they hold for any report, not just
for the lines someone looked at.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass

import pytest
from pypdf import PdfReader

from assistant.reports import ingest
from assistant.reports.document import BODY, Report
from assistant.reports.layout import fold
from tests.support.paths import ROOT

BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
ILACS = (
    BEDFORD_2022,
    "80428_bedford/children's services inspection - 27 august 2025.pdf",
    "80431_blackpool/children's services inspection - 17 january 2019.pdf",
    "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf",
)
OLDER = (
    "80428_bedford/children's services inspection - 07 april 2017.pdf",
    "80418_norfolk/children's services inspection,  pdf - 16 august 2013.pdf",
)
ALL = ILACS + OLDER
HTML_NAMED_PDF = "80431_blackpool/children's services inspection - 13 july 2012.pdf"

# Optional line-end hyphen or soft hyphen: the only characters a join may drop.
_HY = "[-\u00ad]?"


@dataclass(frozen=True)
class Sample:
    report: Report
    raw: tuple[str, ...]  # pypdf's text of each page, read here, not by ingest


@pytest.fixture(scope="module")
def ingested(sample_corpus):
    """The whole sample corpus through the real worker pool, once."""
    return ingest.ingest_folder(sample_corpus)


@pytest.fixture(scope="module")
def samples(ingested, sample_corpus) -> dict[str, Sample]:
    out = {}
    for report in ingested.reports:
        raw = tuple(page.extract_text() for page in PdfReader(sample_corpus / report.path).pages)
        out[report.path] = Sample(report, raw)
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _loose(text: str) -> str:
    """Regex for `text` with white space removed, a hyphen optional between any two characters."""
    return _HY.join(re.escape(c) for c in _squash(text))


def _header_lines(raw: tuple[str, ...]) -> dict[int, list[str]]:
    """Running-header lines per page number: lines among the first three of a
    page whose digit-blind form recurs at the top of most pages. Lines with
    no words (bare page numbers) are left to the other checks."""
    tops = [[fold(line) for line in page.split("\n") if fold(line)][:3] for page in raw]
    seen = Counter(key for top in tops for key in {re.sub(r"\d+", "#", line) for line in top})
    need = max(3, len(raw) // 2)
    return {
        n: [line for line in top if seen[re.sub(r"\d+", "#", line)] >= need and len(re.findall(r"[A-Za-z]{2,}", line)) >= 1]
        for n, top in enumerate(tops, start=1)
    }


def test_the_whole_sample_is_read(ingested):
    assert sorted(r.path for r in ingested.reports) == sorted(ALL)
    assert [(f.path, f.reason) for f in ingested.failures] == [(HTML_NAMED_PDF, "not a PDF: it is an HTML page saved with a .pdf name")]


def test_raw_page_text_is_the_text_layer_untouched(samples):
    for path, s in samples.items():
        assert tuple(p.raw for p in s.report.pages) == s.raw, path
        assert [p.number for p in s.report.pages] == list(range(1, len(s.raw) + 1))


def test_running_headers_are_derived_from_the_sample(samples):
    with_headers = [path for path, s in samples.items() if any(_header_lines(s.raw).values())]
    assert len(with_headers) >= 4, with_headers
    # Guard for the generic derivation: it must find the headers we can see.
    raw = samples[BEDFORD_2022].raw
    headers = _header_lines(raw)
    assert headers[1] == []
    for n in range(2, len(raw) + 1):
        assert headers[n] == [
            "Inspection of Bedford Borough local authority children\u2019s services",
            f"15 to 26 November 2021 {n}",
        ]


@pytest.mark.parametrize("path", ALL)
def test_no_running_header_in_any_paragraph(samples, path):
    s = samples[path]
    headers = _header_lines(s.raw)
    for para in s.report.paragraphs:
        text = fold(para.text)
        for page in para.pages:
            for line in headers[page]:
                # A header line is furniture unless the page also says it in its body.
                body_uses = fold(s.raw[page - 1]).count(line) > 1
                assert body_uses or line not in text, f"p{page} header {line!r} in paragraph {para.index}: {text[:120]}"
        if 1 not in para.pages:
            every = {line for lines in headers.values() for line in lines}
            assert not [line for line in every if line in text], f"paragraph {para.index}: {text[:120]}"
        assert not re.fullmatch(r"\d{1,3}", text), f"a bare page number became paragraph {para.index}"


def test_bedford_2022_header_and_page_line_gone(samples):
    s = samples[BEDFORD_2022]
    texts = [p.text for p in s.report.paragraphs]
    assert not [t for t in texts if re.search(r"15 to 26 November 2021 \d", t)]
    assert not [t for t in texts if "Inspection of Bedford Borough local authority children\u2019s services" in t[1:]]
    # Paragraph 4 runs from page 2 on to page 3 across the header, and is joined.
    (p4,) = [p for p in s.report.paragraphs if p.number == 4 and p.kind == BODY]
    assert p4.pages == (2, 3)
    assert "has not been completed within allocated timescales" in p4.text


def _line_end_hyphens(raw: tuple[str, ...]):
    """(left line's last words, right line's first word) at each 'letter-' line end."""
    for page in raw:
        lines = [fold(line) for line in page.split("\n")]
        for left, right in zip(lines, lines[1:], strict=False):
            if re.search(r"[A-Za-z]-$", left) and re.match(r"[A-Za-z]", right):
                yield left.split()[-2:], right.split()[0]


@pytest.mark.parametrize("path", ALL)
def test_line_end_hyphen_joined_without_space(samples, path):
    s = samples[path]
    paras = "\n".join(fold(p.text) for p in s.report.paragraphs)
    found = list(_line_end_hyphens(s.raw))
    assert found, "every sample splits some compound across lines"
    for words, right in found:
        before = " ".join(words[:-1] + [""])
        kept, dropped = before + words[-1] + right, before + words[-1][:-1] + right
        assert kept in paras or dropped in paras, f"{words} / {right} not joined"
        assert f"{words[-1]} {right}" not in paras


def test_face_to_face_split_over_lines_is_one_word(samples):
    s = samples[BEDFORD_2022]
    assert "face-\nto-face" in s.raw[0].replace(" \n", "\n")
    assert any("continued to have face-to-face visits throughout" in p.text for p in s.report.paragraphs)


def _printed_numbers(raw: tuple[str, ...]) -> set[int]:
    return {int(m.group(1)) for page in raw for m in re.finditer(r"(?m)^\s*(\d{1,3})\.\s+[A-Z]", page)}


@pytest.mark.parametrize("path", ALL)
def test_paragraph_numbers_are_the_printed_ones_in_order(samples, path):
    s = samples[path]
    numbered = [p for p in s.report.paragraphs if p.kind == BODY and p.number is not None]
    numbers = [p.number for p in numbered]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert set(numbers) == _printed_numbers(s.raw) - {0}
    if path in ILACS:
        assert len(numbers) > 40
    for p in numbered:
        first = r"\s+".join(map(re.escape, p.text.split()[:4]))
        assert re.search(rf"(?m)^\s*{p.number}\.\s+{first}", s.raw[p.pages[0] - 1]), (p.number, p.text[:60])


@pytest.mark.parametrize("path", ALL)
def test_paragraph_is_on_its_pages_and_rebuilt_from_raw_by_joins_only(samples, path):
    """The reconstructibility property: squash white space on both sides; the
    paragraph must then match its pages' raw text with only hyphens optional,
    each page's part on that page, only furniture between pages."""
    s = samples[path]
    assert s.report.paragraphs
    for para in s.report.paragraphs:
        assert para.pages == tuple(sorted(set(para.pages))) and para.pages[0] >= 1
        assert len(para.spans) == len(para.pages)
        pieces = [s.report.pages[sp.page - 1].text[sp.start : sp.end] for sp in para.spans]
        assert tuple(sp.page for sp in para.spans) == para.pages
        # The parts (as the cleaned pages hold them) make up the paragraph.
        joined = "".join(re.escape(_squash(x)[:-1]) + "-?" if x.endswith("-") else re.escape(_squash(x)) for x in pieces)
        assert re.fullmatch(joined, _squash(para.text)), para.index
        raw = "\x00".join(_squash(s.raw[n - 1]) for n in para.pages)
        between = r"[^\x00]{0,400}\x00[^\x00]{0,400}"
        assert re.search(between.join(_loose(x) for x in pieces), raw), (
            f"paragraph {para.index} (pages {para.pages}) is not its pages' own text: {para.text[:120]}"
        )


@pytest.mark.parametrize("path", ALL)
def test_cleaned_pages_hold_the_paragraphs_and_nothing_else(samples, path):
    s = samples[path]
    for page in s.report.pages:
        spans = sorted((sp for p in s.report.paragraphs for sp in p.spans if sp.page == page.number), key=lambda sp: sp.start)
        assert "\n\n".join(page.text[sp.start : sp.end] for sp in spans) == page.text


def test_sections_and_kinds(samples):
    paras = samples[BEDFORD_2022].report.paragraphs
    (p1,) = [p for p in paras if p.number == 1 and p.kind == BODY]
    assert p1.section.startswith("The experiences and progress of children who need help")
    assert {p.kind for p in paras} >= {"heading", "body", "bullet", "judgement", "front"}
    assert [p.index for p in paras] == list(range(len(paras)))


_GRADED = re.compile(r"[:\s](requires\s+improvement\s+to\s+be\s+good|outstanding|good|inadequate)$", re.I)


@pytest.mark.parametrize("path", ILACS)
def test_each_graded_judgement_opens_its_own_section(samples, path):
    """The page-1 table grades each judgement; each but the overall one heads a
    section of the body, even where its heading wraps or follows a bullet with no
    full stop (2025 reports)."""
    r = samples[path].report
    graded = [j for j in r.meta.judgements if not j.area.lower().startswith("overall")]
    sections = {p.section for p in r.paragraphs if p.kind == BODY and _GRADED.search(p.section)}
    assert len(graded) >= 3
    assert len(sections) == len(graded), sorted(sections)
    assert not [p.text for p in r.paragraphs if p.kind in (BODY, "bullet") and _GRADED.search(p.text)]


@pytest.mark.parametrize("path", ALL)
def test_section_names_carry_no_footnote_marker(samples, path):
    r = samples[path].report
    assert not [p.section for p in r.paragraphs if re.search(r"[?a-z]\d$", p.section)]


def test_inspect_prints_metadata_and_numbered_paragraphs():
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "inspect", f"corpus/{BEDFORD_2022}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"file:              {BEDFORD_2022}" in lines
    assert "lead inspector:    Margaret Burke" in lines
    assert "overall:           Good" in lines
    assert "published:         2022-01-14" in lines
    assert "source:            https://files.ofsted.gov.uk/v1/file/50175284" in lines
    assert any(line.startswith("[p2 ¶1 body] Children and their families who need help have easy access") for line in lines)
    assert any(line.startswith("[p2-3 ¶4 body] Referral and advice officers (RAO) are thorough") for line in lines)
    assert any(line.startswith("[p1 ¶- judgement] Overall effectiveness Good") for line in lines)


def test_inspect_reports_a_bad_file():
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "inspect", f"corpus/{HTML_NAMED_PDF}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "not a PDF: it is an HTML page" in out.stderr


def test_judgement_table_with_a_capitalised_grade_word():
    """Isles of Scilly 2023 capitalises "Improvement" in one grade of its table; the rows
    after it, the overall grade among them, must still be read. (Here that grade also
    wraps onto a second line, as some tables print it.)"""
    from assistant.reports.layout import build_pages
    from assistant.reports.metadata import extract

    capitalised = ["Requires Improvement ", "to be good "]
    page1 = "\n".join(
        [
            "Inspection of Isles of Scilly local ",
            "authority children’s services  ",
            "Inspection dates: 11 to 13 July 2023 ",
            "Lead inspector: Tracey Ledder, His Majesty’s Inspector ",
            "Judgement Grade ",
            "The impact of leaders on social work ",
            "practice with children and families ",
            "Inadequate ",
            "The experiences and progress of ",
            "children in care ",
            *capitalised,
            "The experiences and progress of care ",
            "leavers  ",
            "Good ",
            "Overall effectiveness Inadequate ",
            "Services in the Isles of Scilly for children who need help and protection are inadequate. ",
        ]
    )
    _, paragraphs = build_pages([page1])
    meta = extract(paragraphs, "isles of scilly.pdf", None)
    assert meta.overall == "Inadequate"
    assert [j.grade for j in meta.judgements] == ["Inadequate", fold(" ".join(capitalised)), "Good", "Inadequate"]


def test_pdf_with_bytes_before_its_header_is_indexed_and_served(tmp_path, sample_corpus):
    """PDF readers accept a header anywhere in the first 1 KB; a file with bytes before
    "%PDF-" (a mail gateway's banner, say) is ingested, so its "open PDF" link must
    serve it too, by the same rule."""
    from assistant.app.service import corpus_file

    real = (sample_corpus / BEDFORD_2022).read_bytes()
    junk = b"X-Scanned-By: gateway 1.0\r\n" + bytes(range(256)) + b"\r\n"
    corpus = tmp_path / "c"
    (corpus / "80428_bedford").mkdir(parents=True)
    shifted = corpus / "80428_bedford" / "shifted.pdf"
    shifted.write_bytes(junk + real)
    assert ingest.pdf_header_offset(shifted.read_bytes()[:1024]) == len(junk)

    report = ingest.ingest_one(shifted, corpus)
    original = ingest.ingest_one(sample_corpus / BEDFORD_2022, sample_corpus)
    assert [p.text for p in report.paragraphs] == [p.text for p in original.paragraphs]
    assert corpus_file(corpus, tmp_path / "index", report.path) == shifted.resolve()

    # Past the first 1 KB the header does not count, on either side.
    far = corpus / "80428_bedford" / "far.pdf"
    far.write_bytes(b" " * 1024 + real)
    with pytest.raises(ingest.IngestError, match="no %PDF header"):
        ingest.ingest_one(far, corpus)
    assert corpus_file(corpus, tmp_path / "index", "80428_bedford/far.pdf") is None
