"""One answer, one index generation: a re-index landing between two steps of an answer
changes nothing in it (search.searcher.Snapshot, acquired once per answer).

A hook swaps the searcher's snapshot for another library's after the answer's first
search, as a re-index finishing at that moment would; the answer must be the one the
first generation gives, and say so.
"""

from __future__ import annotations

import pytest

from assistant.index.build import build_index
from assistant.search import themes
from assistant.search.searcher import Searcher, Snapshot
from tests.support.corpora import copy_corpus

BLACKPOOL_2019 = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
THEME = "care leavers' pathway plans"


@pytest.fixture(scope="module")
def other(tmp_path_factory, sample_corpus, fake_embedder) -> Snapshot:
    """Another library (one report): the generation a re-index swaps in mid-answer."""
    root = tmp_path_factory.mktemp("other")
    corpus = copy_corpus(sample_corpus, root / "corpus", only=[BLACKPOOL_2019])
    build_index(corpus, root / "index", embedder=fake_embedder)
    return Searcher(root / "index", embedder=fake_embedder).acquire()


def reindex_after_first_search(monkeypatch, searcher: Searcher, to: Snapshot) -> list[str]:
    """After the searcher's first search, serve `to` (as reload() would); returns the
    generation each search call read."""
    seen: list[str] = []
    search = searcher.search

    def search_then_swap(q, *args, **kwargs):
        out = search(q, *args, **kwargs)
        seen.append(out.generation)
        searcher._served = to
        return out

    monkeypatch.setattr(searcher, "search", search_then_swap)
    return seen


def test_the_across_view_reads_one_generation(monkeypatch, fake_index, fake_embedder, other):
    searcher = Searcher(fake_index, embedder=fake_embedder)
    first = searcher.acquire()
    assert other.name != first.name
    expected = themes.across(searcher, THEME)
    assert expected.generation == first.name and expected.rows
    seen = reindex_after_first_search(monkeypatch, searcher, other)
    got = themes.across(searcher, THEME)
    assert searcher.acquire() is other  # the re-index did land mid-answer
    assert got.generation == first.name and set(seen) == {first.name}
    assert got.to_json() == expected.to_json()
    # The snapshot's own caches belong to it: the other generation's were never built.
    assert not other._memo


def test_the_over_time_view_reads_one_generation(monkeypatch, fake_index, fake_embedder, other):
    searcher = Searcher(fake_index, embedder=fake_embedder)
    first = searcher.acquire()
    authority = next(k for k in first.names if sum(1 for x in first.key_of if x == k) > 1)
    expected = searcher.best_per_report("social workers and their managers", authority)
    assert len({h.source for h in expected}) > 1
    seen = reindex_after_first_search(monkeypatch, searcher, other)
    got = searcher.best_per_report("social workers and their managers", authority)
    assert set(seen) == {first.name} and len(seen) > 1
    assert [h.to_json() for h in got] == [h.to_json() for h in expected]
    assert themes.tally_hits(got) == themes.tally_hits(expected)


def test_a_question_is_understood_and_answered_in_one_generation(monkeypatch, fake_index, fake_embedder, other):
    searcher = Searcher(fake_index, embedder=fake_embedder)
    first = searcher.acquire()
    question = "Bedford 2022: how are care leavers supported?"
    expected = searcher.ask(question, k=3)
    understand = searcher.understand

    def understand_then_swap(text, snapshot=None):
        out = understand(text, snapshot)
        searcher._served = other
        return out

    monkeypatch.setattr(searcher, "understand", understand_then_swap)
    got = searcher.ask(question, k=3)
    assert got.generation == first.name and got.to_json() == expected.to_json()
