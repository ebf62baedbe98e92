"""The inspectorate's language, in one place: grades, judgement headings, the
front-page lines, section names, paragraph kinds and what a question asks for.

Ofsted's wording changed with its frameworks (2012 and earlier: "adequate";
2013–2017 single inspection framework (SIF): numbered graded sections and
"requires improvement to be good"; 2018+ ILACS: "The experiences and progress
of ...: good" headings; 2023+ and the 2026 reform: care leavers judged on their
own). Every module that reads or matches that wording imports it from here, so
a new spelling ("Requires Improvement" with a capital I) is taught once.

Only words and patterns live here; what to do with a match stays with the
module that matches.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

# The curated tables beside this module: the glossary, authority aliases, the gazetteer of places.
DATA = Path(__file__).resolve().parent / "data"

# --- dates --------------------------------------------------------------------------

# Month names in full, in order: dates are read (reports.metadata), asked about
# (search.query) and written (app.labels) with these.
MONTH_NAMES = tuple("january february march april may june july august september october november december".split())
MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES)}

# --- grades -------------------------------------------------------------------------


class Grade(StrEnum):
    """A judgement's grade, whatever the report's spelling or capitalisation."""

    OUTSTANDING = "outstanding"
    GOOD = "good"
    # Printed "requires improvement to be good" (SIF 2013+ and ILACS) or
    # "requires improvement"; sentences say "require improvement to be good".
    REQUIRES_IMPROVEMENT = "requires improvement"
    INADEQUATE = "inadequate"
    ADEQUATE = "adequate"  # frameworks before November 2013

    @property
    def label(self) -> str:
        """ "Requires improvement" — for a reader."""
        return self.value[:1].upper() + self.value[1:]

    @classmethod
    def parse(cls, text: str) -> Grade | None:
        """The grade a phrase names ("Requires Improvement", "require improvement to be good",
        "Grade 4 (inadequate)"), or None if it names none."""
        m = GRADE_RE.search(text or "")
        return _grade_of(m.group(0)) if m else None


# How each grade is spelt: a regex, lower case, words separated by \s+, and whether
# tables and headings print it that way (False: only sentences do, "services in X
# require improvement to be good"). The order matters where one contains another.
_SPELLINGS: tuple[tuple[Grade, str, bool], ...] = (
    (Grade.REQUIRES_IMPROVEMENT, r"requires\s+improvement(?:\s+to\s+be\s+good)?", True),
    (Grade.REQUIRES_IMPROVEMENT, r"require\s+improvement(?:\s+to\s+be\s+good)?", False),
    (Grade.OUTSTANDING, "outstanding", True),
    (Grade.GOOD, "good", True),
    (Grade.INADEQUATE, "inadequate", True),
    (Grade.ADEQUATE, "adequate", True),
)
# Grades a 2018+ ILACS heading can carry ("adequate" went with the older frameworks).
ILACS_GRADES = (Grade.OUTSTANDING, Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE)


def grade_alternation(grades: tuple[Grade, ...] = tuple(Grade), sentences: bool = True, capitalised: bool = False) -> str:
    """A non-capturing regex alternation of the grades' spellings.

    sentences=False: only the spellings tables and headings print. capitalised=True: as
    a judgement table prints a grade, first letter capital and the rest in any case
    ("Good", "Requires improvement", "Requires Improvement"), so that a sentence ending
    "... were good" does not read as a table row. Otherwise case follows the flags of
    the pattern the alternation is put in.
    """
    out = []
    for grade, spelling, printed in _SPELLINGS:
        if grade in grades and (printed or sentences):
            out.append(f"{spelling[0].upper()}(?i:{spelling[1:]})" if capitalised else spelling)
    return "(?:" + "|".join(out) + ")"


# The one grade pattern: a grade named anywhere, in any case.
GRADE_RE = re.compile(rf"\b{grade_alternation()}\b", re.IGNORECASE)


def _grade_of(phrase: str) -> Grade:
    for grade, spelling, _ in _SPELLINGS:
        if re.fullmatch(spelling, phrase, re.IGNORECASE):
            return grade
    raise ValueError(phrase)


def printed_grade(phrase: str) -> str:
    """A sentence's grade phrase as a judgement table prints it: capital first letter,
    and "require(s) improvement ..." with the table's "Requires"; "good" -> "Good"."""
    words = phrase.split()
    if _grade_of(phrase) is Grade.REQUIRES_IMPROVEMENT:
        return " ".join(["Requires", *words[1:]])
    return " ".join(words).capitalize()


