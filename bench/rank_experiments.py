"""Ranking experiments for issue 10 on today's Searcher, without editing it.

    python bench/rank_experiments.py --index /work/fullidx [--only NAME ...]

Each question's pieces (filters, rows, dense and BM25 scores, masks) are taken
once as `Searcher.ask` computes them; every variant is then a change to
how they are combined, scored on dev.jsonl and everyday.jsonl (hit@5, MRR@10,
per type). The first row must reproduce the shipped ranking's figures.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index import keywords  # noqa: E402
from assistant.index.chunking import split_sentences  # noqa: E402
from assistant.language.glossary import Glossary, mine_acronyms  # noqa: E402
from assistant.search.evaluate import answers, load_questions  # noqa: E402
from assistant.search.searcher import Searcher, _near_month, apply_floor, fuse, penalise  # noqa: E402
from assistant.settings import RankingSettings  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"


@dataclass
class Pieces:
    qid: str
    qtype: str
    rows: np.ndarray
    dense: np.ndarray
    bm: np.ndarray
    bm_added: np.ndarray  # BM25 of the glossary's added phrases only
    dense_expanded: np.ndarray  # cosine with the question + added phrases
    intent: str
    wants_actions: bool
    month: int | None
    terms: list[str]
    added: tuple[str, ...]
    good: np.ndarray  # bool per row: this passage answers
    extra: dict = field(default_factory=dict)


def pieces(searcher, q, glossary: Glossary) -> Pieces:
    s = searcher._served
    query = searcher.understand(q.question)
    f, _ = searcher._scope(s, query)
    rows = np.flatnonzero(searcher._report_mask(s, f)[s.report_of])
    dense, bm, terms = searcher._signals(s, query, rows)
    qtext = query.search_text
    exp = glossary.expand(qtext)
    added_terms = keywords.terms(" ".join(exp.phrases)) if exp.added else []
    bm_added = s.gen.bm25.scores(added_terms)[rows] if added_terms else np.zeros(len(rows), np.float32)
    if exp.added:
        qv2 = searcher.embedder.encode([exp.query()])[0]
        dense2 = s.vectors[rows] @ qv2
    else:
        dense2 = dense
    good = np.array([s.gen.reports[int(s.report_of[r])].path == q.file and answers(q, q.file, s.gen.chunks[r].text) for r in rows], bool)
    p = Pieces(q.id, q.type, rows, dense, bm, bm_added, dense2, query.intent, query.wants_actions, query.month, terms, exp.phrases, good)
    p.extra["query"] = query
    return p


@dataclass(frozen=True)
class Variant:
    name: str
    bm25_weight: float = RankingSettings().bm25_weight
    added_weight: float = 0.0  # weight of the glossary phrases' BM25, relative to the question's
    dense_expanded: float = 0.0  # share of the dense score from the expanded question
    sentence_weight: float = 0.0  # best sentence's idf-weighted coverage of the question terms
    local_idf_weight: float = 0.0  # BM25 with idf taken within the candidate's own report
    proximity_weight: float = 0.0  # shortest window holding the most distinct query terms
    numbered_boost: float = 0.0  # added to numbered body paragraphs (the reports' judgement sections)
    floor: bool = True


def _idf(s) -> dict[str, float]:
    bm = s.gen.bm25
    n = bm.num_docs
    out = {}
    for w in bm.vocabulary():
        if df := bm.df(w):
            out[w] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return out


def sentence_score(text: str, qterms: list[str], idf: dict[str, float]) -> float:
    """Best sentence's share of the question's idf mass (0..1)."""
    total = sum(idf.get(t, 0.0) for t in set(qterms)) or 1.0
    best = 0.0
    for sent in split_sentences(text):
        ts = keywords.term_set(sent)
        best = max(best, sum(idf.get(t, 0.0) for t in set(qterms) if t in ts) / total)
    return best


def proximity(text: str, qterms: list[str]) -> float:
    """1 / (1 + words spanned by the tightest window holding every matched distinct term), scaled by matches."""
    stop = keywords._stopwords()
    words = [w for w in keywords._WORD.findall(text.lower()) if w not in stop]
    st = keywords._stemmer().stemWords(words)
    want = set(qterms)
    pos = [(i, t) for i, t in enumerate(st) if t in want]
    distinct = {t for _, t in pos}
    if len(distinct) < 2:
        return 0.0
    need, have, best, j = len(distinct), defaultdict(int), len(st), 0
    for _i, (p, t) in enumerate(pos):
        have[t] += 1
        while len(have) == need:
            best = min(best, p - pos[j][0] + 1)
            tj = pos[j][1]
            have[tj] -= 1
            if not have[tj]:
                del have[tj]
            j += 1
    return (len(distinct) / max(1, len(want))) / (1 + best / 10)


def score(searcher, p: Pieces, v: Variant, cache: dict) -> np.ndarray:
    s = searcher._served
    st = replace(searcher.settings, bm25_weight=v.bm25_weight)
    rows = p.rows
    query = p.extra["query"]
    dense = (1 - v.dense_expanded) * p.dense + v.dense_expanded * p.dense_expanded
    bm = p.bm + v.added_weight * p.bm_added
    sc = fuse(dense, bm, st)
    sc = penalise(sc, s.masks.take(rows), query, _near_month(s, rows, p.month, st.month_window), st)
    if v.numbered_boost and not p.intent:
        if "numbered" not in cache:
            cache["numbered"] = np.array([c.number is not None for c in s.gen.chunks], bool)
        sc = sc + v.numbered_boost * cache["numbered"][rows]
    if v.floor and not p.intent:
        sc = apply_floor(sc, p.dense, p.bm, st)
    if (v.sentence_weight or v.proximity_weight or v.local_idf_weight) and not p.intent:
        # Re-rank the top 30 only: what a query-time step could afford.
        top = np.argsort(-sc, kind="stable")[:30]
        top = top[np.isfinite(sc[top])]
        qterms = p.terms + (keywords.terms(" ".join(p.added)) if v.added_weight and p.added else [])
        for j in top:
            text = s.gen.chunks[int(rows[j])].text
            bonus = 0.0
            if v.sentence_weight:
                bonus += v.sentence_weight * sentence_score(text, qterms, cache["idf"])
            if v.proximity_weight:
                bonus += v.proximity_weight * proximity(text, qterms)
            if v.local_idf_weight:
                if "local" not in p.extra:
                    p.extra["local"] = _local(searcher, p, cache)
                bonus += v.local_idf_weight * p.extra["local"][j]
            sc[j] += bonus
    return sc


def _local(searcher, p: Pieces, cache) -> np.ndarray:
    """Per row: the question terms' distinctiveness within the passage's own report
    (sum over matched terms of log(n_report / df_in_report)), normalised to the rows' max."""
    s = searcher._served
    out = np.zeros(len(p.rows), np.float32)
    qset = set(p.terms)
    by_report = defaultdict(list)
    for j, r in enumerate(p.rows):
        by_report[int(s.report_of[r])].append(j)
    for _rep, js in by_report.items():
        sets = [keywords.term_set(s.gen.chunks[int(p.rows[j])].text) & qset for j in js]
        df = defaultdict(int)
        for st in sets:
            for t in st:
                df[t] += 1
        n = len(js)
        for j, st in zip(js, sets, strict=False):
            out[j] = sum(math.log((n + 1) / (df[t] + 0.5)) for t in st)
    m = out.max() if len(out) else 0
    return out / m if m > 0 else out


