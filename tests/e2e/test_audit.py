"""The audit log: append-only JSON lines beside the index, one record per change to the
library, written by the Admin tab (through the real app), the command line and the
app itself; and a damaged generation passed over is never silent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from assistant.admin import audit
from assistant.app.markdown import audit_markdown
from tests.support import hostile
from tests.support import reportserver as rs
from tests.support.apps import queue_event, serve
from tests.support.corpora import copy_corpus
from tests.support.paths import MODEL_CACHE

PASSWORD = "audit-test-password"
NORTH_NORTHANTS = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"


def test_records_are_appended_whole_and_read_newest_first(tmp_path):
    a = audit.record(tmp_path, audit.COMMAND_LINE, audit.REINDEX, [audit.FileRef("a.pdf", "ab" * 32, "indexed")], "ok")
    audit.record(tmp_path, audit.admin("192.0.2.7"), audit.DELETE, [], "deleted")
    path = audit.log_path(tmp_path)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2 and json.loads(lines[0]) == a.to_json()
    assert set(json.loads(lines[0])) == {"time", "who", "action", "files", "outcome"}
    # A line torn by a crash is skipped; the records around it are kept and the file is never rewritten.
    with path.open("ab") as fh:
        fh.write(b'{"time": "2026-')
    before = path.read_bytes()
    audit.record(tmp_path, audit.WATCH, audit.REINDEX, [], "ok")
    assert path.read_bytes().startswith(before)
    got = audit.read(tmp_path)
    assert [r.who for r in got] == ["watch", "admin tab (192.0.2.7)", "command line"]
    assert got[-1] == a and audit.read(tmp_path, 1)[0].who == "watch"
    assert audit.read(tmp_path / "nowhere") == []
    md = audit_markdown(got)
    assert md.index("watch") < md.index("admin tab") < md.index("command line")


def _upload(url: str, path: Path) -> dict:
    """Send a file through Gradio's upload route, as the browser does; the FileData for an event."""
    r = httpx.post(f"{url}/gradio_api/upload", files={"files": (path.name, path.read_bytes())})
    r.raise_for_status()
    return {"path": r.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def _call(url: str, name: str, data: list) -> list:
    msg = queue_event(url, name, data, timeout=120)
    assert msg.get("success"), msg
    # Markdown outputs escape punctuation; the tests read them as the text they show.
    return [v.replace("\\", "") if isinstance(v, str) else v for v in msg["output"]["data"]]


def test_every_admin_action_is_recorded_with_who_files_and_outcome(tmp_path, sample_corpus, sample_index, embedder):
    from assistant.app.service import Service
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings, FetchSettings

    corpus = tmp_path / "corpus"
    shutil.copytree(sample_corpus, corpus, ignore=lambda d, names: [n for n in names if (Path(d) / n).match("*07 july 2026.pdf")])
    index = tmp_path / "index"
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    report = tmp_path / "upload" / "new report.pdf"
    report.parent.mkdir()
    report.write_bytes(hostile.text_pdf([["Inspection of a small authority added by the administrator for the audit test."]]))
    sha = audit.file_refs(report.parent, [report.name])[0].sha256
    fetched_sha = audit.file_refs(sample_corpus, [NORTH_NORTHANTS])[0].sha256
    fetch_options = FetchSettings(rate=0, timeout=5, retries=1, backoff=0.05)
    settings = AppSettings(corpus=corpus, index=index, admin_password=PASSWORD, fetch_options=fetch_options)
    service = Service(settings, embedder, Searcher(index, embedder=embedder))
    files = rs.Files()
    with serve(service) as url, rs.serve(files) as base:
        link = base + rs.add_file(files, "50306548", sample_corpus / NORTH_NORTHANTS)
        # Wrong passwords change nothing and record nothing.
        assert _call(url, "on_fetch", ["wrong", None, link])[0] == "Wrong password."
        assert _call(url, "on_upload", ["", [_upload(url, report)]])[0] == "Wrong password."
        assert audit.read(index) == []

        out = _call(url, "on_upload", [PASSWORD, [_upload(url, report)]])
        assert "Added uploads/new report.pdf" in out[0] and "1 indexed" in out[0]
        reindex, upload = audit.read(index, 2)
        assert (upload.action, upload.who) == ("upload", "admin tab (127.0.0.1)")
        assert upload.files == (audit.FileRef("uploads/new report.pdf", sha, "added"),) and upload.outcome == "1 added, 0 refused"
        assert (reindex.action, reindex.who) == ("reindex", "admin tab (127.0.0.1)")
        assert audit.FileRef("uploads/new report.pdf", sha, "indexed") in reindex.files and reindex.outcome.startswith("ok: generation ")
        assert "upload" in out[4] and out[4].index("reindex") < out[4].index("upload")  # the tab's log, newest first

        out = _call(url, "on_delete", [PASSWORD, "uploads/new report.pdf"])
        assert "Deleted" in out[0]
        reindex, delete = audit.read(index, 2)
        assert delete.action == "delete" and delete.files == (audit.FileRef("uploads/new report.pdf", sha, "deleted"),)
        assert reindex.action == "reindex" and audit.FileRef("uploads/new report.pdf", "", "removed") in reindex.files

        _call(url, "on_reindex", [PASSWORD])
        assert audit.read(index, 1)[0].action == "reindex" and audit.read(index, 1)[0].who == "admin tab (127.0.0.1)"

        # Fetch from a pasted link: the file lands, is indexed, and cites the link.
        out = _call(url, "on_fetch", [PASSWORD, None, link + "\n"])
        assert "fetched 1 (" in out[0] and "1 indexed" in out[0], out[0]
        reindex, fetched = audit.read(index, 2)
        assert fetched.action == "fetch" and fetched.who == "admin tab (127.0.0.1)"
        assert fetched.files == (audit.FileRef("fetched/50306548.pdf", fetched_sha, "fetched"),)
        assert reindex.action == "reindex" and reindex.files[0].path == "fetched/50306548.pdf"
        hits = service.searcher.ask("North Northamptonshire: how well are care leavers supported?", k=3).hits
        assert hits and all(h.source == "fetched/50306548.pdf" and h.url.startswith(link + "#page=") for h in hits)
        # A manifest file through the same button; a bad one is refused with its reason.
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b\n1,2\n")
        out = _call(url, "on_fetch", [PASSWORD, _upload(url, bad), ""])
        assert out[0].startswith("Not fetched:") and "path and source_url" in out[0]
    assert [r.action for r in audit.read(index)] == ["reindex", "fetch", "reindex", "reindex", "delete", "reindex", "upload"]


def test_a_damaged_generation_is_never_passed_over_silently(tmp_path, sample_corpus, embedder, capsys):
    from assistant.app.service import Service
    from assistant.cli import main
    from assistant.index.build import build_index
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings

    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS, BEDFORD_2025])
    index = tmp_path / "index"
    older = build_index(corpus, index, embedder=embedder).generation
    (index / "models").symlink_to(MODEL_CACHE)
    (corpus / BEDFORD_2025).unlink()
    damaged = build_index(corpus, index, embedder=embedder).generation
    faiss_file = index / "generations" / damaged / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:1000])

    # The command line says so on stderr, naming the generation and the file; the log records it once.
    for _ in range(2):
        assert main(["ask", "North Northamptonshire: how well are care leavers supported?", "--index", str(index), "--json"]) == 0
        err = capsys.readouterr().err
        assert f"warning: index generation {damaged} is damaged; answering from the older generation {older}" in err
        assert str(faiss_file) in err
    falls = [r for r in audit.read(index) if r.action == "fallback"]
    assert len(falls) == 1 and falls[0].who == "command line"
    assert damaged in falls[0].outcome and str(faiss_file) in falls[0].outcome

    # The Admin tab's status shows it.
    service = Service(AppSettings(corpus=corpus, index=index, admin_password=PASSWORD), embedder, Searcher(index, embedder=embedder))
    status = service.index_status()
    assert "**Warning:**" in status and damaged in status and "dense" in status

    # The next build says it rebuilds because of it, and the log keeps that too.
    summary = build_index(corpus, index, embedder=embedder)
    assert summary.notes and f"the current index generation {damaged} is damaged" in summary.notes[0]
    assert any(line.strip().startswith("note: rebuilding every report") for line in summary.lines())
    assert summary.indexed and not summary.unchanged  # every report read again
    assert "rebuilding every report" in audit.build_outcome(summary)
    # Once rebuilt, nothing to warn about.
    fresh = Service(service.settings, embedder, Searcher(index, embedder=embedder))
    assert fresh.serving_warnings() == [] and "Warning" not in fresh.index_status()


def test_command_line_index_is_recorded(tmp_path, sample_corpus, capsys):
    from assistant.cli import main

    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS])
    index = tmp_path / "index"
    index.mkdir()
    (index / "models").symlink_to(MODEL_CACHE)
    assert main(["index", "--corpus", str(corpus), "--index", str(index)]) == 0
    (rec,) = audit.read(index)
    assert (rec.who, rec.action) == ("command line", "reindex")
    assert rec.files == audit.file_refs(corpus, [NORTH_NORTHANTS], "indexed")
    capsys.readouterr()
    assert main(["log", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "command line  reindex (1 file): ok: generation" in out and NORTH_NORTHANTS in out


@pytest.mark.parametrize("n", [0, 3])
def test_log_of_an_index_without_changes(tmp_path, capsys, n):
    from assistant.cli import main

    for i in range(n):
        audit.record(tmp_path, audit.COMMAND_LINE, audit.REINDEX, [], f"ok {i}")
    assert main(["log", "--index", str(tmp_path), "-n", "2"]) == 0
    captured = capsys.readouterr()
    if n:
        assert captured.out.splitlines()[0].endswith("ok 2") and len(captured.out.splitlines()) == 2
    else:
        assert "no changes recorded" in captured.err
