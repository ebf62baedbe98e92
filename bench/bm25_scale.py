"""Keyword search (bm25s) at millions of passages: memory, build time and query latency.

    nice python bench/bm25_scale.py --index /work/fullidx [--n 2000000] [--queries 100]

A synthetic set matching bench/ann.py's: real passages' stemmed terms (the
stored terms/ table), drawn with replacement up to n passages, with one term in
ten replaced by a term drawn from the corpus's own term frequencies (so no two
passages are copies, and the vocabulary's shape stays real). The index is the
one the store writes (keywords.bm25_index); queries are the terms of the first
sentence of random real passages. Latency is what search.searcher pays per question:
`get_scores` over every passage (then its rows), and bm25s's own top-k
`retrieve` for comparison. Figures: bench/RESULTS.md, "Scale (issue 13)".
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index import keywords  # noqa: E402
from assistant.index.chunking import split_sentences  # noqa: E402
from assistant.index.keywords import TermTable  # noqa: E402
from assistant.index.read import check_generation, load_generation  # noqa: E402


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def synthesise(real: TermTable, n: int, rng: np.random.Generator) -> TermTable:
    lengths = np.diff(real.offsets)
    pick = np.concatenate([np.arange(len(real)), rng.integers(0, len(real), max(0, n - len(real)))])[:n]
    new_len = lengths[pick]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(new_len, out=offsets[1:])
    # Gather each picked passage's ids: position j of passage i reads real.ids[start_i + j].
    starts = np.repeat(real.offsets[pick] - offsets[:-1], new_len)
    ids = real.ids[np.arange(offsets[-1], dtype=np.int64) + starts]
    swap = rng.random(len(ids)) < 0.1
    swap[: real.offsets[-1]] = False  # the real passages stay as they are
    ids[swap] = real.ids[rng.integers(0, len(real.ids), int(swap.sum()))]
    return TermTable(real.vocab, ids, offsets)


def timed(fn, items) -> tuple[float, float]:
    ms = []
    for x in items:
        t = time.perf_counter()
        fn(x)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return statistics.median(ms), ms[min(len(ms) - 1, int(0.95 * len(ms)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/work/fullidx"))
    ap.add_argument("--n", type=int, nargs="*", default=[500_000, 2_000_000])
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    rng = np.random.default_rng(13)
    gen = load_generation(args.index)
    real = check_generation(args.index).passages().terms
    print(f"real passages: {len(real):,}, {len(real.vocab):,} terms, {len(real.ids) / len(real):.0f} terms per passage", flush=True)
    queries = []
    for i in rng.permutation(len(gen.chunks)):
        sents = [s for s in split_sentences(gen.chunks[i].text) if len(s.split()) >= 8]
        if sents and (terms := keywords.terms(sents[0])):
            queries.append(terms)
        if len(queries) == args.queries:
            break
    del gen
    print("\n| passages | build s | index in memory GB | peak RSS GB | get_scores p50 / p95 ms | retrieve top-10 p50 / p95 ms |")
    print("|---|---|---|---|---|---|")
    for n in args.n:
        table = synthesise(real, n, rng)
        t = time.perf_counter()
        bm = keywords.bm25_index(table)
        build = time.perf_counter() - t
        size = sum(bm.scores[k].nbytes for k in ("data", "indices", "indptr"))
        del table
        g50, g95 = timed(lambda q, bm=bm: bm.get_scores(q), queries)
        ids = [[bm.vocab_dict[w] for w in q if w in bm.vocab_dict] for q in queries]
        r50, r95 = timed(lambda q, bm=bm: bm.retrieve([q], k=10, show_progress=False, n_threads=1), ids)
        print(f"| {n:,} | {build:.1f} | {size / 1e9:.2f} | {rss_gb():.1f} | {g50:.0f} / {g95:.0f} | {r50:.0f} / {r95:.0f} |", flush=True)
        del bm
    return 0


if __name__ == "__main__":
    sys.exit(main())
