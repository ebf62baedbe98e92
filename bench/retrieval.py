"""Retrieval quality and speed on the three question sets, with the model loaded once.

    python bench/retrieval.py --index /work/fullidx [--questions A.jsonl B.jsonl C.txt] [--misses]

Default sets: ../shared/eval/dev.jsonl, everyday.jsonl and unanswerable.txt. For
each set prints hit@1/5/10 and MRR@10 (per question type) for BM25 only, dense
only and the shipped hybrid ranking, then all of them side by side, the share
of unanswerable questions answered with no passage, per-question latency
p50/p95 of the shipped ranking (all sets, warm pass) and the serving RSS.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.search.evaluate import (
    AbstainResult,
    EvalResult,
    evaluate,
    evaluate_unanswerable,
    is_unanswerable_file,
    load_questions,
    load_unanswerable,
    print_report,
    print_unanswerable,
)

EVAL = ROOT.parent / "shared" / "eval"
DEFAULT_SETS = (EVAL / "dev.jsonl", EVAL / "everyday.jsonl", EVAL / "unanswerable.txt")
MODES = ("bm25", "dense", "hybrid")


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_sets(searcher, sets, modes=MODES, misses=False, out=sys.stdout, k=10) -> dict[tuple[str, str], object]:
    """Every set under every mode: {(set name, mode): EvalResult | AbstainResult}; prints each report."""
    results: dict[tuple[str, str], object] = {}
    for path in sets:
        out.write(f"=== {path.name}\n")
        for mode in modes:
            buf = io.StringIO()
            if is_unanswerable_file(path):
                res = evaluate_unanswerable(searcher, load_unanswerable(path), k=k, mode=mode)
                print_unanswerable(res, buf, misses=misses and mode == "hybrid")
            else:
                res = evaluate(searcher, load_questions(path), k=k, mode=mode)
                print_report(res, buf, misses=misses and mode == "hybrid")
            results[(path.name, mode)] = res
            out.write(f"--- {mode}\n{buf.getvalue().rstrip()}\n")
    return results


def side_by_side(results: dict[tuple[str, str], object], modes=MODES) -> str:
    """One table: rows are sets and their question types, columns hit@5 / MRR@10 per mode."""
    lines = [f"{'set / type':<28}" + "".join(f"{m + ' hit@5/MRR':>20}" for m in modes)]
    names = list(dict.fromkeys(name for name, _ in results))
    for name in names:
        first = results[(name, modes[0])]
        if isinstance(first, AbstainResult):
            cells = []
            for m in modes:
                s = results[(name, m)].summary()
                cells.append(f"{s['abstained']}/{s['n']} no passage")
            lines.append(f"{name:<28}" + "".join(f"{c:>20}" for c in cells))
            continue
        assert isinstance(first, EvalResult)
        groups = {"all": list(first.ranks)}
        by_type = defaultdict(list)
        for i, t in first.types.items():
            by_type[t].append(i)
        groups.update(sorted(by_type.items()))
        for g, ids in groups.items():
            cells = []
            for m in modes:
                s = results[(name, m)].summary(ids)
                cells.append(f"{s['hit@5']:.3f} / {s['mrr@10']:.3f}")
            label = f"{name} {g} (n={len(ids)})" if g == "all" else f"  {g} (n={len(ids)})"
            lines.append(f"{label:<28}" + "".join(f"{c:>20}" for c in cells))
    return "\n".join(lines)


def latency(searcher, sets, k=10) -> np.ndarray:
    """Per-question ms of the shipped ranking over all sets' questions, second (warm) pass."""
    qs = []
    for path in sets:
        qs += load_unanswerable(path) if is_unanswerable_file(path) else [q.question for q in load_questions(path)]
    lat = []
    for _ in range(2):
        for q in qs:
            t = time.perf_counter()
            searcher.ask(q, k=k)
            lat.append((time.perf_counter() - t) * 1000)
    return np.array(lat[len(qs) :])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/tmp/bench-index"))
    ap.add_argument("--questions", type=Path, nargs="+", default=list(DEFAULT_SETS))
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    sets = [p for p in args.questions if p.is_file()]
    if not sets or not (args.index / "CURRENT").is_file():
        print(f"skipped: need question files ({', '.join(map(str, args.questions))}) and a built index at {args.index}")
        return 0
    from assistant.search.searcher import Searcher

    t0 = time.perf_counter()
    s = Searcher(args.index)
    print(f"load: {time.perf_counter() - t0:.1f} s, {len(s.generation.chunks)} passages, RSS {rss_mb():.0f} MB")
    print("ranking settings (assistant/settings.py):")
    for line in s.settings.describe():
        print("  " + line)
    results = run_sets(s, sets, misses=args.misses)
    print("=== side by side")
    print(side_by_side(results))
    lat = latency(s, sets)
    print(
        f"latency per question (hybrid, k=10, warm, {len(lat)} questions): p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms"
    )
    print(f"serving RSS: {rss_mb():.0f} MB (peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
