"""Shared fixtures: the real sample corpus, the real model, one built index per session,
and the fake embedder's index for tests where the model is not the point.

Which to use: `fake_index` / `fake_searcher` (tests/support/fakes.py: instant, real
passages, hashed bag-of-words vectors) for anything but ranking quality; `sample_index` /
`searcher` (the real model) when which passage comes first is what the test checks;
`writable_index` for a private copy of the real index to change or break.

Markers are set here from what a test uses: `model` on every test that needs the real
model (its fixtures, or an app, which loads it), `browser` and `ray` on the files that
drive Chromium or a Ray cluster. Select with e.g. `-m "not model"`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.paths import MODEL_CACHE, SAMPLE, SHARED

MODEL_FIXTURES = {"embedder", "sample_index", "writable_index", "searcher", "onnx_embedder", "torch_embedder"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        path = Path(str(item.fspath))
        if names & MODEL_FIXTURES or path.parent.name == "e2e":
            item.add_marker(pytest.mark.model)
        if path.name.startswith("test_browser") or "browser" in names:
            item.add_marker(pytest.mark.browser)


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
    """Deterministic, instant stand-in for logic tests (tests/support/fakes.py); not for ranking quality."""
    from tests.support.fakes import HashingEmbedder

    return HashingEmbedder()


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory, fake_embedder) -> Path:
    """The sample corpus indexed with the fake embedder: real passages, no ONNX export needed."""
    from assistant.index.build import build_index

    index = tmp_path_factory.mktemp("fake-index")
    build_index(SAMPLE, index, embedder=fake_embedder)
    return index


@pytest.fixture(scope="session")
def fake_searcher(fake_index, fake_embedder):
    """A searcher over `fake_index`: real passages, citations and filters; keyword scores as
    with the real model, dense scores from hashed words."""
    from assistant.search.searcher import Searcher

    return Searcher(fake_index, embedder=fake_embedder)


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
