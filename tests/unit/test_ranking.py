"""The searcher's ranking steps on small arrays, and question understanding: no model, no index."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from assistant.search.query import LEAD_INSPECTOR, OVERALL, Filters, Query, understand
from assistant.search.searcher import SIGNAL_NAMES, SIGNALS, Masks, apply_floor, fuse, penalise, ranked
from assistant.settings import MAX_K, RankingSettings, clamp_k

ST = RankingSettings()


def masks(n: int, **set_rows: list[int]) -> Masks:
    arrays = {name: np.zeros(n, dtype=bool) for name in set_rows}
    for name, rows in set_rows.items():
        arrays[name][rows] = True
    return Masks.named(n, **arrays)


def test_fuse_adds_weighted_normalised_bm25_to_the_cosine():
    dense = np.array([0.5, 0.4, 0.1], dtype=np.float32)
    bm = np.array([0.0, 12.0, 6.0], dtype=np.float32)
    score = fuse(dense, bm, ST)
    assert score.dtype == np.float32
    np.testing.assert_allclose(score, [0.5, 0.4 + ST.bm25_weight, 0.1 + ST.bm25_weight / 2], rtol=1e-6)


def test_weak_keyword_matches_stay_weak():
    # The best BM25 score is below min_bm25: it is divided by the floor, not by itself.
    score = fuse(np.zeros(2, dtype=np.float32), np.array([3.0, 0.0], dtype=np.float32), ST)
    assert score[0] == np.float32(ST.bm25_weight * 3.0 / ST.min_bm25)


def test_only_candidates_of_either_signal_are_scored():
    st = RankingSettings(candidates=2)
    dense = np.array([0.9, 0.8, 0.1, 0.0, 0.0], dtype=np.float32)
    bm = np.array([0.0, 0.0, 0.0, 5.0, 4.0], dtype=np.float32)
    score = fuse(dense, bm, st)
    assert np.isfinite(score).tolist() == [True, True, False, True, True]


def test_penalties_and_intent_boosts():
    base = np.full(5, 1.0, dtype=np.float32)
    m = masks(5, heading=[0], front=[1], restatement=[2], lead=[3], overall=[4])
    plain = penalise(base, m, Query("q"), None, ST)
    assert plain.dtype == np.float32
    np.testing.assert_allclose(plain, [1 - ST.heading_penalty, 1 - ST.front_penalty, 1 - ST.restatement_penalty, 1, 1])
    # Asking who led: front lines are not penalised and the lead line is lifted.
    lead = penalise(base, m, Query("q", intent=LEAD_INSPECTOR), None, ST)
    assert lead[1] == 1.0 and lead[3] == 1.0 + ST.intent_boost
    overall = penalise(base, m, Query("q", intent=OVERALL), None, ST)
    assert overall[4] == 1.0 + ST.intent_boost
    # Asking what to improve: summary lists are the answer, not restatements.
    assert penalise(base, m, Query("q", wants_actions=True), None, ST)[2] == 1.0
    near = penalise(base, m, Query("q"), np.array([0, 0, 0, 1, 0], dtype=bool), ST)
    assert near[3] == np.float32(1.0 + ST.month_boost)
    # With no intent, the judgement sections' numbered paragraphs are lifted; not for intent questions.
    body = masks(2, numbered=[1])
    two = np.ones(2, dtype=np.float32)
    assert penalise(two, body, Query("q"), None, ST)[1] == np.float32(1.0 + ST.numbered_boost)
    assert penalise(two, body, Query("q", intent=OVERALL), None, ST)[1] == 1.0
    assert base.tolist() == [1.0] * 5  # the input is not changed


def test_floor_keeps_shared_words_or_close_paraphrases():
    score = np.ones(4, dtype=np.float32)
    dense = np.array([ST.strong_dense, ST.min_dense, ST.min_dense, ST.min_dense - 0.01], dtype=np.float32)
    bm = np.array([0.0, 1.0, 0.0, 9.0], dtype=np.float32)
    assert np.isfinite(apply_floor(score, dense, bm, ST)).tolist() == [True, True, False, False]


def test_ranked_stops_at_the_first_passage_below_the_floor():
    score = np.array([0.2, -np.inf, 0.9, 0.2], dtype=np.float32)
    assert ranked(score, 10) == [2, 0, 3]
    assert ranked(score, 1) == [2]


def test_a_question_is_understood_once_into_one_query():
    q = understand("Bedford 2017: how effective was the MASH?", {"bedford"})
    assert q.filters == Filters(("bedford",), 2017, 2017)
    assert q.stripped == ("Bedford", "2017") and q.years_asked
    assert q.topic == "how effective was the MASH?"
    assert understand("Who was the lead inspector in Bedford?", {"bedford"}).intent == LEAD_INSPECTOR
    assert understand("What was the overall effectiveness judgement?", set()).intent == OVERALL
    since = understand("care leavers since 2019", set())
    assert (since.filters.year_from, since.filters.year_to) == (2019, None)
    # One topic word left is scored alone (issue 19: "Bucks MASH" was scored with the place);
    # nothing but filter words left: the whole question is scored.
    assert understand("Bedford adoption", {"bedford"}).search_text == "adoption"
    assert understand("Bedford 2017", {"bedford"}).search_text == "Bedford 2017"


def test_explicit_filters_win_and_are_not_widened():
    q = understand("Bedford 2017: how effective was the MASH?", {"bedford"})
    merged = q.with_filters(Filters(("blackpool",), 2019, 2019))
    assert merged.filters == Filters(("blackpool",), 2019, 2019) and not merged.years_asked
    assert q.with_filters(Filters(("blackpool",))).filters == Filters(("blackpool",), 2017, 2017)
    plain = Query.plain("care leavers", Filters(year_from=2020))
    assert plain.search_text == "care leavers" and not plain.years_asked and not plain.intent


def test_one_k_limit():
    assert clamp_k(None) == 5 and clamp_k(0) == 5 and clamp_k(3) == 3
    assert clamp_k(10_000) == MAX_K and clamp_k(-4) == 1


def test_abstains_when_the_best_passage_is_weak_or_the_words_unknown():
    from assistant.search.searcher import abstains

    strong = np.array([ST.abstain_below + 0.2, 0.1], dtype=np.float32)
    assert not abstains(strong, 0.0, ST)
    # The same passage, for a question most of whose weight the library does not know.
    assert abstains(strong, 1.0, ST)
    assert abstains(np.array([ST.abstain_below - 0.01], dtype=np.float32), 0.0, ST)
    assert abstains(np.array([-np.inf], dtype=np.float32), 0.0, ST) and abstains(np.zeros(0, dtype=np.float32), 0.0, ST)


def test_settings_describe_every_field_with_its_measurement():
    lines = ST.describe()
    # The re-ranker's overrides are a section of their own: one line per field, by dotted path.
    assert len(lines) == len(fields(ST)) - 1 + len(fields(ST.rerank))
    assert all("#" in line and "[" in line for line in lines)
    assert any(line.startswith("rerank.depth = ") for line in lines)


def test_every_signal_is_flagged_weighted_and_explained_from_its_one_entry():
    # SIGNALS is the one place a signal is declared: its weight is a ranking setting, it has a
    # row in every Masks, and penalise adds exactly its weight for the questions it applies to.
    assert len(set(SIGNAL_NAMES)) == len(SIGNALS)
    for sig in SIGNALS:
        assert sig.weight in {f.name for f in fields(RankingSettings)}, sig.name
        m = Masks.named(2, **{sig.name: np.array([True, False])})
        assert m.explain(0) == (sig.name,) and m.explain(1) == ()
        assert m[sig.name].tolist() == [True, False] and getattr(m, sig.name) is not None
        for q in (Query("q"), Query("q", intent=LEAD_INSPECTOR), Query("q", intent=OVERALL), Query("q", wants_actions=True)):
            out = penalise(np.zeros(2, dtype=np.float32), m, q, None, ST)
            assert out[1] == 0.0 and out[0] == np.float32(sig.weight_for(q, ST)), (sig.name, q)
    assert Masks.named(3).take(np.array([2, 0])).flags.shape == (len(SIGNALS), 2)


def test_masks_of_passages_reads_each_signal():
    from assistant.index.chunking import Chunk

    def chunk(text, kind="body", page=3, section="Help and protection", number=None):
        return Chunk(id=text[:8], sha256="r", paragraph=0, part=0, text=text, header="", page=page, number=number, section=section, kind=kind)

    m = Masks.of(
        [
            chunk("Lead inspector: Jane Doe", kind="front", page=1),
            chunk("Short bit", number=None),
            chunk("Children are seen promptly by social workers here.", number=12),
            chunk("Leaders should improve the quality of supervision now.", section="What needs to improve?"),
        ],
        ST,
    )
    assert m.explain(0) == ("front", "lead")
    assert m.explain(1) == ("front",)
    assert m.explain(2) == ("numbered",)
    assert m.explain(3) == ("restatement",)
    # The fragment rule counts words as str.split does, at the setting's number.
    assert Masks.of([chunk("one two three four five six")], RankingSettings(short_words=7)).explain(0) == ("front",)


def test_dense_scores_flat_is_exact_and_ivf_scores_the_candidates():
    import faiss

    from assistant.index import ann
    from assistant.search.searcher import dense_scores

    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 16)).astype("float32")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[7]
    rows = np.arange(0, 2000, 2, dtype=np.int64)  # a filter: every other passage
    bm = np.zeros(len(rows), dtype=np.float32)
    bm[123] = 5.0  # one keyword candidate far from the question
    flat = ann.Dense(ann.build(x, 16))
    np.testing.assert_allclose(dense_scores(flat, q, rows, bm, 10), x[rows] @ q, rtol=1e-3, atol=1e-3)
    ivf = ann.Dense(ann.build(x, 16, ivf_from=1000, nlist=8), nprobe=8, exact_below=0)
    assert isinstance(ivf.index, faiss.IndexIVF)
    got = dense_scores(ivf, q, rows, bm, 10)
    exact = x[rows] @ q
    scored = got > -1
    assert scored.sum() >= 10 and scored[123]  # the nearest and BM25's candidate have a cosine
    np.testing.assert_allclose(got[scored], exact[scored], rtol=1e-3, atol=1e-3)
    assert set(np.argsort(-exact)[:10]) <= set(np.flatnonzero(scored))  # nprobe = nlist: nothing missed


def test_unknown_words_scale_with_the_library():
    from assistant.search.searcher import unknown_share

    df = {"front": 2, "door": 1, "pizza": 0}.get
    # In the full library (the size it was fitted on) words in under 3 passages are unknown...
    assert unknown_share(["front", "door"], lambda t: df(t) or 0, ST.rare_per, ST) == 1.0
    # ...in a one-report library of 80 passages only a word found nowhere is.
    assert unknown_share(["front", "door"], lambda t: df(t) or 0, 80, ST) == 0.0
    assert unknown_share(["front", "pizza"], lambda t: df(t) or 0, 80, ST) > 0.5
