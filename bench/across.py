"""Across-reports answers: speed, and the lists to judge by reading.

    python bench/across.py --index /work/fullidx [--embedder base] [--themes bench/across_themes.txt] [--repeat 5] [--dump FILE]

With the model loaded once, answers every theme `--repeat` times (after one
warm-up pass) and prints per-answer latency p50/p95/max of `search.themes.across`,
against a baseline measured in the same run: the plain 5-passage `Searcher.ask`
of the same themes (the ratio is the cost of covering every report). For each
theme it prints the count (full / in part / authorities) and, with --dump,
writes every full match's best passage (authority, date, grade, text) to FILE
for judging precision by reading.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index import embed
from assistant.search import themes as view
from assistant.search.searcher import Searcher

DEFAULT_THEMES = ROOT / "bench" / "across_themes.txt"


def load_themes(path: Path) -> list[str]:
    return [t.strip() for t in path.read_text(encoding="utf-8").splitlines() if t.strip() and not t.startswith("#")]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q)) if xs else 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--themes", type=Path, default=DEFAULT_THEMES)
    ap.add_argument("--embedder", choices=embed.MODELS, default="shipped", help="base: an index built with the wheel's model")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--dump",
        type=Path,
        help="write each theme's full matches here, for judging by reading",
    )
    ap.add_argument(
        "--recall",
        action="store_true",
        help="also count, by scanning every passage, the reports with any passage naming all the concepts",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    searcher = Searcher(args.index, embedder=embed.load_embedder(cache_dir=args.index / "models", model=args.embedder))
    print(
        f"index {args.index} generation {searcher.generation.name}: {len(searcher.generation.reports)} reports, "
        f"{len(searcher.generation.chunks)} passages; loaded in {time.perf_counter() - t0:.1f} s"
    )
    themes = load_themes(args.themes)
    for t in themes:  # warm-up: caches (chunk lookup, tokenizer) and the model's first calls
        view.across(searcher, t)
        searcher.ask(t, k=5)

    base, acr = [], []
    answers = {}
    for _ in range(args.repeat):
        for t in themes:
            s = time.perf_counter()
            searcher.ask(t, k=5)
            base.append(time.perf_counter() - s)
            s = time.perf_counter()
            answers[t] = view.across(searcher, t)
            acr.append(time.perf_counter() - s)

    print(f"\n{'theme':<58} {'full':>5} {'part':>5} {'auth':>5}  concepts")
    for t in themes:
        a = answers[t]
        print(f"{t[:58]:<58} {len(a.full):>5} {len(a.partial):>5} {a.authorities:>5}  {', '.join(c.label for c in a.concepts)}")
    print(f"\n{len(acr)} answers ({len(themes)} themes x {args.repeat})")
    print(f"across view    p50 {pct(acr, 50):.3f} s  p95 {pct(acr, 95):.3f} s  max {max(acr):.3f} s  mean {statistics.mean(acr):.3f} s")
    print(f"baseline ask k=5 p50 {pct(base, 50):.3f} s  p95 {pct(base, 95):.3f} s  (same run)")
    print(f"ratio across/ask p95 {pct(acr, 95) / max(pct(base, 95), 1e-9):.2f}")

    if args.recall:
        # Exhaustive: every passage's terms once, then per theme the reports with a passage naming
        # every concept, against those the answer lists as full (the searcher scores a candidate pool).
        from assistant.index import keywords

        gen = searcher.generation
        t1 = time.perf_counter()
        terms = [keywords.term_set(c.text) for c in gen.chunks]
        report_of = {}
        for r in gen.reports:
            for i in range(r.chunk_start, r.chunk_end):
                report_of[i] = r.path
        print(f"\nrecall against an exhaustive concept scan ({time.perf_counter() - t1:.0f} s to read every passage):")
        print(f"{'theme':<58} {'listed':>6} {'exist':>6} {'recall':>6}")
        for t in themes:
            a = answers[t]
            if not a.concepts:
                continue
            exist = {report_of[i] for i, ts in enumerate(terms) if all(c.covered_by(ts, gen.chunks[i].text) for c in a.concepts)}
            listed = {r.source for r in a.full}
            print(f"{t[:58]:<58} {len(listed):>6} {len(exist):>6} {len(listed & exist) / max(len(exist), 1):>6.2f}")

    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for t in themes:
                a = answers[t]
                out.write(f"=== {t}\n{a.summary()}  concepts: {', '.join(c.label for c in a.concepts)}\n")
                for r in a.full:
                    h = r.best.hit
                    out.write(f"[{r.rank}] {r.local_authority} {r.published} {r.grade} p.{h.page} score {h.score:.3f}\n    {h.text}\n")
                out.write("\n")
        print(f"full matches written to {args.dump}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
