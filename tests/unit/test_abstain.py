"""The abstention helpers on the real sample index."""

from __future__ import annotations

import math

from assistant.index import keywords
from assistant.search.abstain import AbstentionRule, rare_term_share


def test_the_keyword_index_counts_the_passages_holding_a_term(fake_searcher):
    gen = fake_searcher.generation
    df = gen.bm25.df
    counted = sum(1 for c in gen.chunks if "foster" in keywords.term_set(c.text))
    # stemmed "foster": the same stemmer builds the index and the query terms
    assert df(keywords.terms("foster")[0]) == counted > 0
    assert df("zzzznotaword") == 0


def test_rare_term_share_tells_off_topic_words_from_the_fields(fake_searcher):
    gen = fake_searcher.generation
    df = gen.bm25.df
    n = len(gen.chunks)
    on = rare_term_share(keywords.terms("how well are care leavers supported into education"), df, n)
    off = rare_term_share(keywords.terms("crispy pizza dough with mozzarella"), df, n)
    assert on == 0.0
    assert off > 0.9
    assert rare_term_share([], df, n) == 0.0


def test_abstention_rule():
    rule = AbstentionRule()
    assert rule.abstains(None, 0.0) and rule.abstains(-math.inf, 0.0)
    assert not rule.abstains(0.9, 0.0)
    assert rule.abstains(0.45, 0.2)  # 0.45 - 0.1 < 0.40
    assert not rule.abstains(0.45, 0.0)
