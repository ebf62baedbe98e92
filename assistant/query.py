"""Question understanding: which authority, which years, what kind of answer.

Users name the authority and year in most questions ("Bedford 2017: how
effective was the MASH?"). To a ranking model those are two more words; here
they become filters that the UI shows and lets the user undo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .metadata import MONTHS

# Short and common forms people use for authorities whose names are longer.
ALIASES = {
    "bucks": ("buckinghamshire",),
    "bcp": ("bournemouth christchurch and poole",),
    "bournemouth": ("bournemouth christchurch and poole",),
    "hull": ("kingston upon hull",),
    "kingston": ("kingston upon thames",),
    "banes": ("bath and north east somerset",),
    "b and nes": ("bath and north east somerset",),
    "bath": ("bath and north east somerset",),
    "herts": ("hertfordshire",),
    "brighton": ("brighton and hove",),
    "stoke": ("stoke on trent",),
    "southend": ("southend on sea",),
    "stockton": ("stockton on tees",),
    "telford": ("telford and wrekin",),
    "windsor": ("windsor and maidenhead",),
    "rbwm": ("windsor and maidenhead",),
    "newcastle": ("newcastle upon tyne",),
    "richmond": ("richmond upon thames",),
    "east riding": ("east riding of yorkshire",),
    "city of london": ("london corporation",),
    "hammersmith": ("hammersmith and fulham",),
    "kensington": ("kensington and chelsea",),
    "rbkc": ("kensington and chelsea",),
    "barking": ("barking and dagenham",),
    "blackburn": ("blackburn with darwen",),
    "redcar": ("redcar and cleveland",),
    "cheshire west": ("cheshire west and chester",),
    "notts": ("nottinghamshire",),
    "leics": ("leicestershire",),
    "lincs": ("lincolnshire",),
    "northants": ("north northamptonshire", "west northamptonshire"),
    "westmorland": ("westmorland and furness",),
    "iow": ("isle of wight",),
    "county durham": ("durham",),
}
# Authority names that are also ordinary words: only matched when capitalised.
_COMMON_WORDS = {"reading", "bury", "halton", "sutton"}
_DROP = re.compile(
    r"\b(london borough of|royal borough of|metropolitan borough|borough council|county council|city council|"
    r"council|borough|city of|county of)\b"
)
_YEAR_RE = re.compile(r"\b(20[0-4]\d|19[89]\d)\b")
_RANGE_RE = re.compile(r"\b(20[0-4]\d)\s*(?:-|–|to|and)\s*(20[0-4]\d)\b")
_SINCE_RE = re.compile(r"\b(?:since|after|from)\s+(20[0-4]\d)\b", re.I)
_BEFORE_RE = re.compile(r"\b(?:before|until|up to)\s+(20[0-4]\d)\b", re.I)
_MONTH_RE = re.compile(r"\b(" + "|".join(MONTHS) + r")\b", re.I)

LEAD_INSPECTOR = "lead-inspector"
OVERALL = "overall-grade"
_LEAD_RE = re.compile(r"\b(lead inspector|led (the |ofsted|this|that)|who led|inspector led|which hmi|lead hmi|who inspected)\b|\bhmi\b.*\blead", re.I)
_OVERALL_RE = re.compile(r"\b(overall (effectiveness|grade|judgement|judgment|rating)|judged overall|rated overall|overall\b.*\b(judged|rated|graded))", re.I)


# Words that frame a question about a report rather than say what it is about
# ("what did inspectors say about ...", "according to the 2019 report"), and
# "late"/"early" only where they qualify a year. Printed in most passages, they
# only add keyword noise.
_FRAMING_RE = re.compile(
    r"\b(ofsted|inspectors?|inspections?|inspected|reports?|reported|according to|says?|said|finds?|found|findings?)\b"
    r"|\b(late|early|mid)(?=[\s-]+(?:19|20)\d\d\b)",
    re.I,
)
# Questions that ask what must change: for these the "What needs to improve?"
# and "Recommendations" lists are the answer, not a restatement of it.
_ACTIONS_RE = re.compile(r"\b(recommend\w*|improve|improvements?|areas? for|priorit\w+|needs? to|should|must)\b", re.I)


def without_framing(text: str) -> str:
    """The question's subject, for keyword scoring: framing words removed."""
    out = " ".join(_FRAMING_RE.sub(" ", text).split())
    return out if out else text


def norm_name(text: str) -> str:
    """Canonical form of an authority name, for matching and filter keys."""
    t = text.lower().replace("&", " and ").replace("\u2019", "'")
    t = re.sub(r"[^\w\s]", " ", t)
    t = _DROP.sub(" ", t)
    return " ".join(t.split())


@dataclass(frozen=True)
class Filters:
    authorities: tuple[str, ...] = ()  # canonical keys (norm_name)
    year_from: int | None = None
    year_to: int | None = None
    reports: tuple[str, ...] = ()  # report paths

    def is_empty(self) -> bool:
        return not (self.authorities or self.year_from or self.year_to or self.reports)


@dataclass(frozen=True)
class Understanding:
    filters: Filters
    month: int | None = None  # soft: prefer reports published near this month
    intent: str = ""  # LEAD_INSPECTOR, OVERALL or ""
    matched: tuple[str, ...] = field(default=())  # the words of the question that became filters
    wants_actions: bool = False  # asks what should improve / was recommended


def _find_authorities(question: str, known: set[str]) -> tuple[list[str], list[str]]:
    """Longest-first matching of known names and aliases in the question."""
    text = " " + norm_name(question) + " "
    cased = " " + re.sub(r"[-/,.()'\u2019&]", " ", question) + " "
    names = {k: (k,) for k in known}
    for alias, targets in ALIASES.items():
        hit = tuple(t for t in targets if t in known)
        if hit and alias not in names:
            names[alias] = hit
    found: list[str] = []
    words: list[str] = []
    for name in sorted(names, key=len, reverse=True):
        pat = f" {name} "
        pos = text.find(pat)
        if pos < 0:
            continue
        if name in _COMMON_WORDS and not re.search(r"\b" + name.capitalize() + r"\b", cased):
            continue
        text = text[:pos] + " " + "#" * len(name) + " " + text[pos + len(pat):]
        for t in names[name]:
            if t not in found:
                found.append(t)
        words.append(name)
    return found, words


def understand(question: str, known_authorities: set[str]) -> Understanding:
    authorities, words = _find_authorities(question, known_authorities)
    y_from = y_to = None
    if m := _RANGE_RE.search(question):
        y_from, y_to = sorted((int(m.group(1)), int(m.group(2))))
        words.append(m.group(0))
    elif m := _SINCE_RE.search(question):
        y_from = int(m.group(1))
        words.append(m.group(0))
    elif m := _BEFORE_RE.search(question):
        y_to = int(m.group(1)) - 1
        words.append(m.group(0))
    elif years := _YEAR_RE.findall(question):
        y_from, y_to = min(map(int, years)), max(map(int, years))
        words.extend(years)
    month = None
    if (m := _MONTH_RE.search(question)) and (y_from or y_to):
        if not (m.group(1).lower() == "may" and not re.search(r"\bMay\b", question)):
            month = MONTHS[m.group(1).lower()]
            words.append(m.group(1))
    intent = LEAD_INSPECTOR if _LEAD_RE.search(question) else OVERALL if _OVERALL_RE.search(question) else ""
    actions = bool(_ACTIONS_RE.search(question))
    return Understanding(Filters(tuple(authorities), y_from, y_to), month, intent, tuple(words), actions)


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
