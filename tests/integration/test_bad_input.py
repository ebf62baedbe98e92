"""Hostile and broken files: each is reported by name with a specific reason,
in bounded time and memory, and never stops the others from being indexed."""

from __future__ import annotations

import os
import re
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.reports import ingest
from assistant.reports.document import IngestResult
from assistant.settings import IngestSettings
from tests.support import hostile

REAL = {
    "80428_bedford/children's services inspection - 14 january 2022.pdf",
    "80431_blackpool/children's services inspection - 17 january 2019.pdf",
}
LIMITS = IngestSettings(seconds=20.0, memory_bytes=1024**3)
CASES = hostile.hostile_files()
REFUSED = [c for c in CASES if c.reason]
ACCEPTED = [c for c in CASES if not c.reason]


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _worker_address_limits(ignore: frozenset[int] = frozenset()) -> list[int]:
    """RLIMIT_AS soft limit of this process's live spawned workers, except `ignore`d pids."""
    out = []
    me = str(os.getpid())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in ignore:
            continue
        try:
            status = (proc / "status").read_text()
            cmdline = (proc / "cmdline").read_bytes()
            limits = (proc / "limits").read_text()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s*(\d+)", status, re.M)
        if not ppid or ppid.group(1) != me or b"spawn_main" not in cmdline:
            continue
        m = re.search(r"^Max address space\s+(\S+)", limits, re.M)
        out.append(-1 if m.group(1) == "unlimited" else int(m.group(1)))
    return out


@dataclass
class Run:
    folder: Path
    result: IngestResult
    seconds: float
    rss_delta: int
    peak_delta: int
    worker_limits: list[int]


@pytest.fixture(scope="module")
def run(tmp_path_factory, sample_corpus) -> Run:
    """All hostile files plus two real reports in one folder, ingested once."""
    folder = tmp_path_factory.mktemp("hostile")
    hostile.write_all(folder)
    for rel in REAL:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample_corpus / rel, folder / rel)
    files = [(p, p.relative_to(folder).as_posix()) for p in ingest.list_files(folder)]
    seen_limits: list[int] = []
    # Children spawned before this run (by other tests) are not ours to judge.
    earlier = frozenset(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit())
    rss0, peak0 = _rss_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.monotonic()
    result = ingest.ingest_files(files, {}, 2, LIMITS, lambda item: seen_limits.extend(_worker_address_limits(earlier)))
    seconds = time.monotonic() - t0
    rss_delta = _rss_bytes() - rss0
    peak_delta = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak0
    return Run(folder, result, seconds, rss_delta, peak_delta, seen_limits)


def _failures(run: Run, name: str) -> list[str]:
    return [f.reason for f in run.result.failures if f.path == name]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_hostile_file_reported_by_name_with_specific_reason(run, case):
    reasons = _failures(run, case.name)
    assert len(reasons) == 1, f"{case.name}: expected one failure line, got {reasons}"
    assert re.search(case.reason, reasons[0]), f"{case.name}: {reasons[0]!r} does not say /{case.reason}/"
    assert "took longer" not in reasons[0] and "process died" not in reasons[0]
    assert case.name not in {r.path for r in run.result.reports}


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_readable_oddities_are_ingested(run, case):
    assert not _failures(run, case.name)
    (report,) = [r for r in run.result.reports if r.path == case.name]
    assert report.paragraphs


def test_every_file_accounted_for_once(run):
    paths = [r.path for r in run.result.reports] + [f.path for f in run.result.failures]
    expected = {c.name for c in CASES} | REAL
    assert sorted(paths) == sorted(expected)


def test_real_reports_indexed_next_to_hostile_ones(run):
    by_path = {r.path: r for r in run.result.reports}
    for rel in REAL:
        assert rel in by_path, f"{rel} was not ingested: {_failures(run, rel)}"
        assert len([p for p in by_path[rel].paragraphs if p.number]) > 40
    assert by_path[next(iter(sorted(REAL)))].meta.lead_inspector == "Margaret Burke"


def test_pdf_that_opens_without_password_keeps_its_text(run):
    (report,) = [r for r in run.result.reports if r.path == "empty password.pdf"]
    text = " ".join(p.text for p in report.paragraphs)
    assert "A small report that opens without a password." in text
    assert "Its text is readable." in text


