"""One tokenizer for keyword search, shared by indexing and querying so both
sides stem and drop stop words the same way; and the BM25 index built from
its output (`KeywordIndex`).

This is the one module that knows bm25s: its tokenizer, its scores' CSC arrays
and its files. Everything else asks a `KeywordIndex` for scores, document
frequencies and postings, so an upgrade of bm25s touches this file alone.

Passages' terms are kept as a `TermTable` (ids into a sorted vocabulary) so an
incremental build tokenises only new passages: tokenising everything was most
of the cost of adding one report to a large index.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np

# onnxruntime's quantiser may leave the root logger at DEBUG; bm25s would then narrate every build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern

# bm25s.BM25's defaults, spelled out: `bm25_index` computes the same scores itself.
K1 = 1.5
B = 0.75


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def prepare() -> None:
    """Import the tokenizer (bm25s pulls in scipy: a quarter of a second) ahead of use."""
    import bm25s  # noqa: F401

    _stemmer()


def tokenize(texts: list[str]):
    """bm25s token ids for a corpus (ids local to this call's vocabulary)."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)


def terms(text: str) -> list[str]:
    """Stemmed terms of one query or sentence."""
    import bm25s

    return bm25s.tokenize([text], stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)[0]


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def term_set(text: str) -> frozenset[str]:
    """Stemmed content words of a sentence, as `terms` gives them, but fast
    enough to run on every candidate sentence at query time."""
    stop = _stopwords()
    return frozenset(_stemmer().stemWords([w for w in _WORD.findall(text.lower()) if w not in stop]))


# --- passages' terms, kept between builds -----------------------------------------------


@dataclass(frozen=True)
class TermTable:
    """Each passage's stemmed terms, in text order, as ids into `vocab`.

    Canonical: `vocab` is sorted and holds exactly the terms in use, so the same
    passages give the same table however it was put together.
    """

    vocab: tuple[str, ...]
    ids: np.ndarray  # unsigned ints, all passages back to back
    offsets: np.ndarray  # int64, len(passages) + 1: passage i is ids[offsets[i]:offsets[i + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1


def _narrow(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    # uint16 halves the file for any vocabulary English reports will produce.
    return ids.astype(np.uint16 if vocab_size <= 1 << 16 else np.uint32, copy=False)


def empty_table() -> TermTable:
    return TermTable((), np.zeros(0, np.uint16), np.zeros(1, np.int64))


def tokenize_table(texts: Sequence[str]) -> TermTable:
    """`tokenize`, re-expressed against a sorted vocabulary."""
    if not texts:
        return empty_table()
    tok = tokenize(list(texts))
    local = [""] * len(tok.vocab)  # bm25s's ids follow set order: arbitrary
    for term, i in tok.vocab.items():
        local[i] = term
    order = sorted(range(len(local)), key=local.__getitem__)
    rank = np.empty(len(local), np.int64)
    rank[order] = np.arange(len(local))
    lengths = np.fromiter(map(len, tok.ids), np.int64, len(tok.ids))
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter(chain.from_iterable(tok.ids), np.int64, int(offsets[-1]))
    return _compact(tuple(local[i] for i in order), rank[flat], offsets)


def assemble(pieces: Sequence[tuple[TermTable, int, int]]) -> TermTable:
    """The passages [start, end) of each table, in order, as one table."""
    runs = [(t, start, end) for t, start, end in pieces if end > start]
    if not runs:
        return empty_table()
    tables = {id(t): t for t, _, _ in runs}
    vocab = sorted(set().union(*(t.vocab for t in tables.values())))
    pos = {term: i for i, term in enumerate(vocab)}
    remap = {k: np.array([pos[w] for w in t.vocab], np.int64) for k, t in tables.items()}
    ids, lengths = [], []
    for t, start, end in runs:
        ids.append(remap[id(t)][t.ids[t.offsets[start] : t.offsets[end]]])
        lengths.append(np.diff(t.offsets[start : end + 1]))
    offsets = np.zeros(sum(map(len, lengths)) + 1, np.int64)
    np.cumsum(np.concatenate(lengths), out=offsets[1:])
    return _compact(tuple(vocab), np.concatenate(ids), offsets)


def _compact(vocab: tuple[str, ...], ids: np.ndarray, offsets: np.ndarray) -> TermTable:
    """Drop terms no passage uses (those of removed reports) and renumber."""
    used = np.zeros(len(vocab), bool)
    used[ids] = True
    if not used.all():
        ids = (np.cumsum(used) - 1)[ids]
        vocab = tuple(w for w, u in zip(vocab, used) if u)
    return TermTable(vocab, _narrow(ids, len(vocab)), offsets)


def bm25_index(table: TermTable):
    """A bm25s.BM25 over the table's passages: the scores `BM25().index((ids, vocab))`
    gives, computed with array operations instead of a Python loop per passage
    (the same float64 steps, so the same float32 results; a test holds it to that)."""
    import bm25s

    if len(table) == 0:
        # bm25s cannot score an empty corpus; nothing is looked up in an index of no passages.
        table = tokenize_table(["empty"])
    n, v = len(table), len(table.vocab)
    doc_len = np.diff(table.offsets)
    doc = np.repeat(np.arange(n, dtype=np.int32), doc_len)
    # Grouped by term with passages ascending, the CSC order bm25s stores: a stable
    # sort by term of a stream already in passage order (a radix sort for uint16).
    order = np.argsort(table.ids, kind="stable")
    t, d = table.ids[order], doc[order]
    first = np.ones(len(t), bool)
    first[1:] = (t[1:] != t[:-1]) | (d[1:] != d[:-1])
    starts = np.flatnonzero(first)
    tf = np.diff(np.append(starts, len(t)))
    term, row = t[starts], d[starts]
    df = np.bincount(term, minlength=v)
    indptr = np.zeros(v + 1, np.int64)
    np.cumsum(df, out=indptr[1:])
    # Lucene idf, per distinct document frequency with Python floats as bm25s does.
    dfs, which = np.unique(df, return_inverse=True)
    idf = np.array([math.log(1 + (n - k + 0.5) / (k + 0.5)) if k else 0.0 for k in dfs.tolist()], np.float32)[which]
    avg = doc_len.mean()
    with np.errstate(divide="ignore", invalid="ignore"):  # only if no passage has a term: then nothing uses it
        norm = K1 * ((1 - B) + B * doc_len / avg)
    tf64 = tf.astype(np.float64)
    data = (idf[term].astype(np.float64) * (tf64 / (norm[row] + tf64))).astype(np.float32)

    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.scores = {"data": data, "indices": row, "indptr": indptr, "num_docs": n}
    vocab = {w: i for i, w in enumerate(table.vocab)}
    if "" not in vocab:
        vocab[""] = v  # bm25s's create_empty_token
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    retriever.nonoccurrence_array = None
    return retriever


class KeywordIndex:
    """A generation's BM25 index: scores per passage, document frequency, postings.

    Wraps a bm25s.BM25 whose scores are its CSC arrays (`data`, `indices`,
    `indptr`: per term, the passages holding it and their scores)."""

    def __init__(self, bm25):
        self._bm25 = bm25
        self._indptr = np.asarray(bm25.scores["indptr"])
        self._vocab: dict[str, int] = bm25.vocab_dict

    @classmethod
    def build(cls, table: TermTable) -> KeywordIndex:
        return cls(bm25_index(table))

    @classmethod
    def load(cls, folder: str) -> KeywordIndex:
        import bm25s

        return cls(bm25s.BM25.load(folder, mmap=False))

    def save(self, folder: str) -> None:
        """bm25s's own files (numpy arrays and JSON) into `folder`."""
        self._bm25.save(folder)

    @property
    def num_docs(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def scores(self, terms: list[str]) -> np.ndarray:
        """The BM25 score of every passage for the query `terms` (float32, one per passage)."""
        return self._bm25.get_scores(terms)

    def df(self, term: str) -> int:
        """Passages containing `term` (0 for a term the library does not have)."""
        i = self._vocab.get(term)
        if i is None or i + 1 >= len(self._indptr):
            return 0
        return int(self._indptr[i + 1] - self._indptr[i])

    def terms_in_more_than(self, n: float) -> frozenset[str]:
        """Every term found in more than `n` passages."""
        ptr = self._indptr
        return frozenset(w for w, i in self._vocab.items() if i + 1 < len(ptr) and (ptr[i + 1] - ptr[i]) > n)

    def rows_with(self, term: str) -> np.ndarray:
        """The passages containing `term`, ascending (empty for a term the library does not have)."""
        i = self._vocab.get(term)
        if i is None or i + 1 >= len(self._indptr):
            return np.zeros(0, dtype=np.int64)
        return self._bm25.scores["indices"][self._indptr[i] : self._indptr[i + 1]]

    def arrays(self) -> dict[str, np.ndarray]:
        """The score arrays as bm25s holds them, for tests that compare two indexes exactly."""
        return {k: np.asarray(self._bm25.scores[k]) for k in ("data", "indices", "indptr")}

    def vocabulary(self) -> dict[str, int]:
        return dict(self._vocab)
