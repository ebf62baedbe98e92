"""Shared fixtures: the real sample corpus, the real model, one built index per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus"
SHARED = ROOT.parent / "shared" / "corpus" / "ofsted-ilacs"
# The ONNX export is cached across test runs here (git-ignored); it is rebuilt if absent.
MODEL_CACHE = ROOT / "index" / "models"


@pytest.fixture(scope="session")
def sample_corpus() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"full corpus not present at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def embedder():
    from assistant.index.embed import load_embedder

    return load_embedder(cache_dir=MODEL_CACHE)


@pytest.fixture(scope="session")
def fake_embedder():
    """Deterministic, instant stand-in for logic tests (tests/fakes.py); not for ranking quality."""
    from fakes import HashingEmbedder

    return HashingEmbedder()


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory, fake_embedder) -> Path:
    """The sample corpus indexed with the fake embedder: real passages, no ONNX export needed."""
    from assistant.index.build import build_index

    index = tmp_path_factory.mktemp("fake-index")
    build_index(SAMPLE, index, embedder=fake_embedder)
    return index


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder) -> Path:
    """A built index of the sample corpus, shared read-only by the session's tests."""
    from assistant.index.build import build_index

    index = tmp_path_factory.mktemp("index")
    build_index(SAMPLE, index, embedder=embedder)
    return index


@pytest.fixture()
def writable_index(tmp_path, sample_index) -> Path:
    """A private copy of the sample index that a test may change or break."""
    dst = tmp_path / "index"
    shutil.copytree(sample_index, dst, ignore=shutil.ignore_patterns("build.lock"))
    return dst


@pytest.fixture(scope="session")
def searcher(sample_index, embedder):
    from assistant.search.searcher import Searcher

    return Searcher(sample_index, embedder=embedder)