def test_markup_in_report_text_is_kept_verbatim(run):
    (report,) = [r for r in run.result.reports if r.path == "markup.pdf"]
    text = " ".join(p.text for p in report.paragraphs)
    for line in hostile.MARKUP_LINES:
        assert line in text
    for piece in ("<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "</div><style>"):
        assert piece in report.pages[0].text


def test_odd_file_name_keeps_its_exact_relative_path(run):
    (report,) = [r for r in run.result.reports if r.path == hostile.ODD_NAME]
    assert (run.folder / report.path).is_file()
    assert "%2f" in report.path and ".." in report.path and "\u0141" in report.path
    assert "path trick" in report.paragraphs[0].text


def test_whole_run_is_quick_and_no_file_hit_the_time_limit(run):
    assert run.seconds < 45, f"ingesting the hostile folder took {run.seconds:.1f} s"
    assert not [f for f in run.result.failures if "took longer" in f.reason]


def test_workers_run_under_the_address_space_cap(run):
    assert run.worker_limits, "no ingest worker was alive while files were being reported"
    assert set(run.worker_limits) == {LIMITS.memory_bytes}


def test_parent_memory_stays_flat(run):
    # The bomb inflates to 1 GiB; none of that may reach the indexing process.
    assert run.rss_delta < 150 * 1024**2, f"parent RSS grew by {run.rss_delta / 1e6:.0f} MB"
    assert run.peak_delta < 150 * 1024**2, f"parent peak RSS grew by {run.peak_delta / 1e6:.0f} MB"


@pytest.mark.parametrize(
    "name, make, within",
    [("bomb.pdf", hostile.bomb_pdf, 8.0), ("2000 pages.pdf", hostile.many_pages_pdf, 8.0)],
)
def test_bomb_and_page_count_are_refused_fast_alone(tmp_path, name, make, within):
    path = tmp_path / name
    path.write_bytes(make())
    limits = IngestSettings(seconds=within, memory_bytes=512 * 1024**2)
    t0 = time.monotonic()
    with pytest.raises(ingest.IngestError) as err:
        ingest.ingest_one(path, tmp_path, limits)
    took = time.monotonic() - t0
    assert took < within
    assert re.search(r"decompression bomb|too many pages \(2000; the limit is 1000\)", str(err.value))


def test_time_limit_kills_a_slow_parse_and_the_next_file_still_ingests(tmp_path, sample_corpus):
    """A worker that overruns is killed and replaced; the queue goes on."""
    slow = tmp_path / "flood.pdf"
    slow.write_bytes(hostile.operator_flood_pdf())
    good = tmp_path / "good.pdf"
    shutil.copyfile(sample_corpus / sorted(REAL)[0], good)
    limits = IngestSettings(seconds=2.0, memory_bytes=LIMITS.memory_bytes)
    t0 = time.monotonic()
    res = ingest.ingest_files([(slow, "flood.pdf"), (good, "good.pdf")], {}, 1, limits)
    took = time.monotonic() - t0
    assert [f.line() for f in res.failures] == ["flood.pdf: took longer than the 2 s limit"]
    assert [r.path for r in res.reports] == ["good.pdf"]
    assert took < 15, f"{took:.1f} s"


def test_previous_index_survives_adding_hostile_files(tmp_path, sample_corpus, sample_index, writable_index, embedder):
    from assistant.index.build import build_index
    from assistant.index.read import load_generation

    before = load_generation(writable_index)
    corpus = tmp_path / "corpus"
    shutil.copytree(sample_corpus, corpus)
    hostile.write_all(corpus / "incoming")
    summary = build_index(corpus, writable_index, embedder=embedder, limits=LIMITS)
    after = load_generation(writable_index)

    old = {(r.path, r.sha256) for r in before.reports}
    new = {(r.path, r.sha256) for r in after.reports}
    assert old and old <= new, f"lost: {old - new}"
    assert set(summary.unchanged) == {p for p, _ in old}
    assert {f"incoming/{c.name}" for c in ACCEPTED} <= {r.path for r in after.reports}
    failed = {f.path: f.reason for f in after.failures}
    for case in REFUSED:
        reason = failed.get(f"incoming/{case.name}")
        assert reason and re.search(case.reason, reason), (case.name, reason)
    # Old passages are still served: every old report keeps its chunk count.
    counts = {r.path: r.chunk_end - r.chunk_start for r in after.reports}
    for r in before.reports:
        assert counts[r.path] == r.chunk_end - r.chunk_start
