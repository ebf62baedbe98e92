"""When should the assistant say "nothing in the reports matches"? Calibrated on questions.

    python bench/abstain.py --index /work/fullidx [--features /tmp/abstain.json]

For every question of dev.jsonl and everyday.jsonl (answerable) and
unanswerable.txt, takes the shipped ranking's signals (top fused score, top
cosine, top BM25, the best passage's share of the question's keyword weight,
score margins, how much of the question's keyword weight the corpus barely
knows) and the places the question names that the library holds no report for
(assistant/places.py). Then, for each candidate rule, picks its threshold on
training questions and scores it on held-out ones: leave-one-out over all
questions, and a fixed 50/50 split (seeded) as a second check. A rule's cost
is counted as answerable questions lost (a question whose answer was in the top
5 that the rule would empty) against unanswerable ones emptied.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index import keywords  # noqa: E402
from assistant.search.authorities import AuthorityTable  # noqa: E402
from assistant.search.evaluate import answers, load_questions, load_unanswerable  # noqa: E402
from assistant.search.places import find_places  # noqa: E402
from assistant.search.query import without_framing  # noqa: E402
from assistant.search.searcher import Searcher  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"


@dataclass
class Features:
    set: str
    qid: str
    answerable: bool
    hit5: bool  # answerable and answered in the top 5 by the shipped ranking
    places: list[str]  # places named with no report in the library
    scoped: bool  # an authority filter applied
    n_hits: int
    top: float  # best fused score (after penalties), -1 when nothing shown
    top_dense: float  # best cosine among rows in scope
    top_bm: float  # best raw BM25 among rows in scope
    cover: float  # the best shown passage's share of the question's idf mass (0..1)
    cover5: float  # best share among the top 5 shown
    unknown: float  # share of the question's idf mass in terms the corpus has in < 3 passages
    margin: float  # top minus fifth fused score
    absent: float = 0.0  # share of the question's idf mass in terms no passage in scope contains


def idf_table(s) -> tuple[dict[str, float], dict[str, int]]:
    bm = s.gen.bm25
    n = bm.num_docs
    idf, df = {}, {}
    for w in bm.vocabulary():
        if d := bm.df(w):
            df[w] = d
            idf[w] = math.log(1 + (n - d + 0.5) / (d + 0.5))
    return idf, df


def features(searcher, table: AuthorityTable, idf, df, setname: str, qid: str, text: str, gold=None) -> Features:
    s = searcher._served
    n = len(s.gen.chunks)
    query = searcher.understand(text)
    a = searcher.ask(text, k=10)
    f, _ = searcher._scope(s, query)
    rows = np.flatnonzero(searcher._report_mask(s, f)[s.report_of])
    if len(rows):
        sig = searcher._signals(s, query, rows)
        dense, bm, terms = sig.dense, sig.bm, sig.terms
    else:
        dense, bm, terms = np.zeros(1), np.zeros(1), keywords.terms(without_framing(query.search_text))
    uniq = set(terms)
    big = math.log(1 + (n + 0.5) / 0.5)
    mass = {t: idf.get(t, big) for t in uniq}
    total = sum(mass.values()) or 1.0

    def cover(t: str) -> float:
        ts = keywords.term_set(t)
        return sum(v for w, v in mass.items() if w in ts) / total

    covers = [cover(h.text) for h in a.hits[:5]]
    scores = [h.score for h in a.hits]
    absent = 0.0
    if len(rows):
        for w, v in mass.items():
            if not (s.gen.bm25.scores([w])[rows] > 0).any():
                absent += v / total
    hit5 = bool(gold and any(answers(gold, h.source, h.text) for h in a.hits[:5]))
    return Features(
        setname,
        qid,
        gold is not None,
        hit5,
        [p.label for p in find_places(text, table)],
        bool(query.filters.authorities),
        len(a.hits),
        scores[0] if scores else -1.0,
        float(dense.max()),
        float(bm.max()),
        covers[0] if covers else 0.0,
        max(covers) if covers else 0.0,
        sum(v for w, v in mass.items() if df.get(w, 0) < 3) / total,
        (scores[0] - scores[min(4, len(scores) - 1)]) if scores else 0.0,
        absent,
    )


# -- rules: a feature and a direction; the threshold is learned -------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    value: Callable[[Features], float]  # abstain when value < threshold
    places: bool = True  # also abstain when the question names a place with no report


RULES = [
    Rule("places only", lambda f: math.inf),
    Rule("top fused score", lambda f: f.top),
    Rule("top cosine", lambda f: f.top_dense),
    Rule("best passage's share of question keyword weight (top 1)", lambda f: f.cover),
    Rule("best share in top 5", lambda f: f.cover5),
    Rule("known-word share (1 - unknown)", lambda f: 1 - f.unknown),
    Rule("top cosine x known-word share", lambda f: f.top_dense * (1 - f.unknown)),
    Rule("top fused x known-word share", lambda f: f.top * (1 - f.unknown)),
    Rule("top cosine + 0.5 cover5", lambda f: f.top_dense + 0.5 * f.cover5),
    Rule("top cosine + 0.5 cover5 - unknown", lambda f: f.top_dense + 0.5 * f.cover5 - f.unknown),
    Rule("top fused + 0.5 cover5 - unknown", lambda f: f.top + 0.5 * f.cover5 - f.unknown),
    Rule("top fused - unknown", lambda f: f.top - f.unknown),
    Rule("top fused - 0.5 unknown", lambda f: f.top - 0.5 * f.unknown),
    Rule("top fused + top cosine - unknown", lambda f: f.top + f.top_dense - f.unknown),
    Rule("top fused x (1 - unknown)^2", lambda f: f.top * (1 - f.unknown) ** 2),
    Rule("present-in-scope share (1 - absent)", lambda f: 1 - f.absent),
    Rule("top fused - absent", lambda f: f.top - f.absent),
    Rule("top fused - 0.5 absent", lambda f: f.top - 0.5 * f.absent),
    Rule("top fused x (1 - absent)", lambda f: f.top * (1 - f.absent)),
]


def abstains(rule: Rule, f: Features, thr: float) -> bool:
    return (rule.places and bool(f.places)) or f.n_hits == 0 or rule.value(f) < thr


def fit(rule: Rule, train: list[Features], max_lost: float) -> float:
    """Highest threshold that empties at most `max_lost` of the training answerable
    questions answered in the top 5 (and so most unanswerable ones)."""
    vals = sorted({rule.value(f) for f in train if math.isfinite(rule.value(f))})
    cands = [-math.inf] + [(a + b) / 2 for a, b in zip(vals, vals[1:], strict=False)] + ([vals[-1] + 1e-6] if vals else [])
    good = [f for f in train if f.hit5]
    best = -math.inf
    for thr in cands:
        lost = sum(abstains(rule, f, thr) for f in good) / max(1, len(good))
        if lost <= max_lost:
            best = max(best, thr)
    return best


def evaluate_rule(rule: Rule, feats: list[Features], max_lost: float, split: str, seed: int = 0) -> dict:
    held: list[tuple[Features, float]] = []
    if split == "loo":
        for i, f in enumerate(feats):
            held.append((f, fit(rule, feats[:i] + feats[i + 1 :], max_lost)))
    else:
        rnd = random.Random(seed)
        idx = list(range(len(feats)))
        rnd.shuffle(idx)
        half = set(idx[: len(idx) // 2])
        a = [feats[i] for i in idx if i in half]
        b = [feats[i] for i in idx if i not in half]
        ta, tb = fit(rule, a, max_lost), fit(rule, b, max_lost)
        held = [(f, tb) for f in a] + [(f, ta) for f in b]
    un = [(f, t) for f, t in held if not f.answerable]
    good = [(f, t) for f, t in held if f.hit5]
    by_set = {}
    for name in ("dev.jsonl", "everyday.jsonl"):
        g = [(f, t) for f, t in good if f.set == name]
        by_set[name] = sum(abstains(rule, f, t) for f, t in g)
    return {
        "unanswerable emptied": sum(abstains(rule, f, t) for f, t in un),
        "n_un": len(un),
        "dev top-5 answers lost": by_set["dev.jsonl"],
        "everyday top-5 answers lost": by_set["everyday.jsonl"],
        "threshold (all data)": fit(rule, feats, max_lost),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/work/fullidx"))
    ap.add_argument("--features", type=Path, default=None, help="read/write the per-question features here")
    ap.add_argument("--max-lost", type=float, nargs="*", default=[0.0, 0.01])
    args = ap.parse_args()
    if args.features and args.features.is_file():
        feats = [Features(**d) for d in json.loads(args.features.read_text())]
    else:
        searcher = Searcher(args.index)
        # The features are the ranking's before it abstains: the rule is what is being fitted.
        searcher.settings = replace(searcher.settings, abstain_below=-math.inf)
        print("ranking settings:", *searcher.settings.describe(), sep="\n  ")
        s = searcher._served
        table = AuthorityTable.from_generation(s.gen)
        idf, df = idf_table(s)
        feats = []
        for name in ("dev.jsonl", "everyday.jsonl"):
            for q in load_questions(EVAL / name):
                feats.append(features(searcher, table, idf, df, name, q.id, q.question, q))
        for i, text in enumerate(load_unanswerable(EVAL / "unanswerable.txt")):
            feats.append(features(searcher, table, idf, df, "unanswerable.txt", f"u-{i + 1:03d}", text))
        if args.features:
            args.features.write_text(json.dumps([asdict(f) for f in feats]))
    print(
        f"questions: {sum(f.answerable for f in feats)} answerable ({sum(f.hit5 for f in feats)} answered in top 5), "
        f"{sum(not f.answerable for f in feats)} unanswerable"
    )
    print(
        f"places rule alone: unanswerable with a place named {sum(bool(f.places) for f in feats if not f.answerable)}, "
        f"answerable with a place named {sum(bool(f.places) for f in feats if f.answerable)}"
    )
    for f in feats:
        if f.answerable and f.places:
            print(f"  answerable question naming a place: {f.qid} {f.places}")
    for key in ("top", "top_dense", "cover", "cover5", "unknown", "absent"):
        un = [getattr(f, key) for f in feats if not f.answerable and not f.places]
        ok = [getattr(f, key) for f in feats if f.hit5]
        print(
            f"{key:<10} unanswerable (no place) min/median/max {min(un):.3f}/{np.median(un):.3f}/{max(un):.3f}   "
            f"answered-in-top-5 p1/p5/median {np.percentile(ok, 1):.3f}/{np.percentile(ok, 5):.3f}/{np.median(ok):.3f}"
        )
    for max_lost in args.max_lost:
        print(f"\n--- threshold chosen so at most {max_lost:.0%} of training top-5 answers are lost")
        print(f"{'rule':<58}{'LOO: un emptied':>16}{'dev lost':>9}{'every lost':>11}{'split: un':>10}{'dev':>5}{'every':>6}{'thr(all)':>10}")
        for rule in RULES:
            loo = evaluate_rule(rule, feats, max_lost, "loo")
            sp = evaluate_rule(rule, feats, max_lost, "split")
            print(
                f"{rule.name:<58}{loo['unanswerable emptied']:>12}/{loo['n_un']:<3}{loo['dev top-5 answers lost']:>9}"
                f"{loo['everyday top-5 answers lost']:>11}{sp['unanswerable emptied']:>10}{sp['dev top-5 answers lost']:>5}"
                f"{sp['everyday top-5 answers lost']:>6}{loo['threshold (all data)']:>10.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
