"""Question understanding: which authority, which years, what kind of answer.

Users name the authority and year in most questions ("Bedford 2017: how
effective was the MASH?"). To a ranking model those are two more words; here
they become filters that the UI shows and lets the user undo.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ..language.glossary import Glossary
from ..language.vocab import ACTIONS_QUESTION_RE, FRAMING_RE, LEAD_QUESTION_RE, MONTHS, OVERALL_QUESTION_RE, QUESTION_START_RE, Intent
from ..settings import DEFAULTS
from .authorities import AuthorityTable
from .places import Place, find_places

_YEAR_RE = re.compile(r"\b(20[0-4]\d|19[89]\d)\b")
_RANGE_RE = re.compile(r"\b(20[0-4]\d)\s*(?:-|–|to|and)\s*(20[0-4]\d)\b")
_SINCE_RE = re.compile(r"\b(?:since|after|from)\s+(20[0-4]\d)\b", re.I)
_BEFORE_RE = re.compile(r"\b(?:before|until|up to)\s+(20[0-4]\d)\b", re.I)
_WORDY = re.compile(r"[^\W\d_]{2,}")
_MONTH_RE = re.compile(r"\b(" + "|".join(MONTHS) + r")\b", re.I)

# Question intents live with the rest of the inspectorate's vocabulary; the names stay importable here.
LEAD_INSPECTOR = Intent.LEAD_INSPECTOR
OVERALL = Intent.OVERALL


def without_framing(text: str) -> str:
    """The question's subject, for keyword scoring: framing words removed."""
    out = " ".join(FRAMING_RE.sub(" ", text).split())
    return out if out else text


@dataclass(frozen=True)
class Filters:
    authorities: tuple[str, ...] = ()  # canonical keys (norm_name)
    year_from: int | None = None
    year_to: int | None = None
    reports: tuple[str, ...] = ()  # report paths

    def is_empty(self) -> bool:
        return not (self.authorities or self.year_from or self.year_to or self.reports)


@dataclass(frozen=True)
class Query:
    """A question, understood once: what to score and where to look.

    `understand` builds it from the question; the conversation merges it with
    what was said before (`with_filters`, `replace`); the searcher consumes it
    as it is.
    """

    text: str  # the question as asked
    rest: str = ""  # `text` without the words that became filters, spacing folded
    filters: Filters = Filters()
    month: int | None = None  # soft: prefer reports published near this month
    intent: Intent = Intent.NONE
    wants_actions: bool = False  # asks what should improve / was recommended
    stripped: tuple[str, ...] = field(default=())  # the words of `text` that became filters
    # Years read from the question (not set by the user): the searcher may widen
    # them by a year either side when no report was published in them.
    years_asked: bool = False
    # Places named that the library holds no report for ("Swansea", "Scotland", "Texas").
    places: tuple[Place, ...] = ()
    # The field's wording of what the question says in other words, from the glossary
    # ("return home interview" for "spoken to when they come back"): also scored.
    also: tuple[str, ...] = ()

    @classmethod
    def plain(cls, text: str, filters: Filters = Filters()) -> Query:
        """No understanding: every word is scored, only `filters` apply."""
        return cls(text, text, filters)

    @property
    def topic(self) -> str:
        """What the question is about, for display and follow-ups ("how effective was the MASH?")."""
        return re.sub(r"^[\s:,;\-\u2013\u2014]+", "", self.rest)

    @property
    def search_text(self) -> str:
        """The words scored: without the words that became filters, whatever the question's
        shape ("Bucks MASH", "Buckinghamshire MASH", "MASH in Bucks 2019"), unless
        stripping them left no word at all ("Bedford 2017")."""
        return self.rest if _WORDY.search(self.rest) else self.text

    def keyword_query(self, most_words: int = DEFAULTS.ranking.keyword_words) -> bool:
        """Typed like a search box ("Herts LADO", "stockport caseloads 2023"): at most
        `most_words` words (settings.RankingSettings.keyword_words), no question. Such a
        query carries too few words for a floor fitted on sentences."""
        words = self.text.split()
        return len(words) <= most_words and "?" not in self.text and not QUESTION_START_RE.match(self.text)

    @property
    def is_keyword(self) -> bool:
        """keyword_query() with the shipped number of words."""
        return self.keyword_query()

    def with_filters(self, explicit: Filters | None) -> Query:
        """Filters the user set in the UI/CLI win over those read from the question."""
        if explicit is None:
            return self
        return replace(self, filters=merge(self.filters, explicit), years_asked=self.years_asked and not explicit.year_from)