_PRINTED = grade_alternation(sentences=False, capitalised=True)
# A line that is only a grade: older reports print a section's grade under its heading.
GRADE_LINE_RE = re.compile(rf"^{_PRINTED}$")
# A judgement-table row ends in its grade ("Overall effectiveness Good").
GRADE_AT_END_RE = re.compile(rf"\b{_PRINTED}$")
# A table row split into area and grade; SIF rows are numbered ("2.1 Adoption performance Good").
JUDGEMENT_ROW_RE = re.compile(rf"^(?:\d(?:\.\d)?\.?\s+)?(.+?)\s+({_PRINTED})$")
# A wrapped table grade: "Requires improvement" at a line end, "to be good" on the next.
GRADE_WRAP_HEAD = "requires improvement"
GRADE_WRAP_TAIL = "to be good"

_VERB = r"(?:(?:are|is) |(?=requires?\s))"  # "are good", "require improvement"

# --- judgement headings ---------------------------------------------------------------

# A 2018+ judgement heading on one line: "The experiences and progress of care leavers: good".
GRADED_HEADING_RE = re.compile(rf"^[A-Z][^.;:]{{15,150}}:\s*({grade_alternation(ILACS_GRADES, sentences=False)})$", re.IGNORECASE)

# Headings that open a judgement's section in the body of a report, the grade in
# group "grade" and the judgement's name in group "name" (which must still name a
# JudgementArea to count). In the order tried.
JUDGEMENT_HEADING_RES = (
    # 2018+: "The experiences and progress of children in care: requires improvement to be good"
    # (no full stop: "Children who need help and protection: Inadequate." restates a previous grade)
    re.compile(rf"^(?P<name>[A-Z][^.;:]{{10,160}}?)\s*:\s*(?P<grade>{grade_alternation()})$", re.IGNORECASE),
    # SIF: "The graded judgement for adoption performance is that it is good"
    re.compile(
        rf"^The graded judge?ment (?:for|about|on) (?P<name>.+?) is that (?:it|they) {_VERB}(?P<grade>{grade_alternation()})\b",
        re.IGNORECASE,
    ),
    # 2018-19 and LSCB reviews: "... is inadequate", "The Local Safeguarding Children Board is good",
    # "... requires improvement to be good"; older reports: "Leadership and management are inadequate."
    re.compile(
        rf"^(?P<name>[A-Z][^.;:]{{10,160}}?)\s+(?:(?:is|are)\s+|(?=requires?\s))(?P<grade>{grade_alternation()})\.?$",
        re.IGNORECASE,
    ),
    # SIF: the grade printed after the section's name, "Leadership, management and governance Requires improvement"
    re.compile(rf"^(?P<name>[A-Z][^.;:]{{10,160}}?)\s+(?P<grade>{_PRINTED})$"),
)
# Older reports print the grade on its own line under the judgement's heading: "Grade 4 (inadequate)".
GRADE_SUBHEADING_RE = re.compile(rf"^Grade\s+\d\s*\((?P<grade>{grade_alternation()})\)$", re.IGNORECASE)
# Sections after the judgements that are about the whole inspection.
AFTER_JUDGEMENTS_SECTION_RE = re.compile(r"^(Information about this inspection|Record of main findings)\b", re.IGNORECASE)

# The overall judgement: the table row, and the SIF front-page sentence
# ("Children's services in Bedford Borough require improvement to be good").
OVERALL_ROW_RE = re.compile(r"^Overall effectiveness\b", re.IGNORECASE)
_SERVICES = r"Children\u2019?'?s services?"
_SERVICES_IN = rf"{_SERVICES} in"
# Its spellings: "Children's services in X are inadequate", "Children's services require
# improvement to be good", "The overall judgement is that children's service requires
# improvement", "The overall judgement is inadequate".
SIF_OVERALL_RE = re.compile(
    rf"(?:{_SERVICES}(?: in (?P<authority>.+?))? {_VERB}|The overall judgement is (?:that {_SERVICES} {_VERB})?)"
    rf"(?P<grade>{grade_alternation()})\b",
    re.IGNORECASE,
)
# A passage that states a report's overall grade (search answers "what was the overall grade").
OVERALL_LINE_RE = re.compile(rf"^(?:Overall effectiveness\b|{_SERVICES_IN} .+ (?:are|is|require))", re.IGNORECASE)


class JudgementArea(StrEnum):
    """What a judgement is about, across the frameworks' spellings. Values are the
    short names the Library shows ("In care: RI")."""

    OVERALL = "Overall effectiveness"
    LEADERS = "Leaders"
    HELP_AND_PROTECTION = "Help and protection"
    IN_CARE_AND_CARE_LEAVERS = "In care and care leavers"
    CARE_LEAVERS = "Care leavers"
    IN_CARE = "In care"
    ADOPTION = "Adoption"
    LSCB = "LSCB"

    @classmethod
    def of(cls, text: str) -> JudgementArea | None:
        """The area a judgement's name or heading is about, or None."""
        low = text.lower()
        return next((area for pattern, area in _AREAS if re.search(pattern, low)), None)


