"""An uploaded real report: the admin sees what its own text states, corrects its authority
and date, and the next (incremental) build serves the correction in citations, filters and
the across view; bad corrections are refused and change nothing. Real sample PDFs, real
model, the real Service, indexer and searcher."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from assistant.admin import audit
from assistant.app.service import Service
from assistant.index.build import build_index
from assistant.reports import metadata
from assistant.reports.document import Judgement
from assistant.search.query import Filters
from assistant.search.searcher import Searcher
from assistant.settings import AppSettings

BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"
UPLOAD = "uploads/inspection report.pdf"
# Page 1 of Bedford 2022 (tests/unit/test_metadata.py reads the same from the sample corpus).
AREAS = (
    "The impact of leaders on social work practice with children and families",
    "The experiences and progress of children who need help and protection",
    "The experiences and progress of children in care and care leavers",
    "Overall effectiveness",
)


@pytest.mark.parametrize(
    "authority, published, why",
    [
        ("", "2021-12-03", "the local authority is empty"),
        ("   ", "2021-12-03", "the local authority is empty"),
        ("Bedford <script>", "2021-12-03", "has characters a council's name does not"),
        ("B" * 101, "2021-12-03", "at most 100"),
        ("Bedford Borough", "03/12/2021", "is not written YYYY-MM-DD"),
        ("Bedford Borough", "2021-12-3", "is not written YYYY-MM-DD"),
        ("Bedford Borough", "3 December 2021", "is not written YYYY-MM-DD"),
        ("Bedford Borough", "2021-02-30", "2021-02-30 does not exist"),
        ("Bedford Borough", "2021-13-01", "2021-13-01 does not exist"),
        ("Bedford Borough", (date.today() + timedelta(days=2)).isoformat(), "is in the future"),
    ],
)
def test_a_bad_correction_is_refused_with_what_is_wrong(authority, published, why):
    with pytest.raises(ValueError, match=why):
        metadata.check_correction(authority, published)


def test_a_good_correction_is_tidied_and_a_blank_date_leaves_the_reports_own():
    assert metadata.check_correction("  Brighton   &  Hove ", " 2021-12-03 ") == metadata.Correction("Brighton & Hove", "2021-12-03")
    assert metadata.check_correction("King's Lynn", "") == metadata.Correction("King's Lynn", "")


@pytest.fixture()
def service(tmp_path, sample_corpus, embedder) -> Service:
    """A one-report library (Bedford 2025) served by a real Service, and Bedford 2022 saved
    under a name that gives no date, as an admin would upload it."""
    corpus = tmp_path / "corpus"
    (corpus / "80428_bedford").mkdir(parents=True)
    shutil.copyfile(sample_corpus / BEDFORD_2025, corpus / BEDFORD_2025)
    index = tmp_path / "index"
    build_index(corpus, index, embedder=embedder)
    return Service(AppSettings(corpus=corpus, index=index, admin_password="pw"), embedder, Searcher(index, embedder=embedder))


def _upload(service: Service, sample_corpus: Path, tmp_path: Path) -> str:
    src = tmp_path / "inspection report.pdf"
    shutil.copyfile(sample_corpus / BEDFORD_2022, src)
    saved, errors = service.admin.add_uploads([src], audit.admin("192.0.2.7"))
    assert (saved, errors) == ([UPLOAD], [])
    return saved[0]


def test_upload_is_shown_as_read_corrected_and_served_corrected_after_an_incremental_build(service, sample_corpus, tmp_path, embedder):
    s = service.settings
    rel = _upload(service, sample_corpus, tmp_path)

    # 1. Before any re-index: what the report's own text states.
    (review,) = service.admin.review_uploads([rel])
    m = review.read
    assert review.error == "" and review.correction is None and m is not None
    assert m.title == "Inspection of Bedford Borough local authority children\u2019s services"
    assert (m.local_authority, m.published, m.lead_inspector, m.overall) == ("Bedford Borough", "", "Margaret Burke", "Good")
    assert m.inspection_dates == "15 to 26 November 2021"
    assert m.judgements == tuple(Judgement(a, "Good") for a in AREAS)
    assert service.admin.uploaded_files() == [rel]

    # 2. Bad corrections are refused; nothing is stored or recorded.
    who = audit.admin("192.0.2.7")
    for authority, published, why in [
        ("", "2021-12-03", "the local authority is empty"),
        ("Central Bedfordshire", "2021-02-30", "does not exist"),
        ("Central Bedfordshire", "3/12/2021", "YYYY-MM-DD"),
    ]:
        with pytest.raises(ValueError, match=why):
            service.admin.save_correction(rel, authority, published, who)
    with pytest.raises(ValueError, match="choose an uploaded report"):
        service.admin.save_correction(BEDFORD_2025, "Central Bedfordshire", "2021-12-03", who)
    assert not (s.corpus / metadata.CORRECTIONS).exists()
    assert [r.action for r in audit.read(s.index)] == ["upload"]

    # 3. A correction is stored durably, recorded, and shown beside what was read.
    service.admin.save_correction(rel, "Central Bedfordshire", "2021-12-03", who)
    assert metadata.read_corrections(s.corpus) == {rel: metadata.Correction("Central Bedfordshire", "2021-12-03")}
    rec = audit.read(s.index, 1)[0]
    assert (rec.action, rec.who, rec.files[0].path) == (audit.CORRECT, who, rel)
    assert rec.files[0].sha256 == audit.file_refs(sample_corpus, [BEDFORD_2022])[0].sha256
    assert "Central Bedfordshire" in rec.files[0].note and "2021-12-03" in rec.files[0].note
    (review,) = service.admin.review_uploads([rel])
    assert review.read == m and review.correction == metadata.Correction("Central Bedfordshire", "2021-12-03")

    # 4. The next build indexes the upload with the correction over its text.
    first = build_index(s.corpus, s.index, embedder=embedder)
    assert first.indexed == [rel] and first.unchanged == [BEDFORD_2025]
    service.searcher.reload()
    hits = service.searcher.ask("Central Bedfordshire 2021: how well are care leavers supported?", k=3).hits
    assert hits and all(h.source == rel for h in hits)
    for h in hits:
        assert (h.local_authority, h.published) == ("Central Bedfordshire", "2021-12-03")
        assert "Central Bedfordshire, published 2021-12-03" in h.citation and h.citation.startswith("Ofsted (2021) Inspection of Bedford")
    rows = service.across("care leavers", Filters((), 2021, 2021)).rows
    assert rows and {(r.source, r.local_authority, r.published) for r in rows} == {(rel, "Central Bedfordshire", "2021-12-03")}

    # 5. A changed correction of unchanged bytes: only that report is read again.
    service.admin.save_correction(rel, "Central Bedfordshire", "2021-12-10", who)
    second = build_index(s.corpus, s.index, embedder=embedder)
    assert second.indexed == [rel] and second.unchanged == [BEDFORD_2025]
    service.searcher.reload()
    (hit,) = service.searcher.ask("Central Bedfordshire 2021: how well are care leavers supported?", k=1).hits
    assert hit.published == "2021-12-10" and "published 2021-12-10" in hit.citation
    # Nothing changed since: the serving generation stays.
    assert build_index(s.corpus, s.index, embedder=embedder).generation == second.generation

    # 6. A new upload of the same name after a delete starts with no correction.
    service.admin.delete_file(rel, who)
    assert _upload(service, sample_corpus, tmp_path) == rel
    assert metadata.read_corrections(s.corpus) == {}
