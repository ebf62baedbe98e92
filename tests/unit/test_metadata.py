"""Report metadata against what the sample PDFs print, and the precedence of
sources: the report's text first, then its file name, then manifest.csv."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.reports import ingest, metadata
from assistant.reports.document import HEADING, Judgement, ReportMeta
from assistant.settings import IngestSettings
from tests.support.paths import ROOT

BEDFORD_2017 = "80428_bedford/children's services inspection - 07 april 2017.pdf"
BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"
NORTH_NORTHANTS_2026 = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
BLACKPOOL_2019 = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
NORFOLK_2013 = "80418_norfolk/children's services inspection,  pdf - 16 august 2013.pdf"


def _overall_on_page_1(rel: str) -> str:
    """The grade Bedford 2025 prints in its page-1 table, read from the PDF itself."""
    import re

    from pypdf import PdfReader

    text = PdfReader(ROOT / "corpus" / rel).pages[0].extract_text()
    return " ".join(re.search(r"Overall effectiveness (.+)", text).group(1).split())


RI = _overall_on_page_1(BEDFORD_2025)
ILACS_AREAS = (
    "The impact of leaders on social work practice with children and families",
    "The experiences and progress of children who need help and protection",
)

# Read off each PDF's page 1 (Bedford 2017's lead inspector is on page 34).
EXPECTED = {
    BEDFORD_2022: dict(
        lead="Margaret Burke",
        overall="Good",
        authority="Bedford Borough",
        dates="15 to 26 November 2021",
        judgements=[
            (ILACS_AREAS[0], "Good"),
            (ILACS_AREAS[1], "Good"),
            ("The experiences and progress of children in care and care leavers", "Good"),
            ("Overall effectiveness", "Good"),
        ],
    ),
    BEDFORD_2025: dict(
        lead="Amanda Maxwell",
        overall=RI,
        authority="Bedford",
        dates="14 to 18 July 2025",
        judgements=[
            (ILACS_AREAS[0], RI),
            (ILACS_AREAS[1], RI),
            ("The experiences and progress of children in care", RI),
            ("The experiences and progress of children care leavers", RI),
            ("Overall effectiveness", RI),
        ],
    ),
    NORTH_NORTHANTS_2026: dict(
        lead="David Cohen",
        overall="",
        authority="North Northamptonshire",
        dates="11 to 22 May 2026",
        judgements=[
            ("The impact of leaders on practice with children and families", "Outstanding"),
            (ILACS_AREAS[1], "Good"),
            ("The experiences and progress of children in care", "Good"),
            ("The experiences and progress of care leavers", "Good"),
        ],
    ),
    BLACKPOOL_2019: dict(
        lead="Lorna Schlechte",
        overall="Inadequate",
        authority="Blackpool Borough Council",
        dates="26 November 2018 to 7 December 2018",
        judgements=[
            (ILACS_AREAS[0], "Inadequate"),
            (ILACS_AREAS[1], "Inadequate"),
            ("The experiences and progress of children in care and care leavers", RI),
            ("Overall effectiveness", "Inadequate"),
        ],
    ),
    BEDFORD_2017: dict(
        lead="Donna Marriott",
        overall=RI,
        authority="Bedford Borough",
        dates="23 January 2017 \u2013 16 February 2017",
        judgements=[
            ("Children who need help and protection", "Requires improvement"),
            ("Children looked after and achieving permanence", "Requires improvement"),
            ("Adoption performance", "Good"),
            ("Experiences and progress of care leavers", "Good"),
            ("Leadership, management and governance", "Requires improvement"),
        ],
    ),
    # Page 1 prints no grades; its findings table is on page 23, so grades are not asserted.
    NORFOLK_2013: dict(lead="Gary Lamb", overall=None, authority="Norfolk", dates="8 \u2013 12 July 2013", judgements=None),
}


@pytest.fixture(scope="module")
def reports(sample_corpus):
    manifest = metadata.read_manifest(sample_corpus)
    return {rel: ingest.read_report(sample_corpus / rel, rel, IngestSettings(), manifest.get(rel)) for rel in EXPECTED}


@pytest.mark.parametrize("path", list(EXPECTED))
def test_lead_inspector_and_grades_match_page_one(reports, path):
    meta, want = reports[path].meta, EXPECTED[path]
    assert meta.lead_inspector == want["lead"]
    assert meta.local_authority == want["authority"]
    assert meta.inspection_dates == want["dates"]
    if want["overall"] is not None:
        assert meta.overall == want["overall"]
    if want["judgements"] is not None:
        assert list(meta.judgements) == [Judgement(a, g) for a, g in want["judgements"]]


def test_published_date_from_report_text_file_name_and_manifest(reports, sample_corpus):
    manifest = metadata.read_manifest(sample_corpus)
    for rel, report in reports.items():
        assert report.meta.published == manifest[rel].published
        assert report.meta.source_url == manifest[rel].source_url
    assert reports[BEDFORD_2017].meta.published == "2017-04-07"  # "Report published: 7 April 2017"
    assert reports[NORFOLK_2013].meta.published == "2013-08-16"  # "Published: 16 August 2013"


def _meta_of(path: Path, root: Path):
    return ingest.read_report(
        path, path.relative_to(root).as_posix(), IngestSettings(), metadata.read_manifest(root).get(path.relative_to(root).as_posix())
    ).meta


def test_copy_without_manifest_row_reads_authority_and_date_from_text_and_name(tmp_path, sample_corpus):
    dst = tmp_path / "downloads" / "children's services inspection - 14 january 2022.pdf"
    dst.parent.mkdir()
    shutil.copyfile(sample_corpus / BEDFORD_2022, dst)
    (tmp_path / "manifest.csv").write_text("path,local_authority,publication_date,source_url\n", encoding="utf-8")
    meta = _meta_of(dst, tmp_path)
    assert meta.local_authority == "Bedford Borough"  # the report's text, not a folder name
    assert meta.published == "2022-01-14"  # the file name
    assert meta.lead_inspector == "Margaret Burke" and meta.source_url == ""


def test_copy_with_an_uninformative_name_has_no_published_date(tmp_path, sample_corpus):
    dst = tmp_path / "report.pdf"
    shutil.copyfile(sample_corpus / BEDFORD_2022, dst)
    meta = _meta_of(dst, tmp_path)
    assert meta.local_authority == "Bedford Borough"
    assert meta.published == ""  # the report does not say; nothing is guessed


def test_text_beats_file_name_beats_manifest(tmp_path, sample_corpus):
    folder = tmp_path / "99999_elsewhere"
    folder.mkdir()
    stated = folder / "inspection - 01 january 2020.pdf"  # the report itself says 7 April 2017
    named = folder / "inspection - 14 january 2022.pdf"  # the report says no publication date
    shutil.copyfile(sample_corpus / BEDFORD_2017, stated)
    shutil.copyfile(sample_corpus / BEDFORD_2022, named)
    (tmp_path / "manifest.csv").write_text(
        "path,local_authority,publication_date,source_url\n"
        f"99999_elsewhere/{stated.name},elsewhere,2030-03-03,https://example.org/a\n"
        f"99999_elsewhere/{named.name},elsewhere,2030-03-03,https://example.org/b\n",
        encoding="utf-8",
    )
    a, b = _meta_of(stated, tmp_path), _meta_of(named, tmp_path)
    assert (a.local_authority, a.published, a.source_url) == ("Bedford Borough", "2017-04-07", "https://example.org/a")
    assert (b.local_authority, b.published, b.source_url) == ("Bedford Borough", "2022-01-14", "https://example.org/b")


def test_manifest_fills_what_text_and_name_do_not_say(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Some notes on a visit.\n\nNothing here names a council or a date.\n", encoding="utf-8")
    (tmp_path / "manifest.csv").write_text(
        "path,local_authority,publication_date,source_url\nnotes.txt,milton keynes,2024-05-06,https://example.org/n\n",
        encoding="utf-8",
    )
    meta = _meta_of(path, tmp_path)
    assert (meta.local_authority, meta.published, meta.source_url) == ("Milton Keynes", "2024-05-06", "https://example.org/n")


def test_folder_name_gives_authority_when_nothing_else_does(tmp_path):
    path = tmp_path / "12345_st helens" / "notes.txt"
    path.parent.mkdir()
    path.write_text("A note.\n", encoding="utf-8")
    assert _meta_of(path, tmp_path).local_authority == "St Helens"


def test_title_naming_the_authority_is_judged_on_the_title_not_a_later_paragraph():
    """Older reports open with the authority's name alone; whether a paragraph further
    down has a page must not decide that (it once did, through a leftover loop variable)."""
    from assistant.reports.document import BODY, Paragraph

    paragraphs = [
        Paragraph(0, "Bedford Borough", (1,), None, "", HEADING),
        Paragraph(1, "Inspection of services for children in need of help and protection", (1,), None, "", BODY),
        # A paragraph with no page: no layer says where it is printed.
        Paragraph(2, "Unplaced text.", (), None, "", BODY),
    ]
    meta = metadata.extract(paragraphs, "99999_elsewhere/report.pdf", None)
    assert meta.local_authority == "Bedford Borough"


@pytest.mark.parametrize(
    "lines, overall",
    [
        (["The overall judgement is inadequate"], "Inadequate"),
        (["The overall judgement is that children\u2019s services are good The local authority leads effective services"], "Good"),
        # Printed over two lines, which layout reads as two headings.
        (["Children\u2019s services in the Royal Borough of Kingston upon", "Thames are good"], "Good"),
    ],
)
def test_sif_overall_judgement_in_its_other_spellings(lines, overall):
    """2014-15 reports state the overall grade in words other than "Children's services in X
    are ..."; 58 reports of the shared corpus had no overall grade before these were read."""
    from assistant.reports.document import Paragraph

    paragraphs = [Paragraph(0, "Somewhere Council", (1,), None, "", HEADING)]
    paragraphs += [Paragraph(i + 1, t, (1,), None, "", HEADING) for i, t in enumerate(lines)]
    assert metadata.extract(paragraphs, "1_somewhere/report.pdf", None).overall == overall


