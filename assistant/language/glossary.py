"""The field's vocabulary: acronyms and the everyday <-> professional wordings of
children's social care, for query expansion.

People ask "do kids who run away get spoken to when they come back?"; reports
say "return home interviews (RHIs)". Two sources, merged into one `Glossary`:

- mined from the reports at index time (`mine_acronyms`): reports define their
  acronyms on first use, "return home interviews (RHIs)", so new reports teach
  new terms;
- a small curated file of general terms of the field, `data/glossary.csv`, each
  entry naming the statutory guidance or framework it comes from.

`Glossary.expand(question)` says which phrases to add to the keyword query,
and why, so the answer can show "also searched: return home interview".
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .vocab import DATA

CURATED_CSV = DATA / "glossary.csv"

ACRONYM = "acronym"  # `short` abbreviates `long`: both directions
PLAIN = "plain"  # everyday wording -> the field's wording: one direction
SYNONYM = "synonym"  # two wordings of the field: both directions
KINDS = (ACRONYM, PLAIN, SYNONYM)
MINED = "mined from the reports"

# Words that mean the same thing in the reports' usage, beside the glossary's entries: the
# across view (search.themes) counts a question's word as covered by any word of its group.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("data", "information", "intelligence", "metrics"),
    ("discussion", "meeting"),
    ("caseload", "workload"),
    ("supervision", "oversight"),
    ("praise", "commend"),
    # Timeliness is one theme whichever way a report puts it ("without delay", "timely", "drift").
    (
        "delay",
        "delays",
        "timely",
        "timeliness",
        "prompt",
        "promptly",
        "swift",
        "swiftly",
        "drift",
    ),
    ("initial", "first"),
    ("enquiry", "enquiries", "investigation", "investigations"),
    ("turnover", "churn", "stability", "instability"),
)

# "return home interviews (RHIs)": words, then an acronym in brackets (a plural or
# possessive "s" allowed, "DoLS" and "CP-IS" style mixed case and hyphens too).
_DEFINED = re.compile(r"\(([A-Z][A-Za-z&\-]{1,9}?)('?s|\u2019s)?\)")
_WINDOW = 160  # characters before the bracket: ten words of the field's vocabulary
# Numbers are words too: "after 18" must not match a bare "after".
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019]*")
# Words an acronym may skip or take a letter from ("Deprivation of Liberty Safeguards (DoLS)").
_MINOR = frozenset("a an and the of for in on or to with by at from".split())
_MAX_WORDS = 10
_ROMAN = re.compile(r"^[IVXLC]+$")


@lru_cache(maxsize=1)
def _stem_obj():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stem_obj().stemWord(word)


def _plain(word: str) -> str:
    return word.lower().replace("\u2019", "'").removesuffix("'s").strip("'")


def stems(text: str) -> tuple[str, ...]:
    """Lower-cased, stemmed words of `text` (stop words kept: "in care" is a phrase)."""
    return tuple(_stem(_plain(w)) for w in _WORD.findall(text))


_INFLECTIONS = ("s", "es", "d", "ed", "ing", "ies")


def _inflected(word: str, written: str) -> bool:
    """`word` is `written` or an inflection of it ("runs", "running" for "run"), not a
    derivation the stemmer also folds ("allow" is not "allowance", "car" not "care")."""
    a, b = _plain(word), _plain(written)
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    for suffix in _INFLECTIONS:
        if long_.endswith(suffix):
            stem = long_[: -len(suffix)]
            if stem in (short, short.rstrip("e"), short.rstrip("y")) or (len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] == short):
                return True
    return False


@dataclass(frozen=True)
class Term:
    """One glossary entry: `term` (what a question may say) and what it `means`."""

    kind: str  # ACRONYM, PLAIN or SYNONYM
    term: tuple[str, ...]  # alternatives: "RHI"; "run away", "go missing"
    means: tuple[str, ...]  # "return home interview"
    source: str  # where it comes from (guidance, framework, or MINED)
    count: int = 0  # mined: passages that define it


@dataclass(frozen=True)
class Added:
    phrase: str  # what was added to the query ("return home interview")
    because: str  # the words of the question that brought it in ("RHIs", "run away")
    kind: str
    source: str


@dataclass(frozen=True)
class Expansion:
    text: str  # the question as given
    added: tuple[Added, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(a.phrase for a in self.added)

    def query(self) -> str:
        """The question with the added phrases after it, for keyword scoring."""
        return " ".join((self.text, *self.phrases))

    def note(self) -> str:
        """The answer's line: "also searched: return home interview; RHI"."""
        return "also searched: " + "; ".join(self.phrases) if self.added else ""


