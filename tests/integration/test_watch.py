"""Watch mode: files added, changed and removed in the corpus folder are re-indexed after a
quiet period, one re-index at a time, and the answers change accordingly."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time

from assistant.admin import audit
from assistant.admin.watch import Watcher, relevant
from tests.support.corpora import copy_corpus
from tests.support.paths import MODEL_CACHE, ROOT

BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"
NORTH_NORTHANTS = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
NN_QUESTION = "North Northamptonshire: how well are care leavers supported?"


def wait_for(cond, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def test_only_report_files_and_the_manifest_count(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "corpus" / "index"
    assert relevant(corpus, index, str(corpus / "a" / "r.pdf")) == "a/r.pdf"
    assert relevant(corpus, index, str(corpus / "manifest.csv")) == "manifest.csv"
    assert relevant(corpus, index, str(corpus / "corrections.csv")) == "corrections.csv"
    for ignored in ("a/.r.pdf.part", ".fetch-state.jsonl", "a/notes.csv", "index/audit.jsonl", ".hidden/r.pdf", "x/manifest.csv"):
        assert relevant(corpus, index, str(corpus / ignored)) is None, ignored
    assert relevant(corpus, index, str(tmp_path / "elsewhere.pdf")) is None
    # A folder moved in (or created with files in it before the OS watches it) is one event.
    (corpus / "80428_bedford").mkdir(parents=True)
    assert relevant(corpus, index, str(corpus / "80428_bedford")) == "80428_bedford"
    assert relevant(corpus, index, str(corpus / "80999_removed folder")) == "80999_removed folder"


def test_a_folder_of_reports_moved_in_whole_is_indexed(tmp_path, sample_corpus):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS])
    staged = tmp_path / "staged" / "80428_bedford"
    staged.mkdir(parents=True)
    shutil.copy(sample_corpus / BEDFORD_2022, staged / "r.pdf")
    batches: list[list[str]] = []
    w = Watcher(corpus, None, batches.append, quiet_ms=300).start()
    try:
        assert w.ready.wait(10)
        staged.rename(corpus / "80428_bedford")  # one rename: no event for the file inside
        wait_for(lambda: batches, 10, "a batch for the folder")
    finally:
        w.stop()
    assert batches == [["80428_bedford"]]


def test_a_burst_of_changes_is_one_batch_and_hidden_files_none(tmp_path, sample_corpus):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS])
    (corpus / "a").mkdir()
    batches: list[list[str]] = []
    w = Watcher(corpus, None, batches.append, quiet_ms=400).start()
    try:
        assert w.ready.wait(10)
        (corpus / "a" / ".r.pdf.part").write_bytes(b"%PDF- partial")  # a fetch at work: ignored
        time.sleep(1.0)
        assert batches == []
        for name in ("one.pdf", "two.pdf"):
            shutil.copy(sample_corpus / BEDFORD_2022, corpus / "a" / name)
            time.sleep(0.1)
        wait_for(lambda: batches, 10, "a batch")
        time.sleep(0.8)
        assert batches == [["a/one.pdf", "a/two.pdf"]]
    finally:
        w.stop()
    assert not w.error


def test_app_watch_reindexes_added_changed_and_removed_reports(tmp_path, sample_corpus, embedder):
    from assistant.app.service import Service
    from assistant.index.build import build_index
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings

    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [BEDFORD_2025])
    index = tmp_path / "index"
    build_index(corpus, index, embedder=embedder)
    service = Service(AppSettings(corpus=corpus, index=index, watch=True), embedder, Searcher(index, embedder=embedder))
    service.admin.start_watch()
    searcher = service.searcher

    def paths() -> set[str]:
        return {r.path for r in searcher.generation.reports}

    def sources(question: str) -> set[str]:
        return {h.source for h in searcher.ask(question, k=5).hits}

    # The chat keeps answering while the watcher's re-index runs.
    answered_during: list[bool] = []
    stop = threading.Event()

    def ask_all_the_time() -> None:
        while not stop.is_set():
            job = service.admin.reindexer.last
            running = job is not None and not job.finished.is_set()
            ok = bool(searcher.ask("Bedford: how effective is the front door?", k=2).hits)
            if running:
                answered_during.append(ok)
            time.sleep(0.05)

    asker = threading.Thread(target=ask_all_the_time, daemon=True)
    try:
        assert service.admin.watcher.ready.wait(10)
        asker.start()
        assert NORTH_NORTHANTS not in sources(NN_QUESTION)
        # Added.
        (corpus / NORTH_NORTHANTS).parent.mkdir()
        shutil.copy(sample_corpus / NORTH_NORTHANTS, corpus / NORTH_NORTHANTS)
        wait_for(lambda: NORTH_NORTHANTS in paths(), 60, "the added report indexed")
        assert sources(NN_QUESTION) == {NORTH_NORTHANTS}

        # Changed: the 2025 report's file now holds the 2022 report.
        def entry():
            return next(r for r in searcher.generation.reports if r.path == BEDFORD_2025)

        q = "Bedford: how effective is the multi-agency safeguarding hub?"
        old_dates, old_texts = entry().meta.inspection_dates, {h.text for h in searcher.ask(q, k=3).hits}
        new_sha = audit.file_refs(sample_corpus, [BEDFORD_2022])[0].sha256
        shutil.copy(sample_corpus / BEDFORD_2022, corpus / BEDFORD_2025)
        wait_for(lambda: entry().sha256 == new_sha, 60, "the changed report re-indexed")
        assert entry().meta.inspection_dates != old_dates
        new_texts = {h.text for h in searcher.ask(q, k=3).hits}
        assert new_texts and not new_texts & old_texts
        # Removed.
        (corpus / NORTH_NORTHANTS).unlink()
        wait_for(lambda: NORTH_NORTHANTS not in paths(), 60, "the removed report dropped")
        assert NORTH_NORTHANTS not in sources(NN_QUESTION)
    finally:
        stop.set()
        service.admin.watcher.stop()
        asker.join(10)
    assert answered_during and all(answered_during)
    watched = [r for r in audit.read(index) if r.who == "watch"]
    assert [r.action for r in watched] == ["reindex"] * 3
    notes = [{(f.path, f.note) for f in r.files} for r in reversed(watched)]
    assert (NORTH_NORTHANTS, "indexed") in notes[0] and (BEDFORD_2025, "indexed") in notes[1] and (NORTH_NORTHANTS, "removed") in notes[2]
    assert "Watching the corpus folder" in service.index_status()


def test_command_line_index_watch(tmp_path, sample_corpus):
    """`python -m assistant index --watch`: builds, then re-indexes a dropped report; Ctrl-C ends it."""
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS])
    index = tmp_path / "index"
    index.mkdir()
    (index / "models").symlink_to(MODEL_CACHE)
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "index", "--watch", "--corpus", str(corpus), "--index", str(index)], cwd=ROOT, stdout=out, stderr=err
        )
        try:
            wait_for(lambda: "watching" in err_path.read_text() or proc.poll() is not None, 90, "the first build")
            assert proc.poll() is None, err_path.read_text()
            time.sleep(0.5)  # the watcher is set up right after it says so
            (corpus / "80428_bedford").mkdir()
            shutil.copy(sample_corpus / BEDFORD_2025, corpus / BEDFORD_2025)
            wait_for(lambda: "1 indexed, 1 unchanged" in out_path.read_text(), 60, "the re-index after the change")
            proc.send_signal(signal.SIGINT)
            try:
                assert proc.wait(30) == 0
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGUSR1)  # where it is stuck (faulthandler), for the failure message
                time.sleep(2)
                raise AssertionError("Ctrl-C did not end the watch:\n" + err_path.read_text()[-6000:]) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert "changed: 80428_bedford" in err_path.read_text()
    assert [(r.who, r.action) for r in audit.read(index)] == [("watch", "reindex"), ("command line", "reindex")]
