"""Every authority in the library, and where a question names one.

People name a council in many ways: its official title ("Royal Borough of
Windsor and Maidenhead"), the short form they use every day ("RBWM",
"Herts", "Bucks", "Hull"), or a council since merged or split ("Cumbria",
"Northamptonshire"). The table is built from what the library itself says
(the corpus folder names, the manifest's `local_authority`, the names the
reports give themselves) plus the documented alias list in
`data/authority_aliases.csv`.

Matching works on the question's words (not on a normalised copy of it), so
each match carries its exact span: the caller can take those words out of
the query and show them as a filter.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..language.vocab import DATA
from ..reports.metadata import authority_from_path

ALIASES_CSV = DATA / "authority_aliases.csv"
PLACES_CSV = DATA / "places.csv"

_DROP = re.compile(
    r"\b(london borough of|royal borough of|metropolitan borough|borough council|county council|city council|"
    r"council|borough|city of|county of)\b"
)
# Words around a name that belong to the council's title: part of the match's span,
# never part of a name (so "Medway council" and "London Borough of Hackney" match whole).
_BEFORE = (("london", "borough", "of"), ("royal", "borough", "of"), ("borough", "of"), ("city", "of"), ("county", "of"))
_AFTER = (
    ("metropolitan", "borough", "council"),
    ("metropolitan", "district", "council"),
    ("borough", "council"),
    ("county", "council"),
    ("city", "council"),
    ("district", "council"),
    ("council",),
    ("borough",),
)
_TOKEN = re.compile(r"[A-Za-z0-9]+|&")
# A report's own name for its authority, in the titles of the inspection frameworks since 2013.
_TITLE_NAME = re.compile(r"^(?:Inspection of\s+)?(.+?)\s+(?:local authority children|children.s services|Inspection of services)", re.I)


def norm_name(text: str) -> str:
    """Canonical form of an authority name, for filter keys (same as query.norm_name)."""
    t = text.lower().replace("&", " and ").replace("\u2019", "'")
    t = re.sub(r"[^\w\s]", " ", t)
    t = _DROP.sub(" ", t)
    return " ".join(t.split())


def authority_key(path: str, display: str) -> str:
    """Filter key of a report's authority: its corpus folder ("80428_bedford") when
    Ofsted-named (metadata.authority_from_path), else the name the report gives itself."""
    return norm_name(authority_from_path(path) or display)


def _words(text: str) -> tuple[str, ...]:
    return tuple("and" if t == "&" else t.lower() for t in _TOKEN.findall(text.replace("\u2019", "'")))


@dataclass(frozen=True)
class Token:
    word: str  # lower case
    start: int
    end: int
    capital: bool  # written with a capital first letter


def tokens(text: str) -> list[Token]:
    out = []
    for m in _TOKEN.finditer(text):
        w = m.group(0)
        out.append(Token("and" if w == "&" else w.lower(), m.start(), m.end(), w[:1].isupper()))
    return out


@dataclass(frozen=True)
class Alias:
    alias: str
    keys: tuple[str, ...]
    kind: str  # short | official | predecessor | common-word


@dataclass(frozen=True)
class Authority:
    key: str  # norm_name of the corpus folder: the filter key search uses
    name: str  # display name, as the reports write it
    forms: tuple[str, ...]  # every normalised word form it is known by (name, titles, aliases)


@dataclass(frozen=True)
class Match:
    keys: tuple[str, ...]  # authority keys (two for "Northamptonshire": both successors)
    start: int  # span in the question, including council words around the name
    end: int
    text: str  # question[start:end]
    form: str  # the normalised form that matched ("rbwm", "windsor and maidenhead")
    kind: str  # name | short | official | predecessor


@dataclass(frozen=True)
class _Form:
    keys: tuple[str, ...]
    kind: str
    capital_only: bool


def load_aliases(path: Path = ALIASES_CSV) -> tuple[Alias, ...]:
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    out = []
    for i, row in enumerate(csv.DictReader(rows), 2):
        alias, keys, kind = (row.get("alias") or "").strip(), (row.get("authority") or "").strip(), (row.get("kind") or "").strip()
        if not alias or not keys or kind not in ("short", "official", "predecessor", "common-word"):
            raise ValueError(f"{path.name}: bad alias row {i}: {row}")
        out.append(Alias(" ".join(_words(alias)), tuple(k.strip() for k in keys.split("|")), kind))
    return tuple(out)


@lru_cache(maxsize=1)
def other_place_names(path: Path = PLACES_CSV) -> frozenset[str]:
    """Names of places in the gazetteer: a longer place name that contains an
    authority's ("New York", "Newcastle-under-Lyme") is not that authority."""
    if not path.is_file():
        return frozenset()
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    names = set()
    for row in csv.DictReader(rows):
        for n in [row["name"], *(row.get("aliases") or "").split("|")]:
            if n.strip():
                names.add(" ".join(_words(n)))
    return frozenset(names)


def _title_words(name: str) -> str:
    """A council's own name as words, without the council title around it
    ("London Borough of Barnet" -> "barnet", "City of London" stays whole: unlike
    `norm_name`, "city of" inside a name is kept)."""
    w = list(_words(name))
    for before in (("the",), *_BEFORE[:2]):
        if tuple(w[: len(before)]) == before:
            w = w[len(before) :]
    for after in _AFTER:
        if len(w) > len(after) and tuple(w[-len(after) :]) == after:
            w = w[: -len(after)]
            break
    return " ".join(w)


