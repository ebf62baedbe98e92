"""Places a question names that the library holds no report for.

Asked about a Welsh or Scottish council, or a city abroad, the honest answer
is "this library holds no report for it", not the nearest English council's
passages. The gazetteer (`data/places.csv`: every UK council, English towns
with the authority they belong to, UK nations and regions, common places
abroad) tells a place from an ordinary word: a name that is also a word
("Turkey", "Fife", "Reading") counts only when capitalised, and not as a
question's first word unless set off ("Fife: ...", "in Fife").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .authorities import PLACES_CSV, AuthorityTable, Token, tokens

UK_COUNCIL = "uk-council"
UK_TOWN = "uk-town"
NATION = "nation"
REGION = "region"
ABROAD = "abroad"
KINDS = (UK_COUNCIL, UK_TOWN, NATION, REGION, ABROAD)


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    country: str
    forms: tuple[str, ...]  # the name and its aliases, as written in the file
    common: bool  # also an ordinary word: capital letter needed
    within: str  # uk-town: the authority key it belongs to


@dataclass(frozen=True)
class Place:
    name: str  # as the gazetteer writes it ("Swansea")
    kind: str  # uk-council | uk-town | nation | region | abroad
    country: str  # "Wales", "Scotland", "United States", ...
    start: int  # span in the question
    end: int
    text: str  # question[start:end]
    within: str = ""  # uk-town: the authority key it belongs to

    @property
    def label(self) -> str:
        """How a message names it: "Swansea (Wales)", "Scotland", "Dublin (Ireland)"."""
        if self.kind == NATION or self.name == self.country:
            return self.name
        return f"{self.name} ({self.country})"


@dataclass(frozen=True)
class Gazetteer:
    entries: tuple[Entry, ...]
    index: dict[tuple[str, ...], tuple[Entry, str]] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self):
        # Word tuple -> (entry, the form as written); first form wins on a clash.
        idx: dict[tuple[str, ...], tuple[Entry, str]] = {}
        for e in self.entries:
            for form in e.forms:
                words = tuple(t.word for t in tokens(form))
                if words and words not in idx:
                    idx[words] = (e, form)
        object.__setattr__(self, "index", idx)

    @classmethod
    def load(cls, path: Path = PLACES_CSV) -> Gazetteer:
        rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
        out = []
        for i, row in enumerate(csv.DictReader(rows), 2):
            name, kind = (row.get("name") or "").strip(), (row.get("kind") or "").strip()
            if not name or kind not in KINDS:
                raise ValueError(f"{path.name}: bad place row {i}: {row}")
            aliases = [a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()]
            out.append(
                Entry(
                    name,
                    kind,
                    (row.get("country") or "").strip(),
                    (name, *aliases),
                    row.get("common", "").strip() == "1",
                    (row.get("within") or "").strip(),
                )
            )
        return cls(tuple(out))


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    return Gazetteer.load()


def _written_as_place(toks: list[Token], i: int, n: int, form: str, entry: Entry, question: str) -> bool:
    """Is the word(s) at toks[i:i+n] the place, not an ordinary word?"""
    written = question[toks[i].start : toks[i + n - 1].end]
    if form.isupper() and len(form) <= 4:
        return written == form  # "US", "NSW": not "us"
    if not entry.common:
        return True
    if not toks[i].capital:
        return False
    if i > 0:
        return True
    # First word of the question: capitalised anyway. A place only if set off or cued.
    after = question[toks[i + n - 1].end : toks[i + n - 1].end + 1]
    nxt = toks[i + n].word if i + n < len(toks) else ""
    return after in (":", ",", "?", "'") or nxt in ("council", "county", "city", "borough")


def find_all(question: str, library: AuthorityTable, gazetteer: Gazetteer | None = None) -> list[Place]:
    """Every gazetteer place the question names (library authorities' words excluded), in order."""
    g = gazetteer or default_gazetteer()
    idx = g.index
    toks = tokens(question)
    words = tuple(t.word for t in toks)
    taken = [False] * len(toks)
    for m in library.find(question):
        for j, t in enumerate(toks):
            if t.start >= m.start and t.end <= m.end:
                taken[j] = True
    lengths = sorted({len(w) for w in idx}, reverse=True)
    found = []
    for n in lengths:
        for i in range(len(words) - n + 1):
            w = words[i : i + n]
            if w not in idx or any(taken[i : i + n]):
                continue
            entry, form = idx[w]
            if not _written_as_place(toks, i, n, form, entry, question):
                continue
            for j in range(i, i + n):
                taken[j] = True
            s, e = toks[i].start, toks[i + n - 1].end
            found.append(Place(entry.name, entry.kind, entry.country, s, e, question[s:e], entry.within))
    return sorted(found, key=lambda p: p.start)


def find_places(question: str, library: AuthorityTable, gazetteer: Gazetteer | None = None) -> list[Place]:
    """Places named in the question that have NO report in the library: councils of
    other UK nations, English councils the library does not hold, places abroad.

    Regions and nations the library covers (England, London, "the UK") and English
    towns inside an authority it holds are not returned."""
    keys = library.keys()
    out = []
    for p in find_all(question, library, gazetteer):
        if p.kind in (REGION,) or (p.kind == NATION and p.country == "England"):
            continue
        if p.kind == UK_TOWN and p.within in keys:
            continue
        if p.kind == UK_COUNCIL and p.country == "England" and library.find(p.name):
            continue  # the library holds it (matched under a form find() missed in context)
        out.append(p)
    return out