# -- mining ---------------------------------------------------------------------------


def _letters(short: str) -> str:
    return "".join(c for c in short.lower() if c.isalpha())


def _match_words(letters: str, words: list[str]) -> int | None:
    """Index in `words` where a long form for `letters` starts, or None.

    Each letter is the initial of one word, from the last word backwards; minor
    words ("of", "and") may also be skipped. The first letter must start the first word."""

    def go(li: int, wi: int) -> int | None:
        if li < 0:
            return wi + 1
        if wi < 0:
            return None
        w = words[wi]
        if w[0] == letters[li] and (r := go(li - 1, wi - 1)) is not None:
            return r
        # Two letters from one word's parts ("childline" no; "CAMHS" yes): not guessed.
        if w in _MINOR and li < len(letters) - 1:
            return go(li, wi - 1)
        return None

    start = go(len(letters) - 1, len(words) - 1)
    if start is None or words[start] in _MINOR:
        return None
    return start


def _singular(phrase: str) -> str:
    head, _, last = phrase.rpartition(" ")
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 3:
        last = last[:-1]
    return f"{head} {last}".strip()


def mine_acronyms(texts: Iterable[str], min_count: int = 2, keep: int = 2) -> list[Term]:
    """Acronyms the texts define on first use, "return home interviews (RHIs)".

    A long form counts when its words' initials spell the acronym (minor words
    may be skipped or give a letter: "Deprivation of Liberty Safeguards (DoLS)").
    Plurals fold to the singular (RHIs -> RHI, "interviews" -> "interview"); long
    forms are lower-cased, hyphens kept. Kept: long forms seen in at least
    `min_count` passages, the `keep` most frequent per acronym."""
    seen: Counter[tuple[str, str]] = Counter()
    for text in texts:
        if "(" not in text:
            continue
        found = set()
        for m in _DEFINED.finditer(text):
            short = m.group(1).strip("-&")
            upper = sum(c.isupper() for c in short)
            if upper < 2 or _ROMAN.match(short) or len(_letters(short)) < 2:
                continue
            raw = text[max(0, m.start() - _WINDOW) : m.start()]
            if not raw.endswith((" ", "\n")):
                continue  # "word(s)" is not a definition
            words = [w.lower().replace("\u2019", "'") for w in re.findall(r"[A-Za-z][A-Za-z']*", raw)][-_MAX_WORDS:]
            # Hyphenated words give one letter per part ("multi-agency" -> M, A) in most
            # acronyms: try the parts first, then whole words.
            parts = [p for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", raw)[-_MAX_WORDS:] for p in w.lower().split("-") if p]
            letters = _letters(short)
            long = None
            for ws in (parts, words):
                start = _match_words(letters, ws)
                if start is not None:
                    long = _long_form(raw, ws[start:])
                    break
            if not long or len(long) < len(letters) + 3:
                continue
            found.add((short, _singular(long) if m.group(2) else long))
        seen.update(found)
    by_short: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (short, long), n in seen.items():
        if n >= min_count:
            by_short[short].append((n, long))
    out = []
    for short, longs in sorted(by_short.items()):
        longs.sort(key=lambda x: (-x[0], x[1]))
        for n, long in longs[:keep]:
            out.append(Term(ACRONYM, (short,), (long,), MINED, n))
    return out


def _long_form(raw: str, words: list[str]) -> str:
    """The original text of the last len(words) word parts of `raw`, lower-cased, one space."""
    tail = raw.rstrip(" ,-\t\n")
    pieces = re.findall(r"[A-Za-z][A-Za-z'\u2019]*|[,\-]", tail)
    # Walk back until the word parts consumed equal `words`.
    need = len(words)
    out: list[str] = []
    for p in reversed(pieces):
        if p in (",", "-"):
            if out:
                out.append(p)
            continue
        out.append(p)
        need -= 1
        if need == 0:
            break
    text = ""
    for p in reversed(out):
        if p == "-":
            text += "-"
        elif p == ",":
            text += ","
        else:
            text += p if (not text or text.endswith("-")) else " " + p
    return " ".join(text.lower().replace("\u2019", "'").split()).rstrip("'")


# -- the curated file -----------------------------------------------------------------


def load_curated(path: Path = CURATED_CSV) -> tuple[Term, ...]:
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    out = []
    for i, row in enumerate(csv.DictReader(rows), 2):
        kind = (row.get("kind") or "").strip()
        term = tuple(t.strip() for t in (row.get("term") or "").split("|") if t.strip())
        means = tuple(t.strip() for t in (row.get("means") or "").split("|") if t.strip())
        source = (row.get("source") or "").strip()
        if kind not in KINDS or not term or not means or not source:
            raise ValueError(f"{path.name}: bad glossary row {i}: {row}")
        out.append(Term(kind, term, means, source))
    return tuple(out)


# -- the glossary ---------------------------------------------------------------------


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(phrase))


