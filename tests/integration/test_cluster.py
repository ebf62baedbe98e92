"""Index builds on Ray (`index --ray`) give the local build's index, on the sample corpus.

A local Ray instance with 2 CPUs. Skipped when Ray is not installed
(requirements-cluster.txt; CI installs it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.corpora import copy_corpus
from tests.support.paths import MODEL_CACHE, ROOT

ray = pytest.importorskip("ray")

from assistant.index import cluster  # noqa: E402
from assistant.index.build import build_index  # noqa: E402
from assistant.index.read import check_generation, load_generation  # noqa: E402

BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BLACKPOOL_2012 = "80431_blackpool/children's services inspection - 13 july 2012.pdf"  # an HTML page


pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray():
    started = cluster.connect(None, num_cpus=2)
    yield
    if started:
        ray.shutdown()


def kill_a_task_worker(stop: threading.Event, killed: list[int], task: bytes) -> None:
    """SIGKILL the first Ray worker seen running `task` (Ray titles the process ray::<function>)."""
    while not stop.is_set():
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(b"ray::" + task):
                    os.kill(int(proc.name), signal.SIGKILL)
                    killed.append(int(proc.name))
                    return
            except OSError:
                continue
        time.sleep(0.02)


def assert_same_index(a: Path, b: Path) -> None:
    """Identical reports, passages, failures, terms and keyword index; vectors within the backend's tolerance."""
    ga, gb = load_generation(a), load_generation(b)
    assert ga.reports == gb.reports
    assert ga.chunks == gb.chunks
    assert ga.failures == gb.failures
    ta, tb = check_generation(a).passages().terms, check_generation(b).passages().terms
    assert ta.vocab == tb.vocab and np.array_equal(ta.ids, tb.ids) and np.array_equal(ta.offsets, tb.offsets)
    for k in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(ga.bm25.arrays()[k], gb.bm25.arrays()[k], err_msg=k)
    # Each text is embedded alone (embed.py), so only float noise could differ.
    np.testing.assert_allclose(ga.vectors(0, len(ga.chunks)), gb.vectors(0, len(gb.chunks)), atol=1e-5)


# First: it starts its own Ray instance, before this module's one is up.
def test_cli_index_ray_on_a_local_instance(tmp_path, sample_corpus):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [BEDFORD_2022, BLACKPOOL_2012])
    index = tmp_path / "index"
    (index / "models").mkdir(parents=True)
    for f in MODEL_CACHE.glob("*.onnx"):  # the exported model, not exported again
        (index / "models" / f.name).symlink_to(f)
    run = subprocess.run(
        [sys.executable, "-m", "assistant", "index", "--ray", "--corpus", str(corpus), "--index", str(index)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    gen = load_generation(index)
    assert lines[0].startswith(f"generation {gen.name}: 1 indexed, 0 unchanged, 0 removed, 1 failed; {len(gen.chunks)} passages"), lines
    assert f"  failed: {BLACKPOOL_2012}: not a PDF: it is an HTML page saved with a .pdf name" in lines
    assert [r.path for r in gen.reports] == [BEDFORD_2022]


def test_ray_build_equals_local_build_and_updates_incrementally(local_ray, tmp_path, sample_corpus, sample_index, embedder):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus")
    index = tmp_path / "index"
    # A worker dies in the middle of a parsing task, another in an embedding task: Ray runs each again.
    stop, killed = threading.Event(), {b"parse_batch": [], b"embed_texts": []}
    killers = [threading.Thread(target=kill_a_task_worker, args=(stop, pids, task)) for task, pids in killed.items()]
    for k in killers:
        k.start()
    try:
        s = cluster.build_index_on_ray(corpus, index, embedder=embedder, model_cache=MODEL_CACHE)
    finally:
        stop.set()
        for k in killers:
            k.join()
    assert all(killed.values()), f"a task worker was not seen to kill: {killed}"
    assert len(s.indexed) == 6 and s.new_passages == s.chunks > 600
    # Each distinct passage text embedded once across the build, as locally (not once per task).
    assert s.embedded == len({c.embed_text for c in load_generation(index).chunks})
    assert [f.path for f in s.failed] == [BLACKPOOL_2012] and "HTML" in s.failed[0].reason  # reported by name, as locally
    assert_same_index(sample_index, index)

    # Incremental: only the changed file goes out to the cluster.
    with (corpus / BEDFORD_2022).open("ab") as fh:
        fh.write(b"\n% appended by test_cluster\n")
    s = cluster.build_index_on_ray(corpus, index, embedder=embedder, model_cache=MODEL_CACHE)
    assert s.indexed == [BEDFORD_2022] and len(s.unchanged) == 5
    local = tmp_path / "local"
    build_index(corpus, local, embedder=embedder)
    assert_same_index(local, index)
