"""Dense search at millions of passages: flat vs FAISS IVF on a synthetic corpus derived from real vectors.

    nice python bench/ann.py --index /work/fullidx [--n 2000000] [--queries 200]
        [--nprobe 128] [--filters none years authority] [--no-flat] [--no-codes]

The synthetic corpus keeps the real passages' distribution: it holds every real
vector, and each further vector is a random point between a real vector and
one of its 10 nearest real neighbours, plus a little noise (sigma 0.01 per
dimension, |noise| ~0.2), normalised: "the same finding in other words", as
thousands more reports would add. Queries are real text embedded with the real
model: the first sentence of randomly chosen passages. Synthetic rows are laid
out as reports of ~130 passages (the real mean), each with an authority and a
year, for the filtered searches.

Prints, for flat (exact) search and each IVF setting: recall@10 against exact
search, p50/p95 single-query latency (one query at a time, as the app asks),
index memory and disk, build time; and exact-search latency at smaller sizes
(where IVF_FROM comes from). Figures: bench/RESULTS.md, "Scale (issue 13)".
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

from assistant.index import ann  # noqa: E402
from assistant.index.chunking import split_sentences  # noqa: E402
from assistant.index.embed import load_embedder  # noqa: E402
from assistant.index.read import load_generation  # noqa: E402

K = 10


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def synthesise(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Every real vector, then n - len(real) points between real neighbours (see the module docstring)."""
    import faiss

    m, d = real.shape
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(d)
    flat.add(real)
    _, nn = flat.search(real, 11)  # itself and its 10 nearest
    print(f"  real vectors' 10 nearest neighbours: {time.perf_counter() - t:.1f} s", flush=True)
    out = np.empty((n, d), np.float32)
    out[:m] = real
    for start in range(m, n, 200_000):
        end = min(n, start + 200_000)
        a = rng.integers(0, m, end - start)
        b = nn[a, rng.integers(1, 11, end - start)]
        lam = rng.random((end - start, 1), dtype=np.float32)
        x = lam * real[a] + (1 - lam) * real[b] + rng.normal(0, 0.01, (end - start, d)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start:end] = x.astype(np.float16)  # as stored: fp16
    return out


