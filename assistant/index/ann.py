"""Dense search over a generation's vectors: exact below `ivf_from` passages, FAISS IVF from there.

Below `ivf_from` (settings.AnnSettings) the store writes a flat fp16 index and a search scores every
allowed passage (exact, as it always has). From there it writes an inverted
file (IVF, fp16 vectors, no residual coding) whose centroids are trained on a
sample: a search visits `nprobe` of its lists. Vectors stay fp16 either way,
so they are read back exactly and an incremental build carries them over
unchanged.

Filters apply exactly: only allowed rows are ever returned. A narrow filter
(under `exact_below` rows: one authority, one report) is scored exactly from a
row-ordered float32 copy of the vectors: a report's passages are consecutive
rows, so an authority's rows are a few hundred runs, each one matrix product
with no gather; a partial probe would find few of them. A wider filter probes
proportionally more lists, with a bitmap of its rows.
Figures behind each number: settings.AnnSettings and bench/RESULTS.md, "Scale".
"""

from __future__ import annotations

import math

import numpy as np

from ..settings import DEFAULTS, AnnSettings

# Every number here (ivf_from, nprobe, train_per_list, train_iterations, exact_below) is a
# field of settings.AnnSettings, with the figures behind it.


def nlist_for(n: int, train_per_list: int = DEFAULTS.ann.train_per_list) -> int:
    """Lists for n passages: about 3·sqrt(n), a power of two, at least 1 and never
    more than n / train_per_list (2 M passages: 4096)."""
    if n < train_per_list:
        return 1
    want = 2 ** round(math.log2(3 * math.sqrt(n)))
    return max(1, min(want, 2 ** int(math.log2(n // train_per_list))))


def build(
    vectors: np.ndarray,
    dim: int,
    ivf_from: int | None = None,
    nlist: int | None = None,
    nprobe: int | None = None,
    st: AnnSettings = DEFAULTS.ann,
):
    """A FAISS index of `vectors` (inner product, fp16): flat below `ivf_from` rows
    (default st.ivf_from), IVF with `nlist` lists (default nlist_for) from there."""
    import faiss

    x = np.ascontiguousarray(vectors, dtype="float32")
    n = len(x)
    if n < (st.ivf_from if ivf_from is None else ivf_from):
        flat = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        if n:
            flat.add(x)
        return flat
    nlist = nlist or nlist_for(n, st.train_per_list)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT, False)
    rows = np.sort(np.random.default_rng(0).choice(n, size=min(n, nlist * st.train_per_list), replace=False))
    index.cp.niter = st.train_iterations
    index.train(x[rows])
    for start in range(0, n, 262_144):
        index.add(x[start : start + 262_144])
    index.make_direct_map()  # rows read back by number (Generation.vectors, exact scoring)
    index.nprobe = nprobe or st.nprobe
    return index


def read_vectors(index) -> np.ndarray:
    """Every vector of a `build` index, in row order, as float32 (FAISS widens fp16
    faster than numpy: 0.05 - 0.25 s of CPU for the full library's 64k vectors, against
    0.35 - 0.5 s for numpy's astype of the same codes, measured beside bench/load.py)."""
    return index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), "float32")


class Dense:
    """A generation's dense index, searched with filters that apply exactly. Thread-safe.

    Holds the vectors in row order as float32 beside the index (flat or IVF): exact
    scoring of a filter's rows reads them as they lie. float32 rather than fp16: numpy
    converts fp16 at ~3 ns a value (no SIMD path here), which made scoring one
    authority's 13k rows 40 - 80 ms against 5 - 6 ms from float32 on 2 loaded cores
    (bench/ann.py, RESULTS.md); the price is 1.5 KB a passage (3 GB at 2 M passages,
    beside the IVF index's 1.6 GB).
    """

    def __init__(self, index, nprobe: int | None = None, exact_below: int = DEFAULTS.ann.exact_below):
        import faiss

        self.index = index
        self.n = int(index.ntotal)
        self.ivf = index if isinstance(index, faiss.IndexIVF) else None
        self.nprobe = nprobe or (self.ivf.nprobe if self.ivf else 0)
        self.exact_below = exact_below
        self._matrix = read_vectors(index)

    @property
    def kind(self) -> str:
        return f"ivf{self.ivf.nlist}" if self.ivf else "flat"

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self._matrix[np.asarray(rows, dtype=np.int64)]

    def scores(self, query_vec: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner products of the query with `rows` (e.g. keyword candidates)."""
        q = np.asarray(query_vec, dtype=np.float32)
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = runs(rows)
        if len(starts) * 8 > len(rows):  # scattered rows: one gather beats many tiny products
            return self._matrix[rows] @ q
        return np.concatenate([self._matrix[a:b] @ q for a, b in zip(starts.tolist(), ends.tolist())])

    def search(self, query_vec: np.ndarray, allowed_rows: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k allowed rows nearest the query, best first: (rows int64, inner products float32).

        `allowed_rows` None means every row. Fewer than k come back only when fewer are allowed.
        """
        q = np.asarray(query_vec, dtype=np.float32)
        if allowed_rows is not None:
            allowed_rows = np.asarray(allowed_rows, dtype=np.int64)
        if k <= 0 or self.n == 0 or (allowed_rows is not None and len(allowed_rows) == 0):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self.ivf is None or (allowed_rows is not None and len(allowed_rows) <= self.exact_below):
            return self._exact(q, allowed_rows, k)
        rows, scores = self._probe(q, allowed_rows, k)
        wanted = min(k, self.n if allowed_rows is None else len(allowed_rows))
        if len(rows) < wanted:  # the probed lists held too few allowed rows
            return self._exact(q, allowed_rows, k)
        return rows, scores

    def _exact(self, q: np.ndarray, allowed: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(self.n, dtype=np.int64) if allowed is None else allowed
        s = self._matrix @ q if allowed is None else self.scores(q, rows)
        top = np.argpartition(-s, k - 1)[:k] if len(s) > k else np.arange(len(s))
        top = top[np.lexsort((rows[top], -s[top]))]  # by score, then row: the same order every time
        return rows[top], s[top].astype(np.float32)

    def _probe(self, q: np.ndarray, allowed: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        assert self.ivf is not None  # only IVF indexes are probed
        nprobe = self.nprobe
        sel = None
        if allowed is not None:
            # Allowed rows are a fraction f of each list: probe more lists, 1/sqrt(f) times as
            # many (1/f overshot: recall 0.995 but p95 74 ms for f = 11%, bench/ann.py).
            nprobe = min(self.ivf.nlist, math.ceil(nprobe * math.sqrt(self.n / len(allowed))))
            mask = np.zeros(self.n, dtype=bool)
            mask[allowed] = True
            bits = np.packbits(mask, bitorder="little")
            sel = faiss.IDSelectorBitmap(self.n, faiss.swig_ptr(bits))
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
        params.sel = sel
        scores, labels = self.index.search(q[None, :], k, params=params)
        ok = labels[0] >= 0
        rows, s = labels[0][ok].astype(np.int64), scores[0][ok]
        order = np.lexsort((rows, -s))
        return rows[order], s[order]


def runs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`rows` as runs of consecutive numbers, in their order, as [starts, ends)."""
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    firsts = np.concatenate(([0], breaks))
    lasts = np.concatenate((breaks, [len(rows)])) - 1
    return rows[firsts], rows[lasts] + 1
