"""`python -m assistant index|ask|eval|inspect|fetch|log|train`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from .settings import DEFAULT_CORPUS, DEFAULT_INDEX, DEFAULT_K, FetchSettings, clamp_k


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
    from .admin import audit
    from .index.build import Busy, build_index

    if getattr(args, "watch", False) and getattr(args, "ray", None) is not None:
        print("error: --watch and --ray cannot be combined", file=sys.stderr)
        return 2
    if getattr(args, "watch", False):
        from .admin.watch import watch_cli

        return watch_cli(args.corpus, args.index, workers=args.workers, rebuild=args.rebuild)
    try:
        if getattr(args, "ray", None) is not None:
            from .index.cluster import RayMissing, build_index_on_ray

            try:
                summary = build_index_on_ray(args.corpus, args.index, address=args.ray or None, rebuild=args.rebuild, progress=_progress_bar())
            except RayMissing as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        else:
            summary = build_index(args.corpus, args.index, rebuild=args.rebuild, workers=args.workers, progress=_progress_bar())
    except Busy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    for line in summary.lines():
        print(line)
    audit.record_build(args.index, args.corpus, audit.COMMAND_LINE, summary)
    return 0


def cmd_fetch(args) -> int:
    from .admin import audit, download, manifest

    try:
        entries, bad = manifest.read_manifest(args.manifest)
    except manifest.ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    opts = FetchSettings(
        workers=args.workers,
        rate=args.rate,
        timeout=args.timeout,
        retries=args.retries,
        max_bytes=int(args.max_mb * manifest.MB),
        allow_hosts=tuple(args.allow_host or ()),
    )
    summary = download.fetch(entries, args.corpus, opts, progress=_progress_bar(), refused=bad)
    manifest.merge_manifest(args.corpus, entries, summary)
    for line in summary.lines():
        print(line)
    audit.record(args.index, audit.COMMAND_LINE, audit.FETCH, download.file_refs(summary), download.outcome_text(summary))
    if not args.no_index and cmd_index(argparse.Namespace(corpus=args.corpus, index=args.index, rebuild=False, workers=2)) == 3:
        return 3
    return 1 if summary.of(manifest.FAILED) else 0


def cmd_log(args) -> int:
    from .admin import audit

    records = audit.read(args.index, args.n)
    for r in records:
        print(json.dumps(r.to_json(), ensure_ascii=False) if args.json else r.line())
        if not args.json:
            for f in r.files:
                print(f"    {f.path}  {f.sha256[:16] or '-'}  {f.note}".rstrip())
    if not records and not args.json:
        print(f"no changes recorded in {audit.log_path(args.index)}", file=sys.stderr)
    return 0


def cmd_inspect(args) -> int:
    from .reports.ingest import IngestError, ingest_one

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
        ("title", m.title),
        ("local authority", m.local_authority),
        ("inspection dates", m.inspection_dates),
        ("published", m.published),
        ("lead inspector", m.lead_inspector),
        ("overall", m.overall),
        ("source", m.source_url),
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


def _open_searcher(index: Path):
    """The searcher over `index`, or None after saying why on stderr; warns when a
    damaged generation was passed over (and the audit log records it)."""
    from .admin import audit
    from .index.disk import IndexLoadError
    from .search.rerank import load_reranker
    from .search.searcher import Searcher

    try:
        searcher = Searcher(index, reranker=load_reranker())
    except IndexLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    for line in audit.check_fallback(index, searcher.generation.name, searcher.warnings, audit.COMMAND_LINE):
        print(f"warning: {line}", file=sys.stderr)
    return searcher


def cmd_ask(args) -> int:
    from .search.query import Filters

    searcher = _open_searcher(args.index)
    if searcher is None:
        return 2
    explicit = None
    if args.authority or args.year_from or args.year_to:
        from .search.authorities import norm_name

        explicit = Filters(tuple(norm_name(a) for a in args.authority or ()), args.year_from, args.year_to)
    questions = sys.stdin if args.question == "-" else [args.question]
    as_json = args.json or args.question == "-"
    for q in questions:
        q = q.strip()
        if not q:
            continue
        if args.across:
            from .search.themes import across, as_text

            try:
                a = across(searcher, q, explicit, tuple(args.grade or ()), args.per_report)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(json.dumps(a.to_json(), ensure_ascii=False) if as_json else as_text(a), flush=True)
            continue
        answer = searcher.ask(q, k=clamp_k(args.k), filters=explicit)
        if as_json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            from .app.render import answer_text

            print(answer_text(answer))
    return 0


def cmd_eval(args) -> int:
    from .search.evaluate import run_file

    searcher = _open_searcher(args.index)
    if searcher is None:
        return 2
    run_file(searcher, args.questions, sys.stdout, k=args.k, mode=args.mode)
    return 0


def cmd_train(args) -> int:
    from .index.shipped import MODELS_DIR
    from .learn.pipeline import Paths, TrainSettings, answerability_only, passages_only, run, tiny

    paths = Paths(args.training, args.corpus, args.eval if args.eval and args.eval.is_dir() else None, args.work, args.out or MODELS_DIR)
    if not (args.training / "split.json").is_file():
        print(f"error: {args.training} holds no question set (split.json missing); see training/README.md", file=sys.stderr)
        return 2
    if not args.corpus.is_dir():
        print(f"error: corpus folder {args.corpus} not found: training reads the reports the questions are about", file=sys.stderr)
        return 2
    if args.passages_only:
        path = passages_only(paths)
        print(f"passages written to {path}")
        return 0
    st = tiny() if args.tiny else TrainSettings()
    if args.answerability_only:
        report = answerability_only(paths, st)
        print(json.dumps({"seconds": report.seconds, "validation": report.validation}, indent=2))
        return 0
    if args.no_bi:
        st = replace(st, train_bi=False)
    report = run(paths, st)
    print(
        json.dumps({"questions": report.questions, "seconds": report.seconds, "validation": report.validation, "shipped": report.shipped}, indent=2)
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant", description="Quote Ofsted reports that answer a question.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("index", help="build or update the index from a corpus folder")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--rebuild", action="store_true", help="ignore the current index and build from scratch")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--watch", action="store_true", help="then keep watching the corpus folder and re-index after each change")
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="parse, chunk and embed new files as Ray tasks on the cluster at ADDRESS (default: a local Ray instance)",
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("fetch", help="download the reports a manifest lists into the corpus, then index them")
    p.add_argument("manifest", type=Path, help="CSV with columns path, source_url (and local_authority, publication_date)")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--no-index", action="store_true", help="download only")
    p.add_argument("--workers", type=int, default=4, help="parallel downloads (default 4)")
    p.add_argument("--rate", type=float, default=2.0, help="most requests started per second (default 2; 0: no limit)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a connection or data (default 30)")
    p.add_argument("--retries", type=int, default=4, help="retries on timeouts and server errors (default 4)")
    p.add_argument("--max-mb", type=float, default=50, help="refuse files over this size (default 50, the upload limit)")
    p.add_argument("--allow-host", action="append", help="a host links may redirect to (repeatable)")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("log", help="the audit log of changes to the library, newest first")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("-n", type=int, default=None, help="only the newest N records")
    p.add_argument("--json", action="store_true", help="JSON lines")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("ask", help="retrieve passages answering QUESTION ('-': one per line on stdin, JSON lines out)")
    p.add_argument("question")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("-k", type=int, default=DEFAULT_K)
    p.add_argument("--authority", action="append", help="restrict to this local authority (repeatable)")
    p.add_argument("--from", dest="year_from", type=int)
    p.add_argument("--to", dest="year_to", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--across", action="store_true", help="across all reports: the best passage of each report that discusses it")
    p.add_argument("--grade", action="append", help="with --across: only passages under a judgement of this grade (repeatable)")
    p.add_argument("--per-report", type=int, default=1, help="with --across: passages per report (default 1)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="hit@k and MRR@10 on a questions file")
    p.add_argument("questions", type=Path)
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("-k", type=int, default=10)
    p.add_argument(
        "--mode",
        choices=["hybrid", "fused", "dense", "bm25"],
        default="hybrid",
        help="hybrid: as served (re-ranked where a re-ranker ships); fused: the retriever alone; dense, bm25: one signal",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("inspect", help="show what a report file turns into")
    p.add_argument("file", type=Path)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder (for manifest.csv)")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("train", help="train the re-ranker and the embedder on training/ and write the shipped models")
    p.add_argument("--training", type=Path, default=Path("training"), help="the question set (default: training)")
    p.add_argument("--corpus", type=Path, default=Path("../shared/corpus/ofsted-ilacs"), help="the reports the questions are about")
    p.add_argument("--eval", type=Path, default=Path("../shared/eval"), help="train_reports.txt and the eval gold snippets to keep out")
    p.add_argument("--work", type=Path, default=Path("training/.cache/train"), help="scratch folder (indexes, checkpoints)")
    p.add_argument("--out", type=Path, default=None, help="where the int8 models and models.json go (default: assistant/models)")
    p.add_argument("--no-bi", action="store_true", help="train the re-ranker only; keep the shipped embedder choice")
    p.add_argument("--tiny", action="store_true", help="the whole recipe on one layer and a few steps (tests)")
    p.add_argument(
        "--answerability-only",
        action="store_true",
        help="train only the answerability model, for the embedder that ships (about 5 minutes; every other model kept)",
    )
    p.add_argument("--passages-only", action="store_true", help="only write training/.cache/passages.jsonl (for training/check.py)")
    p.set_defaults(func=cmd_train)

    args = ap.parse_args(argv)
    return args.func(args)
