"""The public JSON contract of `ask` (answer.py), shared by the tests that check it:
these keys always, with these meanings; new keys may be added, none renamed or dropped."""

ANSWER_KEYS = {"question", "filters", "hits"}
FILTER_KEYS = {"authorities", "from", "to", "reports"}
HIT_KEYS = {
    "rank",
    "score",
    "source",
    "title",
    "local_authority",
    "published",
    "page",
    "paragraph",
    "section",
    "text",
    "highlight",
    "citation",
    "url",
}
