"""A tiny deterministic embedder for tests of logic that does not need the real model.

Each stemmed word is hashed to one of 64 dimensions with a sign, so texts that
share words point the same way and a unit vector comes out: enough for the
conversation, filter and pipeline logic, and instant to load. Tests of
retrieval quality use the real model (conftest's `embedder`).
"""

from __future__ import annotations

import hashlib

import numpy as np

from assistant.index import keywords
from assistant.index.embed import MAX_TOKENS, Embedder, ModelInfo

FAKE_DIM = 64


class HashingEmbedder(Embedder):
    def __init__(self) -> None:
        super().__init__(ModelInfo("test/hashing-bag-of-words", FAKE_DIM, MAX_TOKENS, "0" * 64, "fake"))

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), FAKE_DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for term in keywords.terms(text) or ["empty"]:
                h = hashlib.blake2b(term.encode(), digest_size=4).digest()
                out[i, h[0] % FAKE_DIM] += 1.0 if h[1] & 1 else -1.0
        out[np.abs(out).sum(axis=1) == 0, 0] = 1.0  # never a zero vector
        return out
