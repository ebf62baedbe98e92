"""SIGKILL an index build at random moments: the index stays whole.

A build runs as `python -m assistant index --rebuild` in its own process group,
switching the index between two corpora that differ by one report, and is
killed (with its parser workers) after a random delay spread over a measured
build's duration. After every kill the index must load as exactly the
generation before the build or the one it was writing, never a mix or nothing,
and the next build must not be held up by a stale lock.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.index.disk import Generation, current_name, generations, model_stamp
from assistant.index.read import load_generation
from tests.support.corpora import copy_corpus
from tests.support.paths import MODEL_CACHE, ROOT

TOGGLED = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
SMALL = [
    "80428_bedford/children's services inspection - 14 january 2022.pdf",
    "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf",
    TOGGLED,
]


@dataclass(frozen=True)
class State:
    reports: frozenset[str]
    chunks: frozenset[str]
    failures: frozenset[str]


def state_of(gen: Generation) -> State:
    return State(
        frozenset(r.path for r in gen.reports),
        frozenset(c.id for c in gen.chunks),
        frozenset(f.line() for f in gen.failures),
    )


def expected(reference: Generation, paths: set[str]) -> State:
    """What an index of just `paths` holds, read off the in-process reference build."""
    reps = [r for r in reference.reports if r.path in paths]
    ids = {c.id for r in reps for c in reference.chunks[r.chunk_start : r.chunk_end]}
    fails = {f.line() for f in reference.failures if f.path in paths}
    return State(frozenset(r.path for r in reps), frozenset(ids), frozenset(fails))


@dataclass
class Figures:
    seed: int
    build_seconds: float = 0.0  # median of the builds that ran to the end
    kills: int = 0  # SIGKILLs delivered to a running build
    finished_first: int = 0  # builds that completed before their kill time
    survived: int = 0  # kills after which the index loaded as old or new
    saw_old: int = 0
    saw_new: int = 0
    delays: list[float] = field(default_factory=list)  # kill moments as fractions of the build time

    def line(self) -> str:
        return (
            f"crash test: seed {self.seed}, build {self.build_seconds:.1f} s, {self.kills} kills mid-build "
            f"(+{self.finished_first} builds finished first), {self.survived}/{self.kills + self.finished_first} "
            f"survived: {self.saw_old} previous, {self.saw_new} new generation; kill moments at "
            + ", ".join(f"{d:.0%}" for d in sorted(self.delays))
            + " of a build"
        )


def _start(corpus: Path, index: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "index", "--corpus", str(corpus), "--index", str(index), "--rebuild"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )


# A "writing" kill lands within this long after the new generation's temporary folder
# appears, unless the warm-up builds show writing and switching CURRENT took less.
WRITE_WINDOW = 0.3


def _wait_for_writing(proc: subprocess.Popen, index: Path) -> None:
    """Until the build starts writing its generation (or ends)."""
    gens = index / "generations"
    before = set(gens.glob(".tmp-*"))
    while proc.poll() is None and not (set(gens.glob(".tmp-*")) - before):
        time.sleep(0.005)


def crash_loop(
    tmp_path: Path, sample_corpus: Path, reference: Generation, embedder, files: list[str], kills: int, seed: int, writing: bool = False
) -> Figures:
    stamp = model_stamp(embedder)
    figures = Figures(seed)
    rng = random.Random(seed)
    with_one = copy_corpus(sample_corpus, tmp_path / "with", files)
    without = copy_corpus(sample_corpus, tmp_path / "without", [f for f in files if f != TOGGLED])
    states = {with_one: expected(reference, set(files)), without: expected(reference, set(files) - {TOGGLED})}
    assert states[with_one] != states[without] and states[without].chunks
    index = tmp_path / "index"
    (index / "models").mkdir(parents=True)
    for f in MODEL_CACHE.glob("*.onnx"):
        (index / "models" / f.name).symlink_to(f)
    log = tmp_path / "build.log"

    # Two whole builds: the first warms caches, the second says how long a build takes here and now.
    serving = without
    durations, writes = [], []
    for corpus in (with_one, without):
        t0 = time.monotonic()
        before = current_name(index)
        proc = _start(corpus, index, log)
        _wait_for_writing(proc, index)
        t_write = time.monotonic()
        while proc.poll() is None and current_name(index) == before:
            time.sleep(0.002)
        writes.append(time.monotonic() - t_write)  # temporary folder -> CURRENT switched
        assert proc.wait(300) == 0, log.read_text()
        durations.append(time.monotonic() - t0)
        assert state_of(load_generation(index, expect_model=stamp)) == states[corpus]
    durations = durations[1:]
    # Writing a generation got fast (index format 3): aim at the time it takes here, and a
    # little past the switch, so kills land on both sides of it.
    write_window = min(WRITE_WINDOW, max(0.02, 1.5 * max(writes)))

    # Builds on shared cores vary in length, so the kill window follows the builds
    # seen to finish, and a build that beats its kill time does not count as a kill.
    # Stratified: one random moment in each 1/kills slice of the build, in random order.
    moments = [(i + rng.random()) / kills for i in range(kills)]
    rng.shuffle(moments)
    attempts = 0
    while figures.kills < kills and attempts < (2 * kills if writing else kills + max(3, kills // 4)):
        attempts += 1
        target = without if serving == with_one else with_one
        window = statistics.median(durations)
        proc = _start(target, index, log)
        t0 = time.monotonic()
        if writing:
            _wait_for_writing(proc, index)
            delay = time.monotonic() - t0 + rng.uniform(0.0, write_window)
        else:
            delay = window * (moments.pop() if moments else rng.random())
        try:
            proc.wait(max(0.0, delay - (time.monotonic() - t0)))
            durations.append(time.monotonic() - t0)
            figures.finished_first += 1
            assert proc.returncode == 0, f"build failed on its own: {log.read_text()}"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
            figures.kills += 1
            figures.delays.append(delay / window)
        gen = load_generation(index, expect_model=stamp)
        got = state_of(gen)
        assert got in (states[serving], states[target]), (
            f"after a kill at {delay:.2f} s the index ({gen.name}) is neither the previous nor the new corpus"
        )
        figures.survived += 1
        if got == states[target]:
            figures.saw_new += 1
            serving = target
        else:
            figures.saw_old += 1

    figures.build_seconds = statistics.median(durations)

    # No stale lock or leftover blocks the next build, and it tidies up after the killed ones.
    target = without if serving == with_one else with_one
    # Leftovers of a killed build are cleared once older than 5 s; the build's own run time counts.
    time.sleep(max(0.0, 5.5 - 0.7 * figures.build_seconds))
    proc = _start(target, index, log)
    assert proc.wait(300) == 0, log.read_text()
    assert state_of(load_generation(index, expect_model=stamp)) == states[target]
    assert len(generations(index)) <= 2 and current_name(index) in generations(index)
    assert not list((index / "generations").glob(".tmp-*"))
    return figures


def _report(capsys, figures: Figures) -> None:
    with capsys.disabled():
        print("\n" + figures.line())


def test_killed_builds_leave_previous_or_new_generation(tmp_path, sample_corpus, sample_index, embedder, capsys):
    """Default suite: 5 kills of a small (three-report) build."""
    seed = int(os.environ.get("CRASH_SEED", "5"))
    figures = crash_loop(tmp_path, sample_corpus, load_generation(sample_index), embedder, SMALL, kills=5, seed=seed)
    _report(capsys, figures)
    assert figures.kills >= 3 and figures.survived == figures.kills + figures.finished_first


@pytest.mark.slow
def test_killed_full_sample_builds_twenty_times(tmp_path, sample_corpus, sample_index, embedder, capsys):
    """20 kills of a full sample-corpus build (about 2-3 minutes)."""
    reference = load_generation(sample_index)
    files = sorted({r.path for r in reference.reports} | {f.path for f in reference.failures})
    seed = int(os.environ.get("CRASH_SEED", "20"))
    figures = crash_loop(tmp_path, sample_corpus, reference, embedder, files, kills=20, seed=seed)
    _report(capsys, figures)
    assert figures.kills == 20 and figures.survived == figures.kills + figures.finished_first


@pytest.mark.slow
def test_builds_killed_while_writing_the_generation(tmp_path, sample_corpus, sample_index, embedder, capsys):
    """10 kills aimed at the write-and-switch phase, which random moments rarely hit."""
    seed = int(os.environ.get("CRASH_SEED", "10"))
    figures = crash_loop(tmp_path, sample_corpus, load_generation(sample_index), embedder, SMALL, kills=10, seed=seed, writing=True)
    _report(capsys, figures)
    assert figures.kills == 10 and figures.survived == figures.kills + figures.finished_first
