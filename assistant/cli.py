"""`python -m assistant index|ask|eval|inspect`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")


def _progress_bar():
    """A tqdm bar per stage on a terminal; silence otherwise (logs, pipes)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        if total <= 0:
            if stage not in bars:
                print(stage, file=sys.stderr)
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="", leave=True, file=sys.stderr)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def cmd_index(args) -> int:
    from .indexer import Busy, build_index

    try:
        summary = build_index(args.corpus, args.index, rebuild=args.rebuild, workers=args.workers, progress=_progress_bar())
    except Busy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    for line in summary.lines():
        print(line)
    return 0


def cmd_inspect(args) -> int:
    from .ingest import IngestError, ingest_one

    path = args.file
    root = args.corpus if path.resolve().is_relative_to(args.corpus.resolve()) else path.parent
    try:
        report = ingest_one(path, root)
    except IngestError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    m = report.meta
    print(f"file:              {report.path}")
    print(f"sha256:            {report.sha256}")
    for label, value in [
        ("title", m.title), ("local authority", m.local_authority), ("inspection dates", m.inspection_dates),
        ("published", m.published), ("lead inspector", m.lead_inspector), ("overall", m.overall), ("source", m.source_url),
    ]:
        print(f"{label + ':':<19}{value or '-'}")
    for j in m.judgements:
        print(f"  judgement:       {j.area}: {j.grade}")
    print(f"pages: {len(report.pages)}  paragraphs: {len(report.paragraphs)}")
    print()
    for p in report.paragraphs:
        pages = "-".join(str(n) for n in (p.pages[0], p.pages[-1])) if len(p.pages) > 1 else str(p.pages[0])
        num = f"¶{p.number}" if p.number is not None else "¶-"
        print(f"[p{pages} {num} {p.kind}] {p.text}")
    return 0


def cmd_ask(args) -> int:
    from .query import Filters
    from .search import Searcher
    from .store import IndexError_

    try:
        searcher = Searcher(args.index)
    except IndexError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    explicit = None
    if args.authority or args.year_from or args.year_to:
        from .query import norm_name

        explicit = Filters(tuple(norm_name(a) for a in args.authority or ()), args.year_from, args.year_to)
    questions = sys.stdin if args.question == "-" else [args.question]
    as_json = args.json or args.question == "-"
    for q in questions:
        q = q.strip()
        if not q:
            continue
        answer = searcher.ask(q, k=args.k, filters=explicit)
        if as_json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            from .render import answer_text

            print(answer_text(answer))
    return 0


def cmd_eval(args) -> int:
    from .evaluate import evaluate, load_questions, print_report
    from .search import Searcher

    searcher = Searcher(args.index)
    result = evaluate(searcher, load_questions(args.questions), k=args.k, mode=args.mode)
    print_report(result, sys.stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant", description="Quote Ofsted reports that answer a question.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("index", help="build or update the index from a corpus folder")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--rebuild", action="store_true", help="ignore the current index and build from scratch")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="retrieve passages answering QUESTION ('-': one per line on stdin, JSON lines out)")
    p.add_argument("question")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--authority", action="append", help="restrict to this local authority (repeatable)")
    p.add_argument("--from", dest="year_from", type=int)
    p.add_argument("--to", dest="year_to", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="hit@k and MRR@10 on a questions file")
    p.add_argument("questions", type=Path)
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("inspect", help="show what a report file turns into")
    p.add_argument("file", type=Path)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder (for manifest.csv)")
    p.set_defaults(func=cmd_inspect)

    args = ap.parse_args(argv)
    return args.func(args)