def metrics(ranks: dict[str, int | None], ids) -> tuple[float, float]:
    r = [ranks[i] for i in ids]
    n = max(1, len(r))
    return sum(1 for x in r if x and x <= 5) / n, sum(1 / x for x in r if x and x <= 10) / n


def rank_of(sc: np.ndarray, good: np.ndarray) -> int | None:
    order = np.argsort(-sc, kind="stable")[:10]
    for k, j in enumerate(order, 1):
        if not math.isfinite(float(sc[j])):
            return None
        if good[j]:
            return k
    return None


VARIANTS = [
    Variant("shipped (reproduced)"),
    Variant("glossary in BM25 (added phrases x1.0)", added_weight=1.0),
    Variant("glossary in BM25 x0.5", added_weight=0.5),
    Variant("glossary in BM25 x0.25", added_weight=0.25),
    Variant("glossary in dense (expanded question, 50 %)", dense_expanded=0.5),
    Variant("glossary in dense (expanded question only)", dense_expanded=1.0),
    Variant("glossary BM25 x0.5 + dense 50 %", added_weight=0.5, dense_expanded=0.5),
    Variant("sentence evidence +0.1", sentence_weight=0.1),
    Variant("sentence evidence +0.2", sentence_weight=0.2),
    Variant("proximity +0.1", proximity_weight=0.1),
    Variant("proximity +0.2", proximity_weight=0.2),
    Variant("within-report distinctive terms +0.05", local_idf_weight=0.05),
    Variant("within-report distinctive terms +0.1", local_idf_weight=0.1),
    Variant("numbered paragraphs +0.05", numbered_boost=0.05),
    Variant("numbered paragraphs +0.1", numbered_boost=0.1),
    Variant("numbered +0.1, glossary BM25 x0.25", numbered_boost=0.1, added_weight=0.25),
    Variant("numbered +0.1, BM25 weight 0.25", numbered_boost=0.1, bm25_weight=0.25),
    Variant("numbered +0.1, glossary BM25 x0.25, BM25 weight 0.25", numbered_boost=0.1, added_weight=0.25, bm25_weight=0.25),
    Variant("numbered +0.1, glossary BM25 x0.5, BM25 weight 0.25", numbered_boost=0.1, added_weight=0.5, bm25_weight=0.25),
    Variant("numbered +0.1, proximity +0.1", numbered_boost=0.1, proximity_weight=0.1),
    Variant("numbered +0.2", numbered_boost=0.2),
    Variant("BM25 weight 0.5", bm25_weight=0.5),
    Variant("BM25 weight 0.25", bm25_weight=0.25),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/work/fullidx"))
    ap.add_argument("--only", nargs="*", default=None, help="variant name prefixes")
    ap.add_argument("--mine", action="store_true", help="add acronyms mined from the index's passages to the glossary")
    args = ap.parse_args()
    searcher = Searcher(args.index)
    s = searcher._served
    t0 = time.perf_counter()
    mined = mine_acronyms(c.text for c in s.gen.chunks) if args.mine else []
    print(f"mined {len(mined)} acronyms from {len(s.gen.chunks)} passages in {time.perf_counter() - t0:.2f} s")
    glossary = Glossary.build(mined)
    sets = {name: load_questions(EVAL / name) for name in ("dev.jsonl", "everyday.jsonl")}
    allp = {name: [pieces(searcher, q, glossary) for q in qs] for name, qs in sets.items()}
    cache = {"idf": _idf(s)}
    variants = [v for v in VARIANTS if not args.only or any(v.name.startswith(o) for o in args.only)]
    print(f"{'variant':<48}{'dev h@5/MRR':>16}{'hand h@5/MRR':>16}{'every h@5/MRR':>16}{'para h@5/MRR':>16}{'ms/q':>7}")
    for v in variants:
        cells = []
        t = time.perf_counter()
        nq = 0
        for name, ps in allp.items():
            ranks = {p.qid: rank_of(score(searcher, p, v, cache), p.good) for p in ps}
            nq += len(ps)
            ids = [p.qid for p in ps]
            cells.append(metrics(ranks, ids))
            if name == "dev.jsonl":
                cells.append(metrics(ranks, [p.qid for p in ps if p.qtype not in ("lead-inspector", "overall-grade")]))
            else:
                cells.append(metrics(ranks, [p.qid for p in ps if p.qtype == "paraphrase"]))
        ms = (time.perf_counter() - t) * 1000 / nq
        print(f"{v.name:<48}" + "".join(f"{a:.3f} / {b:.3f}".rjust(16) for a, b in cells) + f"{ms:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
