"""One tokenizer for keyword search, shared by indexing and querying so both
sides stem and drop stop words the same way."""

from __future__ import annotations

from functools import lru_cache


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
