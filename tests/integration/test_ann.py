"""Dense search past AnnSettings.ivf_from passages: an IVF index, filters that apply exactly, the store's round trip.

The sample's 633 vectors stand in for millions: the tests lower the threshold
(bench/ann.py measures the real sizes).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from assistant.index import ann
from assistant.index.build import build_index
from assistant.index.read import check_generation, load_generation
from assistant.search.searcher import Searcher
from assistant.settings import AnnSettings
from tests.support.corpora import copy_corpus

BLACKPOOL_2019 = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
# Written for this test about the sample reports.
QUESTIONS = ["how well are care leavers supported into work?", "is management oversight of casework effective?"]


@pytest.fixture(scope="module")
def vectors(sample_index) -> np.ndarray:
    gen = load_generation(sample_index)
    return gen.vectors(0, len(gen.chunks))


@pytest.fixture(scope="module")
def queries(embedder) -> np.ndarray:
    return embedder.encode(QUESTIONS)


def test_flat_below_the_threshold_ivf_from_it(vectors):
    import faiss

    assert not isinstance(ann.build(vectors, vectors.shape[1]), faiss.IndexIVF)  # 633 << AnnSettings.ivf_from
    ivf = ann.build(vectors, vectors.shape[1], ivf_from=len(vectors))
    assert isinstance(ivf, faiss.IndexIVF) and ivf.nlist == ann.nlist_for(len(vectors)) > 1
    # fp16 either way: the vectors read back exactly as a flat index gives them.
    np.testing.assert_array_equal(ivf.reconstruct_n(0, len(vectors)), vectors)


def test_search_returns_only_allowed_rows_and_exact_answers_where_it_probes_all(vectors, queries):
    flat = ann.Dense(ann.build(vectors, vectors.shape[1]))
    ivf = ann.Dense(ann.build(vectors, vectors.shape[1], ivf_from=0, nlist=8), exact_below=20)
    assert (flat.kind, ivf.kind) == ("flat", "ivf8")
    rng = np.random.default_rng(0)
    for q in queries:
        # Today's exact scoring, as search.py does it: the matrix times the query.
        want = np.argsort(-(vectors @ q), kind="stable")[:10]
        rows, scores = flat.search(q, None, 10)
        np.testing.assert_array_equal(rows, want)
        np.testing.assert_allclose(scores, vectors[rows] @ q, rtol=1e-6)
        ivf.nprobe = 8  # every list: exact
        np.testing.assert_array_equal(ivf.search(q, None, 10)[0], want)
        for size in (2, 5, 300):  # scored exactly (the first two); some lists probed
            allowed = np.sort(rng.choice(len(vectors), size, replace=False))
            exact = allowed[np.argsort(-(vectors[allowed] @ q), kind="stable")[:10]]
            for nprobe in (1, 8):
                ivf.nprobe = nprobe
                rows, scores = ivf.search(q, allowed, 10)
                assert set(rows) <= set(allowed) and len(rows) == min(10, size)
                assert np.all(np.diff(scores) <= 0)
                np.testing.assert_allclose(scores, vectors[rows] @ q, rtol=1e-5, atol=1e-6)
                if nprobe == 8 or size <= 20:
                    np.testing.assert_array_equal(rows, exact)
        assert ivf.search(q, np.zeros(0, np.int64), 10)[0].size == 0
        np.testing.assert_allclose(ivf.scores(q, want), vectors[want] @ q, rtol=1e-6)


def test_a_filter_to_whole_reports_is_scored_exactly_from_their_runs_of_rows(sample_index, vectors, queries):
    """One authority's rows are whole reports, i.e. a few runs of consecutive rows: an IVF
    search filtered to them gives exactly the exact search's rows and scores, even where a
    probe of one list would miss most of them."""
    reports = load_generation(sample_index).reports
    ivf = ann.Dense(ann.build(vectors, vectors.shape[1], ivf_from=0, nlist=16), nprobe=1, exact_below=400)
    for picked in ([0], [1, 2], [0, 3, 5], [2, 4]):  # reports side by side and apart
        allowed = np.concatenate([np.arange(reports[i].chunk_start, reports[i].chunk_end) for i in picked])
        assert len(allowed) <= 400 and len(ann.runs(allowed)[0]) <= len(picked)
        for q in queries:
            s = vectors[allowed] @ q
            want = allowed[np.lexsort((allowed, -s))][:10]
            rows, scores = ivf.search(q, allowed, 10)
            np.testing.assert_array_equal(rows, want)
            np.testing.assert_allclose(scores, vectors[want] @ q, rtol=1e-6)
    # Rows in any order, repeated or scattered, score as gathered.
    q = queries[0]
    for rows in (np.array([5, 3, 4, 4, 100, 101, 7]), np.arange(0, 600, 3), np.arange(50, 250)):
        np.testing.assert_allclose(ivf.scores(q, rows), vectors[rows] @ q, rtol=1e-6)
    assert [list(x) for x in ann.runs(np.array([5, 3, 4, 4, 9]))] == [[5, 3, 4, 9], [6, 5, 5, 10]]


def test_store_writes_ivf_past_the_threshold_and_builds_carry_its_vectors(tmp_path, sample_corpus, sample_index, embedder):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus")
    index = tmp_path / "index"
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    flat = load_generation(sample_index)
    # A change: the next generation is written with a lowered threshold.
    low = AnnSettings(ivf_from=100)
    (corpus / BLACKPOOL_2019).unlink()
    build_index(corpus, index, embedder=embedder, ann_settings=low)
    gen = load_generation(index)
    assert ann.Dense(gen.dense).kind.startswith("ivf")
    by_id = {c.id: i for i, c in enumerate(flat.chunks)}
    kept = [by_id[c.id] for c in gen.chunks]
    np.testing.assert_array_equal(gen.vectors(0, len(gen.chunks)), flat.vectors(0, len(flat.chunks))[kept])
    # The next build reads its vectors back from the IVF index and carries them over.
    shutil.copy2(sample_corpus / BLACKPOOL_2019, corpus / BLACKPOOL_2019)
    s = build_index(corpus, index, embedder=embedder, ann_settings=low)
    assert s.indexed == [BLACKPOOL_2019] and len(s.unchanged) == 5
    again = load_generation(index)
    assert [c.id for c in again.chunks] == [c.id for c in flat.chunks]
    np.testing.assert_allclose(again.vectors(0, len(again.chunks)), flat.vectors(0, len(flat.chunks)), atol=1e-5)
    assert len(check_generation(index).passages()) == len(flat.chunks)
    # Search over an IVF generation answers as over the flat one.
    for q in QUESTIONS:
        a = Searcher(sample_index, embedder=embedder).ask(q, k=5)
        b = Searcher(index, embedder=embedder).ask(q, k=5)
        assert [h.chunk_id for h in a.hits] == [h.chunk_id for h in b.hits] and a.hits