@dataclass(frozen=True)
class _Rule:
    adds: tuple[str, ...]
    kind: str
    source: str
    written: tuple[str, ...] = ()  # the trigger's own words, to tell inflections from derivations


@dataclass(frozen=True)
class Glossary:
    terms: tuple[Term, ...]
    _by_stems: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    _by_acronym: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self):
        by_stems: dict[tuple[str, ...], list[_Rule]] = defaultdict(list)
        by_acr: dict[str, list[_Rule]] = defaultdict(list)
        for t in self.terms:
            if t.kind == ACRONYM:
                for short in t.term:
                    by_acr[short].append(_Rule(t.means, t.kind, t.source))
                    for long in t.means:
                        by_stems[stems(long)].append(_Rule((short,), t.kind, t.source, _words(long)))
            else:
                for phrase in t.term:
                    by_stems[stems(phrase)].append(_Rule(t.means, t.kind, t.source, _words(phrase)))
                if t.kind == SYNONYM:
                    for phrase in t.means:
                        by_stems[stems(phrase)].append(_Rule(t.term, t.kind, t.source, _words(phrase)))
        by_stems.pop((), None)
        object.__setattr__(self, "_by_stems", dict(by_stems))
        object.__setattr__(self, "_by_acronym", dict(by_acr))

    @classmethod
    def build(cls, mined: Iterable[Term] = (), curated: Iterable[Term] | None = None) -> Glossary:
        """Curated entries first; a mined acronym the curated file already explains is left out."""
        curated = load_curated() if curated is None else tuple(curated)
        known = {s for t in curated if t.kind == ACRONYM for s in t.term}
        return cls(tuple(curated) + tuple(t for t in mined if t.term[0] not in known))

    def expand(self, text: str, most: int = 6) -> Expansion:
        """Phrases the glossary adds to `text`: the long form of each acronym written in
        capitals, the acronym of each long form, and the field's wording of each
        everyday phrase. Nothing the text already says; at most `most` phrases."""
        toks = [(m.group(0), m.start()) for m in _WORD.finditer(text)]
        st = stems(text)
        have = set(st)
        added: list[Added] = []
        seen: set[str] = set()

        def add(phrases: tuple[str, ...], because: str, rule: _Rule) -> None:
            for p in phrases:
                key = p.lower()
                ps = stems(p)
                if key in seen or (ps and set(ps) <= have):
                    continue
                seen.add(key)
                added.append(Added(p, because, rule.kind, rule.source))

        for word, _ in toks:
            w = word.replace("\u2019", "'").removesuffix("'s")
            for cand in (w, w[:-1] if w.endswith("s") and len(w) > 2 else None):
                if cand and cand in self._by_acronym and sum(c.isupper() for c in cand) >= 2:
                    for rule in self._by_acronym[cand]:
                        add(rule.adds, word, rule)
                    break
        used = [False] * len(st)
        longest = max((len(k) for k in self._by_stems), default=0)
        for n in range(min(longest, len(st)), 0, -1):
            for i in range(len(st) - n + 1):
                key = tuple(st[i : i + n])
                if key in self._by_stems and not any(used[i : i + n]):
                    for j in range(i, i + n):
                        used[j] = True
                    said = [w for w, _ in toks[i : i + n]]
                    for rule in self._by_stems[key]:
                        if all(_inflected(a, b) for a, b in zip(said, rule.written)):
                            add(rule.adds, " ".join(said), rule)
        return Expansion(text, tuple(added[:most]))

    # -- storage (the index keeps the mined terms beside its passages) ---------------

    def mined_json(self) -> str:
        return json.dumps([{"term": t.term[0], "means": t.means[0], "count": t.count} for t in self.terms if t.source == MINED], indent=0)

    @staticmethod
    def mined_from_json(text: str) -> list[Term]:
        return [Term(ACRONYM, (d["term"],), (d["means"],), MINED, int(d["count"])) for d in json.loads(text)]
