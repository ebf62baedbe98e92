"""Two `python app.py` replicas on one index folder.

Both serve the same generation; a re-index through one of them is served by
both without a restart (each follows CURRENT); and a re-index is refused while
another process holds the index's build lock, and runs as soon as that holder
is killed (the kernel drops a dead process's flock).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from assistant.index.build import build_index
from assistant.index.disk import current_name
from tests.support.apps import ROOT, api_ask, queue_event, run_app
from tests.support.corpora import copy_corpus

PASSWORD = "replica-test-password"
BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
NORTH_NORTHANTS = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
# Written for this test about the sample reports.
QUESTION = "are social workers' caseloads manageable?"


def ask(url: str, question: str, authorities: list[str] | None = None) -> dict:
    with httpx.Client(timeout=60) as c:
        return api_ask(c, url, question, authorities)


def sources(answer: dict) -> set[str]:
    return {h["source"] for h in answer["hits"]}


def reindex(url: str) -> str:
    msg = queue_event(url, "on_reindex", [PASSWORD], timeout=180)
    assert msg.get("success"), msg
    return msg["output"]["data"][0]


def wait_until(check, seconds: float) -> float:
    """Seconds until check() holds; fails after `seconds`."""
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, sample_corpus, embedder):
    root = tmp_path_factory.mktemp("replicas")
    corpus = copy_corpus(sample_corpus, root / "corpus", [BEDFORD_2022])
    index = root / "index"
    build_index(corpus, index, embedder=embedder)
    with run_app(root, corpus, index, PASSWORD) as a, run_app(root, corpus, index, PASSWORD) as b:
        yield a, b, sample_corpus


def test_both_replicas_serve_a_reindex_made_through_one(replicas):
    a, b, sample = replicas
    before = current_name(a.index)
    for app in (a, b):
        assert sources(ask(app.url, QUESTION)) == {BEDFORD_2022}
    # A report arrives; the administrator re-indexes through replica A only.
    (a.corpus / NORTH_NORTHANTS).parent.mkdir()
    shutil.copy2(sample / NORTH_NORTHANTS, a.corpus / NORTH_NORTHANTS)
    reply = reindex(a.url)
    assert "1 indexed" in reply, reply
    assert current_name(a.index) != before
    # Both now answer from the new generation: B without a restart.
    for app in (a, b):
        waited = wait_until(lambda app=app: NORTH_NORTHANTS in sources(ask(app.url, QUESTION, ["North Northamptonshire"])), 15)
        print(f"{app.url}: new generation served {waited:.1f} s after the re-index was reported done")
    assert ask(a.url, QUESTION) == ask(b.url, QUESTION)
    assert b.proc.poll() is None and a.proc.poll() is None


def test_one_reindex_at_a_time_across_processes_and_a_dead_holder_frees_the_lock(replicas):
    a, b, _ = replicas
    # Another process (as a CLI build would) holds the index's build lock.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from assistant.index.build import build_lock\n"
                "with build_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)"
            ),
            str(b.index),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        (b.corpus / BEDFORD_2022).unlink()  # work to do, so a build that runs writes a generation
        before = current_name(b.index)
        reply = reindex(b.url)
        assert "already running" in reply, reply
        assert current_name(b.index) == before
        # The holder dies without releasing anything: the next re-index runs.
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        reply = reindex(b.url)
        assert "1 removed" in reply, reply
        assert current_name(b.index) != before
        wait_until(lambda: sources(ask(a.url, QUESTION)) <= {NORTH_NORTHANTS} and sources(ask(b.url, QUESTION)) <= {NORTH_NORTHANTS}, 15)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
