"""Re-run the choice of any tuned number: evaluate a grid of values for one or more settings.

    python bench/sweep.py --index /tmp/bench-index --set bm25_weight=0.2,0.35,0.5 [--set ranking.rerank.depth=10,20]
                          [--set ann.exact_below=10000,50000] [--questions ../shared/eval/dev.jsonl ...]
                          [--validation-only]

`--validation-only` measures on the validation split of training/ alone (its answerable
questions, and how many of its unanswerable ones are shown nothing): the set every choice
is made on; the eval files then only report.

A setting is named by its dotted path in the tree (assistant/settings.py: ranking.min_bm25,
ranking.rerank.weight, themes.common_share, ann.nprobe, ...); a bare name is a ranking
field, as before. Every other field keeps its shipped value. Prints one row per
combination: hit@1/5/10 and MRR@10 for each questions file. The model and the index
are loaded once; each combination re-derives only the ranking, and the serving arrays
when a setting they are built from changed.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.learn.questions import validation_split  # noqa: E402
from assistant.search.evaluate import evaluate, evaluate_unanswerable, load_questions  # noqa: E402
from assistant.search.searcher import Searcher, Snapshot  # noqa: E402
from assistant.settings import Settings, parse_assignment, with_value  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
TRAINING = ROOT / "training"
# Ranking fields the serving arrays are built from (search.searcher.Snapshot.of): changing
# one means building them again, not only re-ranking.
SERVED = {"boilerplate_reports", "short_words", "alias_similarity", "alias_overlap"}


def parse_set(spec: str) -> tuple[tuple[str, ...], list]:
    """ "ranking.rerank.depth=10,20" -> (("ranking", "rerank", "depth"), [10, 20]); exits with the known names when wrong."""
    try:
        return parse_assignment(spec)
    except (KeyError, ValueError) as exc:
        raise SystemExit(f"--set wants PATH=V1,V2,... (a field of assistant/settings.py by dotted path): {exc}") from None


def needs_new_snapshot(path: tuple[str, ...]) -> bool:
    return path[0] == "ann" or (path[0] == "ranking" and len(path) == 2 and path[1] in SERVED)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/tmp/bench-index"))
    ap.add_argument("--questions", type=Path, nargs="+", default=[EVAL / "dev.jsonl"])
    ap.add_argument("--validation-only", action="store_true", help="measure on training/'s validation split only")
    ap.add_argument("--set", dest="sets", action="append", required=True, help="PATH=V1,V2,... (repeatable)")
    args = ap.parse_args()
    grid = [parse_set(s) for s in args.sets]
    questions = [] if args.validation_only else args.questions
    if not (args.index / "CURRENT").is_file() or not all(q.is_file() for q in questions):
        print(f"skipped: need a built index at {args.index} and {', '.join(map(str, questions))}")
        return 0
    searcher = Searcher(args.index)
    sets = {q.name: load_questions(q) for q in questions}
    unanswerable: list[str] = []
    if args.validation_only:
        sets["validation"], unanswerable = validation_split(TRAINING)
    base = Settings(ranking=searcher.settings, ann=searcher.ann_settings)
    print("shipped settings:")
    for line in base.describe():
        print("  " + line)
    print()
    names = [".".join(p) for p, _ in grid]
    header = " ".join(f"{n:>20}" for n in names) + "".join(f" | {s:>28}" for s in sets)
    print(header + (" | unanswerable emptied" if unanswerable else ""))
    print(" " * (21 * len(names)) + "".join(f" | {'hit@1  hit@5 hit@10 MRR@10':>28}" for _ in sets))
    rebuild = any(needs_new_snapshot(p) for p, _ in grid)
    for combo in itertools.product(*(values for _, values in grid)):
        tree = base
        for (path, _), value in zip(grid, combo):
            tree = with_value(tree, path, value)
        searcher.settings, searcher.ann_settings = tree.ranking, tree.ann
        if rebuild:
            searcher._served = Snapshot.of(searcher.generation, tree.ranking, tree.ann)
        cells = []
        for qs in sets.values():
            s = evaluate(searcher, qs, k=10).summary()
            cells.append(f"{s['hit@1']:.3f}  {s['hit@5']:.3f}  {s['hit@10']:.3f}  {s['mrr@10']:.3f}")
        if unanswerable:
            cells.append(f"{int(evaluate_unanswerable(searcher, unanswerable, k=10).summary()['abstained'])}/{len(unanswerable)}")
        print(" ".join(f"{v!s:>20}" for v in combo) + "".join(f" | {c:>28}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
