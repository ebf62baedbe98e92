"""Follow-up questions: what a new question keeps from the conversation so far.

"What about care leavers?" after "Bedford 2017: how effective was the MASH?"
means Bedford 2017 still; "and in 2021?" means the same topic for Bedford in
2021. Pure functions over the understood question (`query.Query`) and the
context, so they can be tested without a model or an index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .authorities import norm_name
from .query import Filters, Query

# Words that carry no topic of their own in a follow-up ("and in 2021?", "what about Blackpool?").
_FILLER = frozenset(
    """
    a an and about also as at but by do does for from how in instead is it its of on or same so that the then
    there this those these what whats year years was were report reports inspection inspections
    please again too tell me show now ok okay
    """.split()
)
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Context:
    """What the conversation has established: the question whose topic is in
    force (its filter words removed) and the filters in force."""

    about: Query | None = None
    filters: Filters = Filters()

    @property
    def topic(self) -> str:
        return self.about.topic if self.about else ""

    def is_empty(self) -> bool:
        return not self.topic and self.filters.is_empty()


@dataclass(frozen=True)
class Turn:
    """How to search for one question: the query as the searcher will run it."""

    query: Query
    context: Context  # the context after this question
    follow_up: bool  # True when the question had no topic of its own


def topic_words(q: Query) -> list[str]:
    """The words of the question that are neither filter words nor filler."""
    filter_tokens: set[str] = set()
    for w in q.stripped:
        filter_tokens.update(_TOKEN.findall(norm_name(w)))
    return [t for t in _TOKEN.findall(norm_name(q.text)) if t not in filter_tokens and t not in _FILLER]


def _as_topic(q: Query) -> Query:
    """The question as the topic of later follow-ups: its own words, no filters."""
    return replace(q, text=q.topic, rest=q.topic, filters=Filters(), month=None, stripped=(), years_asked=False)


def next_turn(q: Query, ctx: Context) -> Turn:
    """Combine a new question (as understood) with the context.

    - a named authority replaces the context's authorities; if the question names
      no year, the context's years go too (years belong to one authority's reports);
    - named years replace the context's years and keep its authorities; being the
      question's own, the searcher may widen them when no report matches;
    - a question with no topic words of its own re-asks the context's topic;
    - a question naming a place the library does not hold keeps nothing.
    """
    own = q.filters
    has_topic = bool(topic_words(q))
    # A question about a place the library holds no report for starts afresh: the
    # context's authority would answer it with another council's passages.
    if ctx.is_empty() or (q.places and not own.authorities):
        return Turn(q, Context(_as_topic(q) if has_topic else None, own), False)

    base = ctx.filters
    own_years = own.year_from is not None or own.year_to is not None
    if own_years:
        years = (own.year_from, own.year_to)
    elif own.authorities and tuple(own.authorities) != tuple(base.authorities):
        years = (None, None)
    else:
        years = (base.year_from, base.year_to)
    full = Filters(tuple(own.authorities or base.authorities), years[0], years[1], base.reports if not own.authorities else ())
    asked = bool(own.year_from)  # years the question named may be widened; the context's may not
    if has_topic:
        return Turn(replace(q, filters=full, years_asked=asked), Context(_as_topic(q), full), False)
    if ctx.about is None:
        # Only filters so far ("Bedford 2017", then "and 2022?"): nothing to re-ask but the question.
        return Turn(replace(q, filters=full, years_asked=asked), Context(None, full), True)
    # Re-ask the topic; the answer is still to the words the user typed.
    return Turn(replace(ctx.about, text=q.text, filters=full, years_asked=asked), Context(ctx.about, full), True)


def rerun(ctx: Context) -> Query | None:
    """The context's topic with the filters as the user edited them (not widened)."""
    return replace(ctx.about, filters=ctx.filters) if ctx.about else None


def with_filters(ctx: Context, filters: Filters) -> Context:
    """The user edited the filters shown in the UI: they become the context's."""
    return replace(ctx, filters=filters)


def after_answer(ctx: Context, searched: Filters) -> Context:
    """Keep what the searcher actually applied (e.g. a widened year range) as the context's filters."""
    return replace(ctx, filters=searched)