MARKDOWN = """# Inspection of Luton local authority children's services

Inspection dates: 3 to 14 March 2025

Lead inspector: Jane Doe, His Majesty's Inspector

## The experiences and progress of children in care

Children in care live in stable homes
and see their social workers often.

Care leavers are helped to find
somewhere to live.
"""


def test_markdown_is_ingested_into_paragraphs_and_metadata(tmp_path):
    path = tmp_path / "luton - 02 may 2025.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    report = ingest.read_report(path, path.name, IngestSettings(), None)
    texts = [(p.kind, p.text) for p in report.paragraphs]
    assert texts[0] == (HEADING, "Inspection of Luton local authority children's services")
    assert ("body", "Children in care live in stable homes and see their social workers often.") in texts
    assert report.paragraphs[-1].section == "The experiences and progress of children in care"
    assert report.paragraphs[-1].pages == (1,)
    meta = report.meta
    assert (meta.local_authority, meta.published, meta.lead_inspector) == ("Luton", "2025-05-02", "Jane Doe")
    assert meta.inspection_dates == "3 to 14 March 2025"


def test_plain_text_is_ingested_into_paragraphs(tmp_path):
    path = tmp_path / "visit.txt"
    path.write_text("First paragraph, line one\nand line two.\n\n\nSecond paragraph.\n", encoding="utf-8")
    report = ingest.read_report(path, path.name, IngestSettings(), None)
    assert [p.text for p in report.paragraphs] == ["First paragraph, line one and line two.", "Second paragraph."]
    page = report.pages[0]
    assert [page.text[s.start : s.end] for p in report.paragraphs for s in p.spans] == [p.text for p in report.paragraphs]