def strip_words(question: str, words: tuple[str, ...]) -> str:
    """`question` without the authority names and years that became filters."""
    out = " " + question + " "
    for w in sorted(words, key=len, reverse=True):
        out = re.sub(r"(?i)(?<![\w])" + r"[\W_]*".join(map(re.escape, w.split())) + r"(?![\w])", " ", out)
    return " ".join(out.split())


def _years(question: str) -> tuple[int | None, int | None, list[str]]:
    """Year filters and the words that said them: a range, "since", "before", or named years."""
    if m := _RANGE_RE.search(question):
        y_from, y_to = sorted((int(m.group(1)), int(m.group(2))))
        return y_from, y_to, [m.group(0)]
    if m := _SINCE_RE.search(question):
        return int(m.group(1)), None, [m.group(0)]
    if m := _BEFORE_RE.search(question):
        return None, int(m.group(1)) - 1, [m.group(0)]
    if years := _YEAR_RE.findall(question):
        return min(map(int, years)), max(map(int, years)), list(years)
    return None, None, []


def understand(question: str, library: AuthorityTable | Iterable[str], glossary: Glossary | None = None) -> Query:
    """Read a question once: the authorities it names (`library`: the library's
    table, or just its filter keys) and its years become filters, a month a soft
    preference; places the library holds no report for, the intent (who led /
    overall grade / what to improve) and the glossary's wording of its topic
    (`glossary`, if given) are noted; `rest` keeps the words to score.
    """
    table = library if isinstance(library, AuthorityTable) else _table_of_keys(frozenset(library))
    matches = table.find(question)
    authorities = list(dict.fromkeys(k for m in matches for k in m.keys))
    words = [m.text for m in matches]
    y_from, y_to, year_words = _years(question)
    words.extend(year_words)
    month = None
    if (m := _MONTH_RE.search(question)) and (y_from or y_to):
        if not (m.group(1).lower() == "may" and not re.search(r"\bMay\b", question)):
            month = MONTHS[m.group(1).lower()]
            words.append(m.group(1))
    intent = Intent.LEAD_INSPECTOR if LEAD_QUESTION_RE.search(question) else Intent.OVERALL if OVERALL_QUESTION_RE.search(question) else Intent.NONE
    rest = strip_words(question, tuple(words))
    places = tuple(find_places(question, table))
    also = glossary.expand(rest).phrases if glossary is not None else ()
    return Query(
        text=question,
        rest=rest,
        filters=Filters(tuple(authorities), y_from, y_to),
        month=month,
        intent=intent,
        wants_actions=bool(ACTIONS_QUESTION_RE.search(question)),
        stripped=tuple(words),
        years_asked=y_from is not None,
        places=places,
        also=also,
    )


@lru_cache(maxsize=8)
def _table_of_keys(keys: frozenset[str]) -> AuthorityTable:
    """A table knowing only these filter keys (and their aliases): for callers without a library."""
    return AuthorityTable.build((f"0_{k}/report.pdf", k, "") for k in sorted(keys))


def merge(asked: Filters, explicit: Filters | None) -> Filters:
    """Filters the user set in the UI/CLI win over those read from the question."""
    if explicit is None:
        return asked
    return replace(
        asked,
        authorities=explicit.authorities or asked.authorities,
        year_from=explicit.year_from if explicit.year_from is not None else asked.year_from,
        year_to=explicit.year_to if explicit.year_to is not None else asked.year_to,
        reports=explicit.reports or asked.reports,
    )
