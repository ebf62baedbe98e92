"""One tokenizer for keyword search, shared by indexing and querying so both
sides stem and drop stop words the same way."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

# onnxruntime's quantiser may leave the root logger at DEBUG; bm25s would then narrate every build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]):
    """bm25s token ids for a corpus (used to build the index)."""
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