# First match wins: the joint "in care and care leavers" before either alone.
_AREAS: tuple[tuple[str, JudgementArea], ...] = (
    (r"^overall", JudgementArea.OVERALL),
    (r"leader", JudgementArea.LEADERS),
    (r"help and protection|need help", JudgementArea.HELP_AND_PROTECTION),
    (r"in care and care leavers|looked after and care leavers", JudgementArea.IN_CARE_AND_CARE_LEAVERS),
    (r"care leaver|leaving care", JudgementArea.CARE_LEAVERS),
    (r"children in care|looked after|in care", JudgementArea.IN_CARE),
    (r"adoption", JudgementArea.ADOPTION),
    (r"safeguarding (children )?board|lscb", JudgementArea.LSCB),
)

# --- front-page lines -------------------------------------------------------------------

_LEAD_LABEL = r"(?:Lead|Reporting) inspector"
# "Lead inspector: Jane Smith, Her Majesty's Inspector" (2018+), "Reporting inspector Gary Lamb HMI" (2012-13).
# ("Lead inspectors: A, HMI, and B" names two; the first is read.)
LEAD_INSPECTOR_RE = re.compile(rf"^{_LEAD_LABEL}s?\b\s*:?\s*(.+)$", re.IGNORECASE)
# The inspector's title after the name, dropped from the name.
INSPECTOR_TITLE_RE = re.compile(r",?\s*(Her|His) Majesty\u2019?'?s Inspector.*$|,?\s*\bS?HMI\b.*$")
INSPECTION_DATES_RE = re.compile(r"^Inspection dates?\s*:?\s*(.+)$", re.IGNORECASE)
PUBLISHED_RE = re.compile(r"^(?:Report )?published\s*:?\s*(.+)$", re.IGNORECASE)
# Front-matter labels: a line opening with one is a front line, not prose.
LABEL_RE = re.compile(
    rf"^(Inspection dates?|{_LEAD_LABEL}|Report published|Published|Age group)\b\s*:?",
    re.IGNORECASE,
)
# 2018+ titles name the authority: "Inspection of Bedford Borough local authority children's services".
TITLE_AUTHORITY_RE = re.compile(r"^Inspection of (.+?) local authority children", re.IGNORECASE)
# The page-1 judgement table's header row.
TABLE_HEAD_RE = re.compile(r"^Judgements?\s+Grades?$")

# --- sections ----------------------------------------------------------------------------

# Summary lists ("What needs to improve?", "Recommendations", the summary for
# children) restate in one line a finding that the body gives with its evidence.
RESTATEMENT_SECTION_RE = re.compile(
    r"^(What needs to improve|Recommendations|Areas for (improvement|development)|Summary for children|"
    r"Summary of (key )?findings|Priority and immediate action|Key strengths and weaknesses|"
    r"The local authority\u2019?'?s strengths|This local authority requires improvement)",
    re.IGNORECASE,
)
# Section labels given to paragraphs that are not under a printed heading.
JUDGEMENTS_SECTION = "Judgements"  # the rows of the page-1 table
FOOTNOTES_SECTION = "Footnotes"

# --- paragraph kinds -----------------------------------------------------------------------


class Kind(StrEnum):
    """What a paragraph is. Values are written into the index: never change one.
    Headings are kept so `inspect` shows the structure, but they are not indexed on
    their own: they travel with every paragraph as `section`."""

    BODY = "body"
    BULLET = "bullet"
    HEADING = "heading"
    FOOTNOTE = "footnote"
    JUDGEMENT = "judgement"  # a row of the page-1 judgement table
    FRONT = "front"  # "Inspection dates: ...", "Lead inspector: ..." lines


# Grades a table may shorten, as readers of the reports do: "In care: RI".
GRADE_SHORT = {Grade.REQUIRES_IMPROVEMENT: "RI"}

