"""Short keyword queries (authority + topic in 2-5 words): on topic, from that authority, never empty.

    python bench/keywords.py --index /work/fullidx [--tuned-index /work/fullidx-tuned] [--show]

Each query of bench/keyword_queries.tsv names an authority (in any form people type: "Bucks",
"Herts", "lancs") and a topic, with the words that mark a passage as on that topic (written
with the query, by reading what the reports call it). A query passes when the answer is not
empty and its first passage is from that authority and on the topic; the share of the top 5
that are both is printed beside it. Judged by words, so `--show` prints every first passage
for checking by reading.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.search.authorities import authority_key
from assistant.search.searcher import Searcher

QUERIES = ROOT / "bench" / "keyword_queries.tsv"


@dataclass(frozen=True)
class KeywordQuery:
    text: str
    authority: str  # library key
    topic: tuple[str, ...]  # lower-case words or stems, any of which marks the topic


def load(path: Path) -> list[KeywordQuery]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, authority, topic = line.split("\t")
        out.append(KeywordQuery(text, authority, tuple(t.strip().lower() for t in topic.split("|"))))
    return out


def judged(searcher: Searcher, q: KeywordQuery) -> tuple[bool, float, str]:
    """(first passage from the authority and on topic, share of the top 5 that are, first passage)."""
    a = searcher.ask(q.text, k=5)
    good = [authority_key(h.source, h.local_authority) == q.authority and any(t in h.text.lower() for t in q.topic) for h in a.hits]
    first = f"{a.hits[0].local_authority} {a.hits[0].published} p{a.hits[0].page}: {a.hits[0].text[:160]}" if a.hits else "(nothing)"
    return bool(good and good[0]), sum(good) / 5, first


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--tuned-index", type=Path)
    ap.add_argument("--queries", type=Path, default=QUERIES)
    ap.add_argument("--show", action="store_true", help="print each query's first passage")
    args = ap.parse_args()
    queries = load(args.queries)
    configs = [("today (wheel's embedder)", args.index, "base")] + (
        [("fine-tuned embedder", args.tuned_index, "shipped")] if args.tuned_index else []
    )
    for name, index, model in configs:
        from assistant.index import embed

        searcher = Searcher(index, embedder=embed.load_embedder(cache_dir=index / "models", model=model))
        passed, empty, share = 0, 0, 0.0
        for q in queries:
            ok, top5, first = judged(searcher, q)
            passed += ok
            empty += first == "(nothing)"
            share += top5
            if args.show:
                print(f"  {'ok ' if ok else 'NO '} {q.text!r:42} {top5:.1f}  {first}")
        n = len(queries)
        print(f"{name}: {passed}/{n} first passage on topic from that authority; top-5 share {share / n:.2f}; empty {empty}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
