"""Links that reproduce an answer: `?q=…&authority=…&from=…&to=…&tab=…&order=…&k=…`.

A link names the question and everything that shaped its answer (filters, the number
of passages, the order of reports, for the across view its grades and passages per
report), so that opening it runs the same search and shows the same passages in the
same order. What the address holds is data: every value is parsed into a number, a
value from a fixed list, or plain text of bounded length; nothing from it is ever put
into the page as markup (the question is shown through the same escaping as a typed
one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from ..search.authorities import norm_name
from ..settings import DEFAULT_K, clamp_k

ASK, ACROSS, LIBRARY, ADMIN = "ask", "across", "library", "admin"
TABS = (ASK, ACROSS, LIBRARY, ADMIN)
RELEVANCE, DATE = "relevance", "date"  # the chat's orders (markdown.RELEVANCE, markdown.DATE)
ORDERS = (RELEVANCE, DATE)
MAX_QUESTION = 1000  # as the question box allows
MAX_AUTHORITIES = 20
MAX_NAME = 120
YEARS = (1990, 2100)  # a year outside this is no year
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Link:
    """What a link asks for. Defaults are what the page shows when no link is given."""

    q: str = ""
    authorities: tuple[str, ...] = ()  # authority keys (norm_name)
    year_from: int | None = None
    year_to: int | None = None
    tab: str = ASK
    order: str = RELEVANCE
    k: int = DEFAULT_K
    grades: tuple[str, ...] = ()  # across view: normalised grade names
    per_report: int = 1  # across view


def _text(value: str, limit: int) -> str:
    return " ".join(_CONTROL.sub(" ", value or "").split())[:limit]


def _year(value: str) -> int | None:
    value = (value or "").strip()
    if not re.fullmatch(r"\d{4}", value):
        return None
    y = int(value)
    return y if YEARS[0] <= y <= YEARS[1] else None


def _int(value: str, lo: int, hi: int, default: int) -> int:
    value = (value or "").strip()
    if not re.fullmatch(r"\d{1,4}", value):
        return default
    return max(lo, min(hi, int(value)))


def _all(params: Mapping[str, str | Sequence[str]] | object, name: str) -> list[str]:
    """Every value of `name`: from a starlette QueryParams (getlist) or a plain mapping."""
    getlist = getattr(params, "getlist", None)
    if callable(getlist):
        return [str(v) for v in getlist(name)]
    value = params.get(name) if isinstance(params, Mapping) else None
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _first(params, name: str) -> str:
    values = _all(params, name)
    return values[0] if values else ""


def parse(params, known_authorities: Mapping[str, str] | None = None, grade_names: Sequence[str] = ()) -> Link:
    """A Link from the address's query parameters. Anything malformed is dropped, never
    raised: an unknown tab or order is the default, a year that is not four digits is no
    year, an authority the library does not hold (`known_authorities`: key -> name) and a
    grade not in `grade_names` are left out."""
    known = known_authorities or {}
    by_name = {norm_name(name): key for key, name in known.items()}
    authorities: list[str] = []
    for raw in _all(params, "authority")[:MAX_AUTHORITIES]:
        key = norm_name(_text(raw, MAX_NAME))
        key = key if key in known else by_name.get(key, "")
        if key and key not in authorities:
            authorities.append(key)
    yf, yt = _year(_first(params, "from")), _year(_first(params, "to"))
    if yf and yt and yf > yt:
        yf, yt = yt, yf
    tab = _first(params, "tab").strip().lower()
    order = _first(params, "order").strip().lower()
    grades = []
    for g in _all(params, "grade")[: len(grade_names) or 10]:
        g = _text(g, 40).lower()
        if g in grade_names and g not in grades:
            grades.append(g)
    return Link(
        q=_text(_first(params, "q"), MAX_QUESTION),
        authorities=tuple(authorities),
        year_from=yf,
        year_to=yt,
        tab=tab if tab in TABS else ASK,
        order=order if order in ORDERS else RELEVANCE,
        k=clamp_k(_int(_first(params, "k"), 1, 1000, DEFAULT_K)),
        grades=tuple(grades),
        per_report=_int(_first(params, "per_report"), 1, 3, 1),
    )


def query_string(link: Link) -> str:
    """ "?q=…&authority=…" with only what differs from the defaults; every value percent-encoded."""
    pairs: list[tuple[str, str]] = []
    if link.tab != ASK:
        pairs.append(("tab", link.tab))
    if link.q:
        pairs.append(("q", link.q))
    pairs += [("authority", a) for a in link.authorities]
    if link.year_from:
        pairs.append(("from", str(link.year_from)))
    if link.year_to:
        pairs.append(("to", str(link.year_to)))
    if link.tab == ACROSS:
        pairs += [("grade", g) for g in link.grades]
        if link.per_report != 1:
            pairs.append(("per_report", str(link.per_report)))
    else:
        if link.order != RELEVANCE:
            pairs.append(("order", link.order))
        if link.k != DEFAULT_K:
            pairs.append(("k", str(link.k)))
    return "?" + urlencode(pairs, quote_via=quote, safe="") if pairs else "?"


def page_address(referer: str | None) -> str:
    """The page's own address (no query, no fragment) from the browser's Referer header,
    or "" when there is none or it is not an http(s) address: links are then relative."""
    if not referer:
        return ""
    try:
        parts = urlsplit(referer)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def url(link: Link, base: str = "") -> str:
    """The link in full (`base` is page_address's) or relative to the page."""
    return (base or "") + query_string(link)
