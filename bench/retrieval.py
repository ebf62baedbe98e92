"""Retrieval quality and speed of every ranking configuration, side by side, in one run.

    python bench/retrieval.py --index /work/fullidx [--tuned-index /work/fullidx-tuned] [--questions ...] [--misses]

`--index` was built with the wheel's all-MiniLM-L6-v2, `--tuned-index` (optional) with the
fine-tuned embedder that training shipped (assistant/models/). Sets: ../shared/eval/dev.jsonl,
everyday.jsonl, unanswerable.txt, and the validation split of training/ (answerable and
unanswerable). Configurations:

  bm25, dense              one signal alone (base index)
  fused                    today's hybrid: dense + BM25, penalties, the hand-fitted floor
  fused+rerank             the same candidates re-ranked by the cross-encoder, its abstention
  tuned fused              the fine-tuned embedder's index, retriever alone
  tuned fused, floor       the same, the floor alone deciding abstention, where the
                           answerability model ships (search/answerable.py)
  tuned fused+answerable   the same, the answerability model deciding abstention (what ships)
  tuned fused+rerank       the fine-tuned embedder's index, re-ranked (what ships when both ship)

For each: hit@1, hit@5, MRR@10, unanswerable questions shown nothing, answerable questions
that lost a top-5 answer to abstention (against the same index's retriever without any
floor), and per-question latency p50/p95 (k=10, warm, models loaded); then serving RSS.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.search.evaluate import Question, abstention, answers, load_questions, load_unanswerable  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
TRAINING = ROOT / "training"


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class QSet:
    name: str
    answerable: list[Question] = field(default_factory=list)
    unanswerable: list[str] = field(default_factory=list)


def question_sets(paths: list[Path]) -> list[QSet]:
    out = []
    for p in paths:
        if not p.is_file():
            continue
        if p.suffix == ".txt":
            out.append(QSet(p.name, unanswerable=load_unanswerable(p)))
        else:
            out.append(QSet(p.name, answerable=load_questions(p)))
    if (TRAINING / "split.json").is_file():
        from assistant.learn.questions import validation_split

        out.append(QSet("validation split", *validation_split(TRAINING)))
    return out


@dataclass
class Scores:
    ranks: dict[str, int | None] = field(default_factory=dict)
    abstained: dict[str, bool] = field(default_factory=dict)
    emptied: int = 0
    unanswerable: int = 0
    ms: list[float] = field(default_factory=list)


def run_config(searcher, mode: str, qset: QSet, k: int = 10) -> Scores:
    sc = Scores()
    for q in qset.answerable:
        t = time.perf_counter()
        a = searcher.ask(q.question, k=k, mode=mode)
        sc.ms.append((time.perf_counter() - t) * 1000)
        sc.ranks[q.id] = next((h.rank for h in a.hits if answers(q, h.source, h.text)), None)
        sc.abstained[q.id] = bool(abstention(a))
    for u in qset.unanswerable:
        t = time.perf_counter()
        a = searcher.ask(u, k=k, mode=mode)
        sc.ms.append((time.perf_counter() - t) * 1000)
        sc.emptied += bool(abstention(a))
        sc.unanswerable += 1
    return sc


def top5_without_floor(searcher, qset: QSet) -> dict[str, bool]:
    """Whether the retriever alone, with no floor or abstention, has an answer in its top 5."""
    out = {}
    for q in qset.answerable:
        c = searcher.candidates(searcher.understand(q.question), 5)
        out[q.id] = any(answers(q, src, txt.split("\n", 1)[-1]) for src, txt in zip(c.sources, c.texts))
    return out


def row(name: str, sc: Scores, reach: dict[str, bool], ids: list[str] | None = None) -> str:
    ids = list(sc.ranks) if ids is None else ids
    n = max(1, len(ids))
    r = [sc.ranks[i] for i in ids]
    h1 = sum(1 for x in r if x and x <= 1) / n
    h5 = sum(1 for x in r if x and x <= 5) / n
    mrr = sum(1 / x for x in r if x and x <= 10) / n
    lost = sum(1 for i in ids if sc.abstained[i] and reach.get(i))
    empt = f"{sc.emptied}/{sc.unanswerable}" if sc.unanswerable else "-"
    return f"{name:<22} {h1:>6.3f} {h5:>6.3f} {mrr:>7.3f} {empt:>9} {lost:>5}/{len(ids):<4}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/tmp/bench-index"))
    ap.add_argument("--tuned-index", type=Path, default=None)
    ap.add_argument("--questions", type=Path, nargs="+", default=[EVAL / "dev.jsonl", EVAL / "everyday.jsonl", EVAL / "unanswerable.txt"])
    args = ap.parse_args()
    sets = question_sets(args.questions)
    if not sets or not (args.index / "CURRENT").is_file():
        print(f"skipped: need question files and a built index at {args.index}")
        return 0
    from assistant.index.embed import load_embedder
    from assistant.search.rerank import load_reranker
    from assistant.search.searcher import Searcher

    t0 = time.perf_counter()
    reranker = load_reranker()
    base = Searcher(args.index, embedder=load_embedder(cache_dir=args.index / "models", model="base"), reranker=reranker)
    configs = [("bm25", base, "bm25"), ("dense", base, "dense"), ("fused", base, "fused")]
    if reranker is not None:
        configs.append(("fused+rerank", base, "hybrid"))
    tuned = None
    if args.tuned_index and (args.tuned_index / "CURRENT").is_file():
        tuned = Searcher(args.tuned_index, embedder=load_embedder(), reranker=reranker)
        if tuned.answerability is not None:
            # The same index and snapshot, the floor alone deciding abstention (as before the model shipped).
            floor_only = copy.copy(tuned)
            floor_only.answerability = None
            configs.append(("tuned fused, floor", floor_only, "fused"))
            configs.append(("tuned fused+answerable", tuned, "fused"))
        else:
            configs.append(("tuned fused", tuned, "fused"))
        if reranker is not None:
            configs.append(("tuned fused+rerank", tuned, "hybrid"))
    print(
        f"load: {time.perf_counter() - t0:.1f} s, {len(base.generation.chunks)} passages; re-ranker: {reranker.card if reranker else 'none shipped'}"
    )
    lat: dict[str, list[float]] = {}
    summary = {}
    for qs in sets:
        reach = {id(s): top5_without_floor(s, qs) for s in {id(c[1]): c[1] for c in configs}.values()}
        print(f"=== {qs.name} ({len(qs.answerable)} answerable, {len(qs.unanswerable)} unanswerable)")
        print(f"{'config':<22} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7} {'no passage':>9} {'lost top-5':>10}")
        types = sorted({q.type for q in qs.answerable})
        for name, s, mode in configs:
            sc = run_config(s, mode, qs)
            lat.setdefault(name, []).extend(sc.ms)
            print(row(name, sc, reach[id(s)]))
            for t in types if len(types) > 1 else ():
                print("  " + row(t, sc, reach[id(s)], [q.id for q in qs.answerable if q.type == t]))
            summary[(qs.name, name)] = sc
    print("=== latency per question (k=10, models loaded; all sets)")
    for name, ms in lat.items():
        a = np.array(ms)
        print(f"{name:<22} p50 {np.percentile(a, 50):7.1f} ms   p95 {np.percentile(a, 95):7.1f} ms")
    print(
        f"serving RSS: {rss_mb():.0f} MB (peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB) with every searcher above loaded"
    )
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "retrieval.json").write_text(
        json.dumps(
            {f"{a} | {b}": {"ranks": sc.ranks, "emptied": sc.emptied, "unanswerable": sc.unanswerable} for (a, b), sc in summary.items()}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
