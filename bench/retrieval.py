"""Retrieval quality and speed on the dev questions, with the model loaded once.

    python bench/retrieval.py --index /tmp/bench-index [--questions ../shared/eval/dev.jsonl]

Prints hit@1/5/10 and MRR@10 for BM25 only, dense only and the shipped hybrid
ranking side by side, per question type, then per-question latency p50/p95
of the shipped ranking and the serving process's RSS.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluate import evaluate, load_questions, print_report  # noqa: E402
from assistant.search import Searcher  # noqa: E402


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/tmp/bench-index"))
    ap.add_argument("--questions", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    if not args.questions.is_file() or not (args.index / "CURRENT").is_file():
        print(f"skipped: need {args.questions} and a built index at {args.index}")
        return 0
    t0 = time.perf_counter()
    s = Searcher(args.index)
    print(f"load: {time.perf_counter() - t0:.1f} s, {len(s.generation.chunks)} passages, RSS {rss_mb():.0f} MB")
    qs = load_questions(args.questions)
    for mode in ("bm25", "dense", "hybrid"):
        res = evaluate(s, qs, k=10, mode=mode)
        buf = io.StringIO()
        print_report(res, buf, misses=args.misses and mode == "hybrid")
        print(f"--- {mode}")
        print(buf.getvalue().rstrip())
    lat = []
    for _ in range(2):
        for q in qs:
            t = time.perf_counter()
            s.ask(q.question, k=10)
            lat.append((time.perf_counter() - t) * 1000)
    lat = np.array(lat[len(qs):])  # second pass: warm
    print(f"latency per question (hybrid, k=10, warm): p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms")
    print(f"serving RSS: {rss_mb():.0f} MB (peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
