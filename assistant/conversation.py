"""Follow-up questions: what a new question keeps from the conversation so far.

"What about care leavers?" after "Bedford 2017: how effective was the MASH?"
means Bedford 2017 still; "and in 2021?" means the same topic for Bedford in
2021. Pure functions over Filters and Understanding so they can be tested
without a model or an index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .query import Filters, Understanding, norm_name, understand

# Words that carry no topic of their own in a follow-up ("and in 2021?", "what about Blackpool?").
_FILLER = frozenset(
    """
    a an and about also as at but by do does for from how in instead is it its of on or same so that the then
    there this those these what whats year years was were report reports inspection inspections
    please again too tell me show now ok okay
    """.split()
)
_TOKEN = re.compile(r"[a-z0-9]+")
# query.norm_name keeps these, so "Blackpool:" or "and Norfolk?" would not match an authority.
_STOPS = re.compile(r"[:;?!\"\u201c\u201d\u2018]")


@dataclass(frozen=True)
class Context:
    """What the conversation has established: the topic and the filters in force."""

    topic: str = ""  # the last question that had a topic of its own, filter words removed
    filters: Filters = Filters()

    def is_empty(self) -> bool:
        return not self.topic and self.filters.is_empty()


@dataclass(frozen=True)
class Turn:
    """How to search for one question.

    `text` goes to Searcher.ask with use_question=True (so intent, month and
    years are still read from it); `filters` are passed as explicit filters and
    win over anything read from `text`. When the question brings its own years,
    they are left to the searcher (`filters` has none, `text` has the year
    words) so that its "no report that year, searched a year either side"
    widening still applies.
    """

    text: str
    filters: Filters
    context: Context  # the context after this question
    follow_up: bool  # True when the question had no topic of its own


def understand_question(question: str, known_authorities: set[str]) -> Understanding:
    """query.understand, with sentence punctuation next to a name no obstacle to matching it."""
    return understand(_STOPS.sub(" ", question), known_authorities)


def topic_words(question: str, u: Understanding) -> list[str]:
    """The words of `question` that are neither filter words nor filler."""
    filter_tokens: set[str] = set()
    for w in u.matched:
        filter_tokens.update(_TOKEN.findall(norm_name(w)))
    return [t for t in _TOKEN.findall(norm_name(question)) if t not in filter_tokens and t not in _FILLER]


def strip_filters(question: str, u: Understanding) -> str:
    """`question` without the words that became filters ("Bedford 2017: how ..." -> "how ...")."""
    text = question
    for w in sorted(u.matched, key=len, reverse=True):
        tokens = _TOKEN.findall(norm_name(w))
        if not tokens:
            continue
        # Tokens may be separated by any punctuation or white space in the original.
        pat = r"(?<![A-Za-z0-9])" + r"[\W_]+".join(re.escape(t) for t in tokens) + r"(?![A-Za-z0-9])"
        text = re.sub(pat, " ", text, flags=re.I)
    text = re.sub(r"^[\s:,;\-\u2013\u2014]+", "", text)
    return " ".join(text.split())


def next_turn(question: str, u: Understanding, ctx: Context) -> Turn:
    """Combine a new question (and what it was understood to ask) with the context.

    - a named authority replaces the context's authorities; if the question names
      no year, the context's years go too (years belong to one authority's reports);
    - named years replace the context's years and keep its authorities;
    - a question with no topic words of its own re-asks the context's topic.
    """
    own = u.filters
    has_topic = bool(topic_words(question, u))
    if ctx.is_empty():
        stripped = strip_filters(question, u)
        # Authorities are always passed explicitly: the searcher's own reading of the
        # raw text misses names followed by punctuation; years are left to it (see Turn).
        return Turn(question, Filters(own.authorities), Context(stripped if has_topic else "", own), False)

    base = ctx.filters
    authorities = own.authorities or base.authorities
    if own.year_from is not None or own.year_to is not None:
        years = (own.year_from, own.year_to)
    elif own.authorities and tuple(own.authorities) != tuple(base.authorities):
        years = (None, None)
    else:
        years = (base.year_from, base.year_to)
    full = Filters(tuple(authorities), years[0], years[1], base.reports if not own.authorities else ())

    own_years = own.year_from is not None or own.year_to is not None
    # The question's own years are left to the searcher (see Turn): drop them from the explicit filters.
    explicit = replace(full, year_from=None, year_to=None) if own_years else full
    if has_topic:
        return Turn(question, explicit, Context(strip_filters(question, u), full), False)
    topic = ctx.topic
    if not topic:
        # Only filters so far ("Bedford 2017", then "and 2021?"): nothing to re-ask but the question.
        return Turn(question, explicit, Context("", full), True)
    # Re-ask the topic; the year words travel in the text so the searcher reads (and may widen) them.
    year_words = [w for w in u.matched if any(ch.isdigit() for ch in w)] if own_years else []
    text = " ".join([topic, *year_words])
    return Turn(text, explicit, Context(topic, full), True)


def with_filters(ctx: Context, filters: Filters) -> Context:
    """The user edited the filters shown in the UI: they become the context's."""
    return replace(ctx, filters=filters)


def after_answer(ctx: Context, searched: Filters) -> Context:
    """Keep what the searcher actually applied (e.g. a widened year range) as the context's filters."""
    return replace(ctx, filters=searched)