def test_html_is_ingested_without_scripts_or_styles(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<h2>Help and protection</h2><p>Children are seen <b>promptly</b>.</p>"
        "<script>alert('x')</script><ul><li>Plans are clear.</li></ul>"
        "<p>Fish &amp; chips &lt;b&gt; stay as text.</p></body></html>",
        encoding="utf-8",
    )
    report = ingest.read_report(path, path.name, IngestSettings(), None)
    assert [(p.kind, p.text) for p in report.paragraphs] == [
        (HEADING, "Help and protection"),
        ("body", "Children are seen promptly."),
        ("body", "Plans are clear."),
        ("body", "Fish & chips <b> stay as text."),
    ]
    assert all(p.section == "Help and protection" for p in report.paragraphs)


def test_a_correction_beats_the_text_and_the_manifest_still_fills_the_rest(tmp_path, sample_corpus):
    """corrections.csv (the Admin tab's) overrides what the report states; a blank date leaves
    the date to the report; a row edited by hand into nonsense is ignored, not half-applied."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    stated, unstated = folder / "stated.pdf", folder / "unstated.pdf"
    shutil.copyfile(sample_corpus / NORFOLK_2013, stated)  # prints "Published: 16 August 2013", no authority line
    shutil.copyfile(sample_corpus / BEDFORD_2022, unstated)  # prints "Bedford Borough", no publication date
    (tmp_path / "manifest.csv").write_text(
        "path,local_authority,publication_date,source_url\nuploads/stated.pdf,elsewhere,2030-03-03,https://example.org/a\n", encoding="utf-8"
    )
    metadata.write_correction(tmp_path, "uploads/stated.pdf", metadata.Correction("Norfolk", "2013-08-20"))
    metadata.write_correction(tmp_path, "uploads/unstated.pdf", metadata.Correction("Central Bedfordshire", ""))
    a, b = _meta_of(stated, tmp_path), _meta_of(unstated, tmp_path)
    assert (a.local_authority, a.published, a.source_url) == ("Norfolk", "2013-08-20", "https://example.org/a")
    assert (b.local_authority, b.published, b.lead_inspector) == ("Central Bedfordshire", "", "Margaret Burke")
    # What ingest.read_metadata shows the admin: the text (the manifest filling its gaps), no correction.
    read = ingest.read_metadata(tmp_path, ["uploads/stated.pdf"])["uploads/stated.pdf"]
    assert isinstance(read, ReportMeta)
    assert (read.local_authority, read.published, read.source_url) == ("Elsewhere", "2013-08-16", "https://example.org/a")
    assert read.lead_inspector == "Gary Lamb" and (a.title, a.lead_inspector, a.judgements) == (read.title, read.lead_inspector, read.judgements)

    metadata.write_correction(tmp_path, "uploads/stated.pdf", None)
    assert set(metadata.read_corrections(tmp_path)) == {"uploads/unstated.pdf"}
    (tmp_path / metadata.CORRECTIONS).write_text(
        "path,local_authority,publication_date\nuploads/stated.pdf,Norfolk,2013-02-30\nuploads/unstated.pdf,,2020-01-01\n", encoding="utf-8"
    )
    assert metadata.read_corrections(tmp_path) == {}
    assert _meta_of(stated, tmp_path).published == "2013-08-16"
