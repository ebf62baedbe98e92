"""Re-run the choice of a ranking setting: evaluate a grid of values for one or two fields.

    python bench/sweep.py --index /tmp/bench-index --set bm25_weight=0.2,0.35,0.5 [--set min_bm25=4,6,8]
                          [--questions ../shared/eval/dev.jsonl ...]

Every other field keeps its shipped value (assistant/settings.py). Prints one
row per combination: hit@1/5/10 and MRR@10 for each questions file. The model
and the index are loaded once; each combination re-derives only the ranking.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.search.evaluate import evaluate, load_questions  # noqa: E402
from assistant.search.searcher import Searcher, _Served  # noqa: E402
from assistant.settings import RankingSettings  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"


def parse_set(spec: str) -> tuple[str, list[float]]:
    name, _, values = spec.partition("=")
    known = {f.name: f.type for f in fields(RankingSettings)}
    if name not in known or not values:
        raise SystemExit(f"--set wants FIELD=V1,V2,... with FIELD one of: {', '.join(known)}")
    cast = int if known[name] in (int, "int") else float
    return name, [cast(v) for v in values.split(",")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/tmp/bench-index"))
    ap.add_argument("--questions", type=Path, nargs="+", default=[EVAL / "dev.jsonl"])
    ap.add_argument("--set", dest="sets", action="append", required=True, help="FIELD=V1,V2,... (repeatable)")
    args = ap.parse_args()
    if not (args.index / "CURRENT").is_file() or not all(q.is_file() for q in args.questions):
        print(f"skipped: need a built index at {args.index} and {', '.join(map(str, args.questions))}")
        return 0
    grid = [parse_set(s) for s in args.sets]
    searcher = Searcher(args.index)
    sets = {q.name: load_questions(q) for q in args.questions}
    base = searcher.settings
    print("shipped settings:")
    for line in base.describe():
        print("  " + line)
    print()
    names = [n for n, _ in grid]
    header = " ".join(f"{n:>20}" for n in names) + "".join(f" | {s:>28}" for s in sets)
    print(header)
    print(" " * (21 * len(names)) + "".join(f" | {'hit@1  hit@5 hit@10 MRR@10':>28}" for _ in sets))
    for combo in itertools.product(*(values for _, values in grid)):
        st = replace(base, **dict(zip(names, combo)))
        searcher.settings = st
        if st.boilerplate_reports != base.boilerplate_reports:
            searcher._served = _Served.of(searcher.generation, st)
        cells = []
        for qs in sets.values():
            s = evaluate(searcher, qs, k=10).summary()
            cells.append(f"{s['hit@1']:.3f}  {s['hit@5']:.3f}  {s['hit@10']:.3f}  {s['mrr@10']:.3f}")
        print(" ".join(f"{v:>20}" for v in combo) + "".join(f" | {c:>28}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
