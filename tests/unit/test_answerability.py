"""The answerability model (search/answerable.py, learn/answerability.py): what it reads,
how it is fitted and thresholded, how it loads, and how the searcher obeys it. Logic only:
the fake embedder and hand-set weights; the shipped model's quality is bench/retrieval.py's."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from assistant.index.shipped import ShippedModelError, sha256_of
from assistant.learn.answerability import AnswerabilitySettings, Judged, choose_threshold, fit
from assistant.learn.choose import MAX_LOST
from assistant.search.answerable import ANSWERABILITY_FILE, SCORE_FEATURES, Answerability, Evidence, features, load_answerability
from assistant.search.searcher import NOTHING_MATCHES, Searcher
from assistant.settings import DEFAULTS


def evidence(query, best: float = 0.6, keyword: bool = False, authority: bool = True) -> Evidence:
    fused = np.array([best, best - 0.1, best - 0.2, best - 0.25, best - 0.3, best - 0.35])
    return Evidence(np.asarray(query, dtype=np.float32), fused, fused - 0.1, np.array([8.0, 4, 2, 1, 0, 0]), 0.0, keyword, authority)


def constant(dim: int, bias: float, threshold: float = 0.5) -> Answerability:
    n = len(SCORE_FEATURES) + dim
    return Answerability(np.zeros(n), np.ones(n), np.zeros(n), bias, threshold)


def test_the_model_reads_the_candidates_scores_then_the_question_embedding():
    f = features(evidence([0.5, -0.5], best=0.6, keyword=True))
    assert len(f) == len(SCORE_FEATURES) + 2
    assert f[0] == pytest.approx(0.6) and f[1] == pytest.approx(0.6 - 0.3)  # best, best less the fifth
    assert f[2] == pytest.approx(0.5) and f[5] == pytest.approx(np.log1p(8.0))
    assert (f[7], f[8]) == (1.0, 1.0) and list(f[-2:]) == [0.5, -0.5]
    # No candidate at all (nothing in scope) reads as zeros, not an error.
    empty = Evidence(np.zeros(2), np.zeros(0), np.zeros(0), np.zeros(0), 0.0, False, False)
    assert features(empty)[:6].tolist() == [0.0] * 6


def test_fitting_separates_what_the_embedding_tells_apart_and_the_threshold_keeps_the_answers():
    rng = np.random.default_rng(0)
    answerable = [evidence(rng.normal([1.0, 0.0], 0.3)) for _ in range(200)]
    unanswerable = [evidence(rng.normal([-1.0, 0.0], 0.3)) for _ in range(40)]
    model = fit(answerable + unanswerable, [False] * 200 + [True] * 40, AnswerabilitySettings(l2=1.0))
    assert model.unanswerable(evidence([-1.0, 0.0])) > 0.9 > 0.1 > model.unanswerable(evidence([1.0, 0.0]))
    val = [Judged(f"a{i}", evidence(rng.normal([1.0, 0.0], 0.3)), True, had5=True) for i in range(100)]
    val += [Judged(f"u{i}", evidence(rng.normal([-1.0, 0.0], 0.3)), False) for i in range(20)]
    chosen = choose_threshold(model, val)
    assert chosen.answerable_lost <= MAX_LOST and chosen.unanswerable_emptied >= 0.9
    with pytest.raises(ValueError, match="both"):
        fit(answerable, [False] * 200)


def test_the_threshold_spends_the_loss_budget_the_floor_left():
    model = constant(2, bias=0.0)  # every question 0.5
    # One of 50 answerable questions already lost its answer to the floor's filter: 2 % > MAX_LOST.
    judged = [Judged("a0", evidence([1, 0]), True, had5=True, kept5=False)]
    judged += [Judged(f"a{i}", evidence([1, 0]), True, had5=True) for i in range(1, 50)]
    judged += [Judged("u", evidence([-1, 0]), False)]
    chosen = choose_threshold(model, judged)
    assert chosen.threshold == 1.0 and chosen.unanswerable_emptied == 0.0


def test_typed_queries_count_only_where_the_model_reads_them():
    # The model reads the question's first embedding dimension: negative looks unanswerable.
    model = constant(2, bias=0.0)
    model = Answerability(model.mean, model.scale, np.r_[np.zeros(len(SCORE_FEATURES)), -5.0, 0.0], 0.0, 0.5)
    looks_unanswerable = evidence([-1, 0])
    judged = [Judged(f"typed {i}", looks_unanswerable, True, had5=True, typed=True) for i in range(10)]
    judged += [Judged(f"a{i}", evidence([1, 0]), True, had5=True) for i in range(190)]
    judged += [Judged("u", looks_unanswerable, False), Judged("typed u", looks_unanswerable, False, typed=True)]
    # Read by the model, emptying "u" would cost the 10 typed answerable questions (5 %): nothing is emptied.
    assert choose_threshold(model, judged).unanswerable_emptied == 0.0
    # Left ranked, the typed questions can be neither lost nor emptied: "u" alone is.
    assert choose_threshold(model, judged, reads_typed=False).unanswerable_emptied == 0.5


def test_it_round_trips_through_its_file_and_loads_only_for_its_embedder(tmp_path):
    model = Answerability(np.array([0.1, 0.2]), np.array([1.0, 2.0]), np.array([0.5, -0.5]), 0.25, 0.7)
    back = Answerability.of_json(json.loads(model.write(tmp_path / ANSWERABILITY_FILE).read_text()))
    assert back.threshold == 0.7 and back.bias == 0.25 and back.weights.tolist() == [0.5, -0.5]
    card = {"answerability": {"file": ANSWERABILITY_FILE, "sha256": sha256_of(tmp_path / ANSWERABILITY_FILE), "embedder_sha256": "e1"}}
    (tmp_path / "models.json").write_text(json.dumps(card))
    assert load_answerability("e1", tmp_path) is not None
    assert load_answerability("another embedder", tmp_path) is None  # its weights read e1's dimensions
    (tmp_path / ANSWERABILITY_FILE).write_text((tmp_path / ANSWERABILITY_FILE).read_text().replace("0.25", "0.26"))
    with pytest.raises(ShippedModelError, match="sha256"):
        load_answerability("e1", tmp_path)


def test_the_searcher_shows_nothing_when_the_model_says_no_report_answers(fake_index, fake_embedder):
    dim = fake_embedder.info.dim
    question = "How are care leavers in Blackpool helped into work?"
    sure_no = Searcher(fake_index, embedder=fake_embedder, answerability=constant(dim, bias=8.0))
    a = sure_no.ask(question)
    assert a.hits == () and a.abstained == NOTHING_MATCHES and a.answerable is not None and a.answerable < 0.01
    assert a.to_json()["answerable"] == a.answerable
    sure_yes = Searcher(fake_index, embedder=fake_embedder, answerability=constant(dim, bias=-8.0))
    b = sure_yes.ask(question)
    assert b.hits and b.answerable is not None and b.answerable > 0.99
    # Without a model nothing changes and the field says so.
    assert Searcher(fake_index, embedder=fake_embedder, answerability=None).ask(question).answerable is None


def test_keyword_queries_naming_an_authority_are_left_to_the_floor_unless_settings_say(fake_index, fake_embedder):
    dim = fake_embedder.info.dim
    lenient = replace(DEFAULTS.ranking, answerability_keywords=False)
    s = Searcher(fake_index, embedder=fake_embedder, settings=lenient, answerability=constant(dim, bias=8.0))
    assert s.ask("Blackpool foster carers").hits  # typed, names an authority: ranked, as the floor leaves it
    assert not s.ask("How are foster carers in Blackpool supported?").hits
    strict = Searcher(fake_index, embedder=fake_embedder, settings=replace(lenient, answerability_keywords=True), answerability=constant(dim, 8.0))
    assert not strict.ask("Blackpool foster carers").hits
    off = Searcher(fake_index, embedder=fake_embedder, settings=replace(DEFAULTS.ranking, answerability=False), answerability=constant(dim, 8.0))
    assert off.ask("How are foster carers in Blackpool supported?").answerable is None
