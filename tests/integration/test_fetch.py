"""`python -m assistant fetch`: reports from a manifest of links, against a real HTTP
server on 127.0.0.1 that serves the sample reports and the faults a download meets."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.admin import audit, download, manifest
from assistant.admin.manifest import FAILED, FETCHED, UNCHANGED, Entry
from assistant.settings import FetchSettings
from tests.support import reportserver as rs
from tests.support.paths import MODEL_CACHE, ROOT

BEDFORD_2017 = "80428_bedford/children's services inspection - 07 april 2017.pdf"  # 464 KB: the oversized one
BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"
BLACKPOOL_2019 = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
NORTH_NORTHANTS = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
NORFOLK = "80418_norfolk/children's services inspection,  pdf - 16 august 2013.pdf"

# Short limits so every fault is met in well under a second.
QUICK = FetchSettings(workers=4, rate=0, timeout=0.4, retries=2, backoff=0.05, max_bytes=400_000)


def write_manifest(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "local_authority", "publication_date", "source_url", "extra column"])
        for r in rows:
            w.writerow([*r, "ignored"])
    return path


def corpus_manifest(corpus: Path) -> dict[str, dict[str, str]]:
    with (corpus / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        return {r["path"]: r for r in csv.DictReader(fh)}


@pytest.fixture()
def faults(sample_corpus):
    """The server with one route per case; yields (files, base URL, manifest rows)."""
    files = rs.Files(stall_seconds=1.0)
    cases = [
        # (corpus path, authority, date, served file, mode)
        (BEDFORD_2022, "bedford", "2022-01-14", BEDFORD_2022, rs.OK),
        (BLACKPOOL_2019, "blackpool", "2019-01-17", BLACKPOOL_2019, rs.FAIL_ONCE),
        (NORTH_NORTHANTS, "north northamptonshire", "2026-07-07", NORTH_NORTHANTS, rs.TRUNCATE_ONCE),
        (BEDFORD_2025, "bedford", "2025-08-27", BEDFORD_2025, rs.REDIRECT_HOME),
        ("errors/error page.pdf", "", "", BEDFORD_2022, rs.HTML),
        ("errors/missing.pdf", "", "", BEDFORD_2022, rs.NOT_FOUND),
        ("errors/stalled.pdf", "", "", NORFOLK, rs.STALL),
        ("errors/always truncated.pdf", "", "", BEDFORD_2025, rs.TRUNCATE_ALWAYS),
        ("errors/elsewhere.pdf", "", "", BEDFORD_2022, rs.REDIRECT_AWAY),
        (BEDFORD_2017, "bedford", "2017-04-07", BEDFORD_2017, rs.OK),
    ]
    with rs.serve(files) as base:
        rows = []
        for i, (rel, la, date, served, mode) in enumerate(cases):
            url = base + rs.add_file(files, str(i), sample_corpus / served, mode)
            rows.append((rel, la, date, url))
        yield files, base, rows


def test_every_fault_is_handled_and_a_second_run_fetches_nothing(tmp_path, faults, sample_corpus):
    files, base, rows = faults
    corpus = tmp_path / "corpus"
    entries, bad = manifest.read_manifest(write_manifest(tmp_path / "m.csv", rows))
    assert not bad and len(entries) == len(rows)
    seen: list[tuple[int, int]] = []
    summary = download.fetch(entries, corpus, QUICK, progress=lambda stage, done, total: seen.append((done, total)))
    by = {o.path: o for o in summary.outcomes}
    got = {p for p, o in by.items() if o.status == FETCHED}
    assert got == {BEDFORD_2022, BLACKPOOL_2019, NORTH_NORTHANTS, BEDFORD_2025}, summary.lines()
    for rel in got:
        assert (corpus / rel).read_bytes() == (sample_corpus / rel).read_bytes(), rel
    reasons = {p: o.reason for p, o in by.items() if o.status == FAILED}
    assert reasons["errors/error page.pdf"] == "not a PDF: the server sent an HTML page"
    assert reasons["errors/missing.pdf"].startswith("HTTP 404")
    assert reasons["errors/stalled.pdf"].startswith("timed out") and "3 tries" in reasons["errors/stalled.pdf"]
    assert reasons["errors/always truncated.pdf"].startswith("truncated")
    assert "another host, localhost" in reasons["errors/elsewhere.pdf"] and "--allow-host localhost" in reasons["errors/elsewhere.pdf"]
    assert reasons[BEDFORD_2017] == "0.44 MB is over the 0.38 MB limit"
    assert len(reasons) == 6
    # Nothing refused lands under a real name, and nothing is left half-written.
    assert not (corpus / "errors").exists() or not [p for p in (corpus / "errors").iterdir() if not p.name.startswith(".")]
    assert not (corpus / BEDFORD_2017).exists()
    assert not [p for p in corpus.rglob("*.part*")]
    # The 500 was retried; the truncated body was resumed with a Range request, not fetched again whole.
    assert files.requests["/files/1"] == 2
    assert files.ranges["/files/2"] == 1
    assert seen[0] == (0, len(rows)) and seen[-1] == (len(rows), len(rows))
    lines = summary.lines()
    assert lines[0].startswith("fetched 4 (") and "0 unchanged, 6 failed" in lines[0]
    assert any("errors/error page.pdf: not a PDF" in ln for ln in lines[1:])

    # The corpus's manifest.csv now carries each fetched file's row (extra columns dropped).
    assert manifest.merge_manifest(corpus, entries, summary) == 4
    rows_now = corpus_manifest(corpus)
    assert set(rows_now) == got
    assert rows_now[BEDFORD_2022]["source_url"] == base + "/files/0"
    assert rows_now[BEDFORD_2022]["local_authority"] == "bedford" and rows_now[BEDFORD_2022]["publication_date"] == "2022-01-14"
    assert manifest.merge_manifest(corpus, entries, summary) == 0

    # Second run: the good files are skipped without a request; the faults are tried again.
    before = dict(files.requests)
    again = download.fetch(entries, corpus, QUICK)
    assert {o.path for o in again.of(UNCHANGED)} == got
    for i in range(4):
        assert files.requests[f"/files/{i}"] == before[f"/files/{i}"], i
    assert {o.path for o in again.of(FAILED)} == set(reasons)

    # A file changed on disk is fetched again; one changed at the source replaces it.
    (corpus / BEDFORD_2022).write_bytes(b"%PDF-1.4 local edit")
    third = download.fetch(entries[:1], corpus, QUICK)
    assert third.outcomes[0].status == FETCHED
    assert (corpus / BEDFORD_2022).read_bytes() == (sample_corpus / BEDFORD_2022).read_bytes()


def test_a_redirect_to_an_allowed_host_is_followed(tmp_path, faults, sample_corpus):
    _, _, rows = faults
    away = [r for r in rows if r[0] == "errors/elsewhere.pdf"]
    entries, _ = manifest.read_manifest(write_manifest(tmp_path / "m.csv", away))
    summary = download.fetch(entries, tmp_path / "corpus", FetchSettings(rate=0, timeout=5, allow_hosts=("localhost",)))
    assert summary.outcomes[0].status == FETCHED, summary.lines()
    assert (tmp_path / "corpus" / "errors" / "elsewhere.pdf").read_bytes() == (sample_corpus / BEDFORD_2022).read_bytes()


def test_an_existing_good_file_is_kept_when_the_link_now_gives_an_error_page(tmp_path, faults, sample_corpus):
    _, _, rows = faults
    corpus = tmp_path / "corpus"
    (corpus / "errors").mkdir(parents=True)
    good = (sample_corpus / BEDFORD_2022).read_bytes()
    (corpus / "errors" / "error page.pdf").write_bytes(good)
    entries, _ = manifest.read_manifest(write_manifest(tmp_path / "m.csv", [r for r in rows if r[0] == "errors/error page.pdf"]))
    summary = download.fetch(entries, corpus, QUICK)
    assert summary.outcomes[0].status == FAILED
    assert (corpus / "errors" / "error page.pdf").read_bytes() == good


def test_bad_manifest_rows_are_refused_by_line_and_the_rest_fetched(tmp_path, faults):
    _, base, rows = faults
    text = (
        "path,source_url\n"
        f"../outside.pdf,{base}/files/0\n"
        f"/etc/abs.pdf,{base}/files/0\n"
        f".hidden/x.pdf,{base}/files/0\n"
        f"notes.txt,{base}/files/0\n"
        "ok.pdf,file:///etc/passwd\n"
        f"{rows[0][0]},{rows[0][3]}\n"
        f"{rows[0][0]},{rows[0][3]}\n"
    )
    entries, bad = manifest.entries_from_csv(text, "m.csv")
    assert [e.path for e in entries] == [rows[0][0]]
    assert [o.reason.split(":")[0] for o in bad] == [f"m.csv line {n}" for n in range(2, 7)] + ["m.csv line 8"]
    assert "listed twice" in bad[-1].reason and "not an http(s) link" in bad[4].reason
    summary = download.fetch(entries, tmp_path / "corpus", QUICK, refused=bad)
    assert len(summary.of(FETCHED)) == 1 and len(summary.of(FAILED)) == 6
    assert not (tmp_path / "outside.pdf").exists()
    with pytest.raises(manifest.ManifestError, match="path and source_url"):
        manifest.entries_from_csv("a,b\n1,2\n")
    with pytest.raises(manifest.ManifestError, match="not a UTF-8"):
        (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00bad")
        manifest.read_manifest(tmp_path / "bin.csv")


def test_pasted_links_land_in_the_fetched_folder(tmp_path, faults):
    _, base, _ = faults
    entries, bad = manifest.entries_from_links(f"\n{base}/files/0\n  {base}/files/0  \nnot a link\n")
    assert [e.path for e in entries] == ["fetched/0.pdf", "fetched/0-2.pdf"] and len(bad) == 1
    assert entries[0].source_url == f"{base}/files/0"
    csv_entries, _ = manifest.entries_from_links(f"path,source_url\na/b.pdf,{base}/files/0\n")
    assert csv_entries == [Entry("a/b.pdf", f"{base}/files/0")]


def test_a_fetch_killed_mid_download_resumes_and_ends_complete_and_indexed(tmp_path, sample_corpus, embedder):
    """SIGKILL a `python -m assistant fetch` while it writes; run again: every good file is
    whole, none was ever under its real name half-written, and all are indexed."""
    from assistant.index.build import build_index
    from assistant.index.read import load_generation

    files = rs.Files(slow_piece=8 * 1024, slow_pause=0.03)  # ~250 KB/s a file: a kill lands mid-body
    good = [BEDFORD_2025, NORTH_NORTHANTS]
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    with rs.serve(files) as base:
        rows = [(rel, "", "", base + rs.add_file(files, str(i), sample_corpus / rel, rs.SLOW)) for i, rel in enumerate(good)]
        rows.append(("errors/error page.pdf", "", "", base + rs.add_file(files, "html", sample_corpus / BEDFORD_2022, rs.HTML)))
        manifest_csv = write_manifest(tmp_path / "m.csv", rows)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant",
                "fetch",
                str(manifest_csv),
                "--corpus",
                str(corpus),
                "--index",
                str(index),
                "--no-index",
                "--rate",
                "0",
                "--workers",
                "2",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not [p for p in corpus.rglob(".*.part") if p.stat().st_size > 32 * 1024]:
                assert proc.poll() is None and time.monotonic() < deadline, "the fetch ended before it could be killed"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        partial = [p for p in corpus.rglob(".*.part")]
        assert partial, "the kill should have left a partial download behind"
        for rel in good:
            # Under its real name a file is either absent or complete.
            if (corpus / rel).exists():
                assert (corpus / rel).read_bytes() == (sample_corpus / rel).read_bytes()

        files.routes = {k: rs.Route(r.data, rs.OK if r.mode == rs.SLOW else r.mode) for k, r in files.routes.items()}
        entries, _ = manifest.read_manifest(manifest_csv)
        summary = download.fetch(entries, corpus, FetchSettings(rate=0, timeout=5))
        assert sum(files.ranges.values()) >= 1, "the second run resumes the partial download"
    assert {o.path for o in summary.outcomes if o.status in (FETCHED, UNCHANGED)} == set(good), summary.lines()
    for rel in good:
        assert (corpus / rel).read_bytes() == (sample_corpus / rel).read_bytes(), rel
    assert not list(corpus.rglob(".*.part*")) and not (corpus / "errors" / "error page.pdf").exists()
    manifest.merge_manifest(corpus, entries, summary)
    built = build_index(corpus, index, embedder=embedder)
    assert sorted(built.indexed) == sorted(good) and not built.failed
    gen = load_generation(index)
    assert {r.meta.source_url for r in gen.reports} == {r[3] for r in rows[: len(good)]}


def test_command_line_fetch_indexes_and_logs(tmp_path, faults, sample_corpus, capsys):
    """`fetch` downloads, indexes, says what failed, exits 1 when anything failed; `log` shows it."""
    from assistant.cli import main
    from assistant.search.searcher import Searcher

    _, base, rows = faults
    manifest_csv = write_manifest(tmp_path / "m.csv", [rows[0], rows[4]])  # Bedford 2022 and the HTML error page
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    index.mkdir()
    (index / "models").symlink_to(MODEL_CACHE)  # the exported model, not a fresh export
    code = main(["fetch", str(manifest_csv), "--corpus", str(corpus), "--index", str(index), "--rate", "0", "--timeout", "2", "--retries", "0"])
    out = capsys.readouterr().out
    assert code == 1
    assert "fetched 1 (" in out and "1 failed" in out and "errors/error page.pdf: not a PDF" in out
    assert "1 indexed" in out
    hits = Searcher(index).ask("Bedford: how well are care leavers supported?", k=3).hits
    assert hits and all(h.url.startswith(f"{base}/files/0#page=") for h in hits)
    assert all(f"{base}/files/0" in h.citation for h in hits)

    assert main(["log", "--index", str(index), "--json"]) == 0
    import json

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["action"] for r in records] == ["reindex", "fetch"]  # newest first
    assert {r["who"] for r in records} == {"command line"}
    fetched = records[1]["files"]
    assert {f["path"]: f["note"] for f in fetched}[BEDFORD_2022] == "fetched"
    assert next(f for f in fetched if f["path"] == BEDFORD_2022)["sha256"] == audit.file_refs(corpus, [BEDFORD_2022])[0].sha256
    assert next(f for f in fetched if f["path"] == "errors/error page.pdf")["note"].startswith("failed: not a PDF")
    assert records[0]["files"][0]["path"] == BEDFORD_2022 and records[0]["outcome"].startswith("ok: generation ")
    assert main(["log", "--index", str(index), "-n", "1"]) == 0
    text = capsys.readouterr().out
    assert "command line  reindex" in text and "fetch" not in text.splitlines()[0]


@pytest.mark.slow
def test_the_shared_manifest_from_a_local_server(tmp_path, shared_corpus):
    """All 497 rows: 493 PDFs land byte-identical, the 4 HTML pages are refused by name,
    and a second run fetches nothing (its time: bench/fetch.py)."""
    files = rs.Files()
    with (shared_corpus / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        shared_rows = list(csv.DictReader(fh))
    with rs.serve(files) as base:
        rows = []
        for r in shared_rows:
            key = r["source_url"].rstrip("/").rsplit("/", 1)[-1]
            rows.append((r["path"], r["local_authority"], r["publication_date"], base + rs.add_file(files, key, shared_corpus / r["path"])))
        entries, bad = manifest.read_manifest(write_manifest(tmp_path / "m.csv", rows))
        corpus = tmp_path / "corpus"
        first = download.fetch(entries, corpus, FetchSettings(rate=0, timeout=30), refused=bad)
        assert not bad and len(first.of(FETCHED)) == 493
        for o in first.of(FETCHED):
            assert (corpus / o.path).read_bytes() == (shared_corpus / o.path).read_bytes(), o.path
        html = {r["path"] for r in shared_rows if (shared_corpus / r["path"]).read_bytes()[:5] != b"%PDF-"}
        assert len(html) == 4
        assert {o.path: o.reason for o in first.of(FAILED)} == dict.fromkeys(html, "not a PDF: the server sent an HTML page")
        requests = sum(files.requests.values())
        second = download.fetch(entries, corpus, FetchSettings(rate=0, timeout=30), refused=bad)
        assert not second.of(FETCHED) and len(second.of(UNCHANGED)) == 493
        assert sum(files.requests.values()) - requests == 4  # only the refused ones are asked again