def all_scores(base: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Every query's exact score for every row: (queries, rows) float32."""
    out = np.empty((len(qs), len(base)), np.float32)
    for i in range(0, len(base), 250_000):
        out[:, i : i + 250_000] = (base[i : i + 250_000] @ qs.T).T
    return out


def exact_topk(scores: np.ndarray, allowed: np.ndarray | None, k: int = K) -> np.ndarray:
    rows = np.arange(len(scores)) if allowed is None else allowed
    s = scores if allowed is None else scores[allowed]
    return rows[np.argpartition(-s, k - 1)[:k]]


def recall(got: np.ndarray, want: np.ndarray) -> float:
    return len(set(got.tolist()) & set(want.tolist())) / len(want) if len(want) else float(len(got) == 0)


def timed(fn, reps: list) -> tuple[float, float]:
    ms = []
    for r in reps:
        t = time.perf_counter()
        fn(r)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return statistics.median(ms), ms[min(len(ms) - 1, int(0.95 * len(ms)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/work/fullidx"))
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--nlist", type=int, nargs="*", default=[4096])
    ap.add_argument("--nprobe", type=int, nargs="*", default=[8, 16, 32, 64, 128])
    ap.add_argument("--no-codes", action="store_true", help="skip the IVF,SQ8 and IVF,PQ48 rows")
    ap.add_argument("--no-flat", action="store_true", help="skip the exact and flat-index rows")
    ap.add_argument("--filters", nargs="*", choices=["none", "years", "authority", "report"], help="only these filtered rows (default: all)")
    args = ap.parse_args()
    import faiss

    rng = np.random.default_rng(13)
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads", flush=True)
    t = time.perf_counter()
    gen = load_generation(args.index)
    real = gen.vectors(0, len(gen.chunks)).astype(np.float32)
    print(f"real passages: {len(real):,} from {args.index} ({time.perf_counter() - t:.1f} s)", flush=True)
    base = synthesise(real, args.n, rng)
    print(f"synthetic corpus: {len(base):,} x {base.shape[1]} (float32 in memory {base.nbytes / 1e9:.2f} GB); peak RSS {rss_gb():.1f} GB", flush=True)

    # Queries: real sentences, embedded by the real model.
    emb = load_embedder(cache_dir=ROOT / "index" / "models")
    texts = []
    for i in rng.permutation(len(gen.chunks)):
        sents = [s for s in split_sentences(gen.chunks[i].text) if len(s.split()) >= 8]
        if sents:
            texts.append(sents[0])
        if len(texts) == args.queries:
            break
    qs = emb.encode(texts)
    del gen

    # Reports of ~130 rows, each with one of 150 authorities and a year 2009-2026.
    report_of = np.arange(len(base)) // 130
    n_reports = report_of[-1] + 1
    authority = (np.arange(n_reports) % 150)[rng.permutation(n_reports)][report_of]
    year = rng.integers(2009, 2027, n_reports)[report_of]
    filters = {
        "none": lambda i: None,
        "two years (~11%)": lambda i: np.flatnonzero((year >= 2015 + i % 8) & (year <= 2016 + i % 8)),
        "one authority (~0.7%)": lambda i: np.flatnonzero(authority == i % 150),
        "one report (130)": lambda i: np.flatnonzero(report_of == (i * 7919) % n_reports),
    }
    if args.filters:
        short = dict(zip(("none", "years", "authority", "report"), filters))
        filters = {short[f]: filters[short[f]] for f in args.filters}
    fq = {name: [f(i) for i in range(len(qs))] for name, f in filters.items()}
    t = time.perf_counter()
    scores = all_scores(base, qs)
    truth = {name: [exact_topk(scores[i], a) for i, a in enumerate(fq[name])] for name in filters}
    del scores
    print(f"exact top-{K} for {len(qs)} queries x {len(filters)} filters: {time.perf_counter() - t:.1f} s", flush=True)

    print("\n| index | rows | filter | recall@10 | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    # Exact search (what search.searcher does below IVF_FROM: the float32 matrix times the query).
    for n in () if args.no_flat else (250_000, 500_000, 1_000_000, len(base)):
        sub = base[:n]
        p50, p95 = timed(lambda q, sub=sub: np.argpartition(-(sub @ q), K)[:K], list(qs[:50]))
        print(f"| exact (numpy float32) | {n:,} | none | 1.000 | {p50:.1f} | {p95:.1f} |", flush=True)
    flat_bytes = len(base) * base.shape[1] * 2
    if not args.no_flat:
        flat = ann.build(base, base.shape[1], ivf_from=len(base) + 1)
        p50, p95 = timed(lambda q, flat=flat: flat.search(q[None, :], K), list(qs[:50]))
        print(f"| flat fp16 (FAISS, today's dense.faiss) | {len(base):,} | none | 1.000 | {p50:.1f} | {p95:.1f} |", flush=True)
        flat_bytes = faiss.serialize_index(flat).nbytes
        del flat

    summary = []
    for nlist in args.nlist:
        t = time.perf_counter()
        index = ann.build(base, base.shape[1], ivf_from=0, nlist=nlist)
        build_s = time.perf_counter() - t
        disk = faiss.serialize_index(index).nbytes
        t = time.perf_counter()
        dense = ann.Dense(index)
        print(
            f"ann.Dense over IVF{nlist}: {time.perf_counter() - t:.1f} s (the row-ordered float32 copy, {dense._matrix.nbytes / 1e9:.2f} GB)",
            flush=True,
        )
        for nprobe in args.nprobe:
            dense.nprobe = nprobe
            for name in filters:
                got = [dense.search(q, a, K)[0] for q, a in zip(qs, fq[name])]
                r = statistics.mean(recall(g, w) for g, w in zip(got, truth[name]))
                idx = list(range(len(qs)))
                p50, p95 = timed(lambda i, dense=dense, name=name: dense.search(qs[i], fq[name][i], K), idx)
                print(f"| IVF{nlist},fp16 nprobe {nprobe} | {len(base):,} | {name} | {r:.3f} | {p50:.1f} | {p95:.1f} |", flush=True)
                if name == "none":
                    summary.append((nlist, nprobe, r, p50, p95))
        for name in [f for f in filters if f.startswith("one authority")]:
            # The narrow-filter path before the row-ordered copy, in the same run: every list
            # scanned with a bitmap of the allowed rows.
            def every_list(i: int, index=index, name=name) -> np.ndarray:
                mask = np.zeros(index.ntotal, dtype=bool)
                mask[fq[name][i]] = True
                bits = np.packbits(mask, bitorder="little")
                params = faiss.SearchParametersIVF(nprobe=index.nlist, sel=faiss.IDSelectorBitmap(index.ntotal, faiss.swig_ptr(bits)))
                return index.search(qs[i][None, :], K, params=params)[1][0]

            r = statistics.mean(recall(every_list(i), truth[name][i]) for i in range(len(qs)))
            p50, p95 = timed(every_list, list(range(len(qs))))
            print(f"| IVF{nlist},fp16 every list + bitmap (before) | {len(base):,} | {name} | {r:.3f} | {p50:.1f} | {p95:.1f} |", flush=True)
        print(
            f"\nIVF{nlist},fp16: build {build_s:.0f} s (train on {nlist * ann.TRAIN_PER_LIST:,} + add + direct map), "
            f"disk {disk / 1e9:.2f} GB (flat fp16: {flat_bytes / 1e9:.2f} GB), peak RSS so far {rss_gb():.1f} GB\n",
            flush=True,
        )
        del dense, index

    # Smaller codes, same lists: memory against recall.
    nlist = args.nlist[0]
    for label, make in (
        ()
        if args.no_codes
        else (
            (
                "IVF,SQ8",
                lambda q: faiss.IndexIVFScalarQuantizer(q, base.shape[1], nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT, True),
            ),
            ("IVF,PQ48", lambda q: faiss.IndexIVFPQ(q, base.shape[1], nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)),
        )
    ):
        t = time.perf_counter()
        quant = faiss.IndexFlatIP(base.shape[1])
        index = make(quant)
        sample = base[np.sort(rng.choice(len(base), nlist * ann.TRAIN_PER_LIST, replace=False))]
        index.cp.niter = 10
        index.train(sample)
        for s in range(0, len(base), 262_144):
            index.add(base[s : s + 262_144])
        build_s = time.perf_counter() - t
        disk = faiss.serialize_index(index).nbytes
        for nprobe in args.nprobe:
            index.nprobe = nprobe
            _, labels = index.search(qs, K)
            r = statistics.mean(recall(labels[i], truth["none"][i]) for i in range(len(qs)))
            p50, p95 = timed(lambda q, index=index: index.search(q[None, :], K), list(qs))
            print(f"| {label.replace('IVF', f'IVF{nlist}')} nprobe {nprobe} | {len(base):,} | none | {r:.3f} | {p50:.1f} | {p95:.1f} |", flush=True)
        print(f"\n{label}: build {build_s:.0f} s, disk {disk / 1e9:.2f} GB, peak RSS so far {rss_gb():.1f} GB\n", flush=True)
        del index
    return 0


if __name__ == "__main__":
    sys.exit(main())