def title_name(title: str) -> str:
    """The authority a report's title names, as words; "" when it names none."""
    m = _TITLE_NAME.match(title.strip())
    if not m:
        return ""
    name = _title_words(m.group(1))
    if not name or len(name.split()) > 6 or re.search(r"\b(inspection|services|children|report|review)\b", name):
        return ""
    return name


@dataclass(frozen=True)
class AuthorityTable:
    """The library's authorities and every form that names one.

    `find` is what question understanding calls; `keys()` the filter keys."""

    authorities: tuple[Authority, ...]
    _forms: tuple[tuple[tuple[str, ...], _Form], ...]  # word tuple -> form, longest first
    _shadows: frozenset[tuple[str, ...]] = frozenset()

    # -- building --------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        reports: Iterable[tuple[str, str, str]],
        aliases: Iterable[Alias] | None = None,
        other_places: Iterable[str] | None = None,
    ) -> AuthorityTable:
        """`reports`: (path relative to the corpus, local_authority, title) of each report
        in the library; the manifest's and the report's own `local_authority` both work."""
        aliases = load_aliases() if aliases is None else tuple(aliases)
        other_places = other_place_names() if other_places is None else other_places
        names: dict[str, str] = {}
        forms: dict[str, set[str]] = {}
        for path, local_authority, title in reports:
            key = authority_key(path, local_authority)
            if not key:
                continue
            names.setdefault(key, local_authority or key.title())
            f = forms.setdefault(key, {key})
            for extra in (_title_words(local_authority), title_name(title)):
                if extra:
                    f.add(extra)
        capital_only = {a.alias for a in aliases if a.kind == "common-word"}
        table: dict[tuple[str, ...], _Form] = {}
        for key, fs in forms.items():
            for form in fs:
                words = _words(form)
                if words and words not in table:
                    table[words] = _Form((key,), "name", form in capital_only)
        for a in aliases:
            if a.kind == "common-word":
                continue
            keys = tuple(k for k in a.keys if k in forms)
            words = _words(a.alias)
            if keys and words and words not in table:
                table[words] = _Form(keys, a.kind, a.alias in capital_only)
                for k in keys:
                    forms[k].add(a.alias)
        authorities = tuple(Authority(k, names[k], tuple(sorted(forms[k]))) for k in sorted(names))
        ordered = tuple(sorted(table.items(), key=lambda kv: (-len(kv[0]), kv[0])))
        shadows = frozenset(w for w in (_words(p) for p in other_places) if w and w not in table)
        return cls(authorities, ordered, shadows)

    @classmethod
    def from_manifest(cls, corpus: Path, **kw) -> AuthorityTable:
        """From a corpus folder's `manifest.csv` (folder names and `local_authority`)."""
        from ..reports.metadata import read_manifest

        return cls.build(((p, row.local_authority, "") for p, row in read_manifest(Path(corpus)).items()), **kw)

    @classmethod
    def from_generation(cls, gen, **kw) -> AuthorityTable:
        """From an index generation's reports (folder, the report's own name, its title)."""
        return cls.build(((r.path, r.meta.local_authority, r.meta.title) for r in gen.reports), **kw)

    # -- use -------------------------------------------------------------------------

    def keys(self) -> frozenset[str]:
        return frozenset(a.key for a in self.authorities)

    def names(self) -> dict[str, str]:
        return {a.key: a.name for a in self.authorities}

    def get(self, key: str) -> Authority | None:
        return next((a for a in self.authorities if a.key == key), None)

    def find(self, question: str) -> list[Match]:
        """Authorities the question names, longest form first, none overlapping.

        A name that is also an ordinary word ("Reading", "Bury") counts only when
        capitalised; a longer place name that contains a name ("New York") hides it."""
        toks = tokens(question)
        words = tuple(t.word for t in toks)
        taken = [False] * len(toks)
        named = [False] * len(toks)  # taken by a library authority, not another place
        found: list[tuple[int, int, tuple[str, ...], _Form | None]] = []
        cands: list[tuple[int, int, tuple[str, ...], _Form | None]] = []
        lengths = sorted({len(w) for w, _ in self._forms} | {len(w) for w in self._shadows}, reverse=True)
        forms = dict(self._forms)
        for n in lengths:
            for i in range(len(words) - n + 1):
                w = words[i : i + n]
                if w in forms:
                    cands.append((i, n, w, forms[w]))
                elif w in self._shadows:
                    cands.append((i, n, w, None))
        # Longest first; at equal length, the library's name before another place's.
        cands.sort(key=lambda c: (-c[1], c[3] is None, c[0]))
        for i, n, w, form in cands:
            if any(taken[i : i + n]):
                continue
            if form is not None and form.capital_only and not toks[i].capital:
                continue
            for j in range(i, i + n):
                taken[j] = True
                if form is not None:
                    named[j] = True
            found.append((i, n, w, form))
        out = []
        for i, n, w, form in sorted(found, key=lambda c: (-c[1], c[0])):
            if form is None:
                continue
            # Council words around the name may be another place's ("London" in "London Borough of").
            a, b = _extend(words, named, i, i + n)
            out.append(Match(form.keys, toks[a].start, toks[b - 1].end, question[toks[a].start : toks[b - 1].end], " ".join(w), form.kind))
        return out


def _extend(words: tuple[str, ...], taken: list[bool], a: int, b: int) -> tuple[int, int]:
    """Widen [a, b) over council words around the name ("London Borough of", "council")."""
    for before in _BEFORE:
        n = len(before)
        if a - n >= 0 and words[a - n : a] == before and not any(taken[a - n : a]):
            a -= n
            break
    for after in _AFTER:
        n = len(after)
        if words[b : b + n] == after and not any(taken[b : b + n]):
            b += n
            break
    return a, b
