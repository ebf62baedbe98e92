"""Follow-up questions keep what they do not change."""

from __future__ import annotations

import pytest

from assistant.search.conversation import Context, next_turn, rerun, topic_words, with_filters
from assistant.search.query import Filters, understand

KNOWN = {"bedford", "blackpool", "norfolk", "north northamptonshire"}


def turn(question: str, ctx: Context):
    return next_turn(understand(question, KNOWN), ctx)


def converse(*questions: str) -> list:
    ctx, out = Context(), []
    for q in questions:
        t = turn(q, ctx)
        ctx = t.context
        out.append(t)
    return out


def test_first_question_sets_topic_and_filters():
    (t,) = converse("Bedford 2017: how effective was the MASH?")
    assert t.query.text == "Bedford 2017: how effective was the MASH?"
    assert t.query.search_text == ": how effective was the MASH?"
    assert t.context.filters == t.query.filters == Filters(("bedford",), 2017, 2017)
    assert t.context.topic == "how effective was the MASH?"
    # The question's own years: the searcher may widen them when no report matches.
    assert t.query.years_asked


def test_new_topic_keeps_authority_and_year():
    _, t = converse("Bedford 2017: how effective was the MASH?", "what about care leavers?")
    assert not t.follow_up
    assert t.query.search_text == "what about care leavers?"
    assert t.query.filters == Filters(("bedford",), 2017, 2017)
    assert not t.query.years_asked  # the context's years are not the question's to widen
    assert t.context.topic == "what about care leavers?"


def test_and_in_year_changes_only_the_year():
    _, _, t = converse("Bedford 2017: how effective was the MASH?", "what about care leavers?", "and in 2021?")
    assert t.follow_up
    assert t.query.search_text == "what about care leavers?"  # the topic, re-asked
    assert t.query.filters == t.context.filters == Filters(("bedford",), 2021, 2021)
    assert t.query.years_asked
    assert t.context.topic == "what about care leavers?"


def test_other_authority_keeps_topic_and_drops_year():
    _, t = converse("Bedford 2017: how effective was the MASH?", "and Blackpool?")
    assert t.follow_up and t.query.search_text == "how effective was the MASH?"
    assert t.query.filters == Filters(("blackpool",))


def test_authority_and_year_together_replace_both():
    _, t = converse("Bedford 2017: how effective was the MASH?", "Norfolk 2013?")
    assert t.follow_up
    assert t.context.filters == t.query.filters == Filters(("norfolk",), 2013, 2013)
    assert t.query.search_text == "how effective was the MASH?"


def test_year_ranges_travel_as_written():
    _, t = converse("Bedford: how effective was the MASH?", "since 2020?")
    assert t.context.filters == t.query.filters == Filters(("bedford",), 2020, None)
    assert t.query.years_asked


def test_punctuation_next_to_a_name_still_names_it():
    (t,) = converse("Blackpool: how are care leavers supported?")
    assert t.query.filters.authorities == ("blackpool",)
    _, t = converse("Bedford 2017: how effective was the MASH?", "and Norfolk?")
    assert t.query.filters.authorities == ("norfolk",)


def test_new_topic_button_is_an_empty_context():
    t = turn("what about care leavers?", Context())
    assert t.query.filters == Filters() and t.context.filters == Filters()


def test_filters_edited_in_the_ui_are_used():
    first = turn("Bedford 2017: how effective was the MASH?", Context()).context
    edited = with_filters(first, Filters(("bedford",), 2022, 2022))
    t = turn("what about care leavers?", edited)
    assert t.query.filters == Filters(("bedford",), 2022, 2022)
    cleared = with_filters(first, Filters())
    assert turn("what about care leavers?", cleared).query.filters == Filters()
    # Re-running the topic with edited filters uses them as set: no widening.
    q = rerun(edited)
    assert q is not None and q.search_text == "how effective was the MASH?"
    assert q.filters == Filters(("bedford",), 2022, 2022) and not q.years_asked


def test_filters_only_first_question():
    t1, t2 = converse("Bedford 2017", "and 2022?")
    assert t1.context.topic == ""
    assert t2.query.text == "and 2022?" and t2.context.filters == Filters(("bedford",), 2022, 2022)


@pytest.mark.parametrize(
    "question,words",
    [
        ("and in 2021?", []),
        ("what about Norfolk?", []),
        ("what about care leavers?", ["care", "leavers"]),
        ("North Northamptonshire 2026: adoption", ["adoption"]),
    ],
)
def test_topic_words(question, words):
    assert topic_words(understand(question, KNOWN)) == words


def test_the_topic_is_the_question_without_its_filter_words():
    q = understand("North Northamptonshire 2026: how well are children helped?", KNOWN)
    assert q.topic == "how well are children helped?"
    assert q.stripped == ("North Northamptonshire", "2026")


# --- with the real index: the conversation as the chat runs it -------------------------


@pytest.fixture(scope="module")
def service(fake_index, fake_embedder, sample_corpus):
    """The chat's conversation logic over the real sample passages; the fake embedder
    is enough here, since the filters decide which reports answer."""
    from assistant.app.service import Service
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings

    return Service(AppSettings(corpus=sample_corpus, index=fake_index), fake_embedder, Searcher(fake_index, embedder=fake_embedder))


def test_follow_ups_against_the_sample_index(service):
    r1 = service.reply("Bedford 2017: how effective was the MASH?", Context(), 5)
    assert r1.answer.hits and {h.published[:4] for h in r1.answer.hits} == {"2017"}
    r2 = service.reply("what about care leavers?", r1.context, 5)
    assert r2.answer.filters == Filters(("bedford",), 2017, 2017)
    assert r2.answer.hits and {(h.local_authority, h.published[:4]) for h in r2.answer.hits} == {("Bedford Borough", "2017")}
    assert "leav" in " ".join(h.text.lower() for h in r2.answer.hits)
    # No Bedford report in 2021: the searcher widens to a year either side, and says so.
    r3 = service.reply("and in 2021?", r2.context, 5)
    assert r3.answer.hits and {h.published[:4] for h in r3.answer.hits} == {"2022"}
    assert r3.answer.notes
    assert "“what about care leavers\\?”" in r3.markdown.splitlines()[0]


def test_nothing_matching_suggests_the_filter_to_drop(service):
    r1 = service.reply("Norfolk: how well are care leavers supported?", Context(), 5)
    r2 = service.reply("and in 2030?", r1.context, 5)
    assert not r2.answer.hits
    assert "drop the year filter" in r2.markdown


def test_a_place_the_library_does_not_hold_is_not_a_follow_up():
    first = turn("Bedford 2017: how effective was the MASH?", Context()).context
    t = turn("what did inspectors say about child protection in Swansea?", first)
    assert not t.follow_up and t.query.filters == Filters()
    assert [p.name for p in t.query.places] == ["Swansea"]


def test_a_place_without_a_report_gets_an_honest_answer(service):
    r1 = service.reply("Bedford 2017: how effective was the MASH?", Context(), 5)
    r2 = service.reply("what did inspectors say about child protection in Swansea?", r1.context, 5)
    assert not r2.answer.hits
    assert r2.answer.abstained == "no report for Swansea (Wales) in this library"
    assert r2.answer.to_json()["abstained"] == r2.answer.abstained
    assert "Not in this library" in r2.markdown and "Swansea" in r2.markdown
    # A place the library holds is answered as before.
    r3 = service.reply("Blackpool: how are care leavers supported?", Context(), 5)
    assert r3.answer.hits and not r3.answer.abstained