# A passage under no graded judgement (monitoring visits, focused visits, headings with no grade).
NOT_GRADED = "not graded"
# The grades as the across view, the Library tab and the charts order them: best first, the
# older frameworks' "adequate" beside "requires improvement", then NOT_GRADED.
GRADE_ORDER: tuple[str, ...] = (
    Grade.OUTSTANDING.value,
    Grade.GOOD.value,
    Grade.REQUIRES_IMPROVEMENT.value,
    Grade.ADEQUATE.value,
    Grade.INADEQUATE.value,
    NOT_GRADED,
)
# What users type for a grade besides its spellings (Grade.parse reads those): the short
# form, the printed long form, and words for no grade.
GRADE_NAMES: dict[str, str] = {
    GRADE_SHORT[Grade.REQUIRES_IMPROVEMENT].lower(): Grade.REQUIRES_IMPROVEMENT.value,
    "requires improvement to be good": Grade.REQUIRES_IMPROVEMENT.value,
    NOT_GRADED: NOT_GRADED,
    "none": NOT_GRADED,
    "ungraded": NOT_GRADED,
}
# One colour per grade, the same in every chart: green good, amber RI, red inadequate.
# Each has at least 3:1 contrast with the white background (WCAG 1.4.11, graphics), and
# segments of one bar are parted by a white line, so no two greens need to be told apart.
GRADE_COLOURS: dict[str, str] = {
    Grade.OUTSTANDING.value: "#0b5d2a",
    Grade.GOOD.value: "#2e7d32",
    Grade.REQUIRES_IMPROVEMENT.value: "#a15c00",
    Grade.ADEQUATE.value: "#7a6a00",
    Grade.INADEQUATE.value: "#c62828",
    NOT_GRADED: "#5f6368",
}
# What a section heading says between a judgement's name and its grade ("... care
# leavers: good", "... that requires improvement"): cut to leave the judgement's name.
JUDGEMENT_NAME_TAIL_RE = re.compile(r"(?:[\s:,(-]+|\s+(?:is|are|that|it|requires?))+$")


def grade_label(name: str) -> str:
    """A grade name of GRADE_ORDER for a reader ("Requires improvement", "Not graded"), as Grade.label."""
    return name[:1].upper() + name[1:]


# --- questions ---------------------------------------------------------------------------------


class Intent(StrEnum):
    """What kind of answer a question asks for. Values appear in JSON: never change one."""

    NONE = ""
    LEAD_INSPECTOR = "lead-inspector"
    OVERALL = "overall-grade"


# "Who led the inspection?", "Which HMI ...?"
LEAD_QUESTION_RE = re.compile(
    r"\b(lead inspector|led (the |ofsted|this|that)|who led|inspector led|which hmi|lead hmi|who inspected)\b|\bhmi\b.*\blead",
    re.IGNORECASE,
)
# "What was the overall grade?", "How was X rated overall?"
OVERALL_QUESTION_RE = re.compile(
    r"\b(overall (effectiveness|grade|judgement|judgment|rating)|judged overall|rated overall|overall\b.*\b(judged|rated|graded))",
    re.IGNORECASE,
)
# Questions that ask what must change: for these the "What needs to improve?"
# and "Recommendations" lists are the answer, not a restatement of it.
ACTIONS_QUESTION_RE = re.compile(r"\b(recommend\w*|improve|improvements?|areas? for|priorit\w+|needs? to|should|must)\b", re.IGNORECASE)
# A question rather than a search-box query: it opens with a question word or an auxiliary.
QUESTION_START_RE = re.compile(
    r"\s*(what|how|why|when|where|which|who|whose|whom|is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|tell|show|list)\b",
    re.IGNORECASE,
)
# The one list of framing words: words that frame a question rather than name its theme.
# REPORT_FRAMING are those about the report itself ("what did inspectors say about ...",
# "according to the 2019 report"): printed in most passages, they only add keyword noise,
# so FRAMING_RE takes them out of keyword queries (with "late"/"early" where they qualify
# a year). FRAMING_WORDS adds the words that frame a researcher's question or judge the
# practice ("which authorities were praised for ...", "where was ... weak"): the across
# view never counts one as a concept a passage must contain (search.themes). Matched as
# written, not stemmed: "discussed" frames a question, "discussions" may be its theme.
REPORT_FRAMING = (
    "ofsted inspector inspectors inspection inspections inspected report reports reported say says said find finds found finding findings"
).split()
FRAMING_RE = re.compile(
    r"\b(" + "|".join(REPORT_FRAMING) + r"|according to)\b" r"|\b(late|early|mid)(?=[\s-]+(?:19|20)\d\d\b)",
    re.IGNORECASE,
)
FRAMING_WORDS = frozenset(
    REPORT_FRAMING
    + (
        # the question's own frame
        "about regarding concerning according tell told show shown give list comment comments commented think thought "
        "i me my we us our you your please "
        "which what whats where when how who whose why across all any "
        "authority authorities council councils local la las area areas "
        # judging words: the grade filter says what was praised, not the passage's wording
        "praise praised praising criticise criticised criticism criticize criticized commended "
        "good better best well strong strength strengths weak weakness weaknesses poor effective effectiveness "
        "ineffective outstanding inadequate requires improvement adequate judged rated graded "
        "example examples evidence discuss discussed discusses mention mentioned describe described "
        # function words the keyword stop list keeps
        "were was is are been being be have has had do does did their they them there these those this that "
        "can could would should will shall may might also very much many more most some other such "
        "without after before within during between held hold holds made make makes take taken use used uses "
        "ensure ensures provide provided given "
        # the reports' universal subject: every passage is about children and families
        "child children kid kids young people person family families"
    ).split()
)
