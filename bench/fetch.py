"""Fetch and watch benchmarks.

    python bench/fetch.py [--shared ../shared/corpus/ofsted-ilacs] [--paced 20] [--watch-runs 3]

1. The shared manifest's rows fetched from a local HTTP server on 127.0.0.1 that
   serves ../shared/corpus (each `source_url` pointed at it): time, throughput,
   files byte-identical, files refused by name; then a second run (target: nothing
   fetched, <= 5 s). Unpaced (`rate=0`), so the figure is our own overhead.
2. A paced run of the first N rows at the default polite rate, to show that the
   rate limit, not our code, sets the time of a real fetch: the ratio of its wall
   time to N / rate (1.0 = exactly paced).
3. Watch latency on the sample corpus: a report dropped into the watched folder
   until a question about it is answered from it (target <= 15 s), with the same
   run's direct incremental `build_index` of that report as the baseline.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.admin import download, manifest
from assistant.settings import FetchSettings
from tests.support import reportserver as rs

NN = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
NN_QUESTION = "North Northamptonshire: how well are care leavers supported?"


def local_manifest(shared: Path, base: str, files: rs.Files, out: Path) -> list[dict]:
    """The shared manifest with each link pointed at the local server, which serves the file."""
    with (shared / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        key = r["source_url"].rstrip("/").rsplit("/", 1)[-1]
        rs.add_file(files, key, shared / r["path"])
        r["source_url"] = f"{base}/files/{key}"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def bench_fetch(shared: Path, paced: int, tmp: Path) -> None:
    files = rs.Files()
    with rs.serve(files) as base:
        rows = local_manifest(shared, base, files, tmp / "manifest.csv")
        entries, bad = manifest.read_manifest(tmp / "manifest.csv")
        corpus = tmp / "corpus"
        opts = FetchSettings(rate=0, workers=4, timeout=30)
        t0 = time.perf_counter()
        first = download.fetch(entries, corpus, opts, refused=bad)
        t1 = time.perf_counter() - t0
        manifest.merge_manifest(corpus, entries, first)
        got = first.of(manifest.FETCHED)
        mb = sum(o.size for o in got) / manifest.MB
        identical = sum((corpus / o.path).read_bytes() == (shared / o.path).read_bytes() for o in got)
        refused = first.of(manifest.FAILED)
        print(f"manifest rows: {len(rows)}  (bad rows: {len(bad)})")
        print(
            f"first run: {len(got)} fetched ({mb:.1f} MB), {len(first.of(manifest.UNCHANGED))} unchanged, "
            f"{len(refused)} refused in {t1:.2f} s = {mb / t1:.1f} MB/s, {len(got) / t1:.0f} files/s (unpaced, 4 workers)"
        )
        print(f"byte-identical to ../shared: {identical}/{len(got)}")
        for o in refused:
            print(f"  refused: {o.path}: {o.reason}")
        requests_before = sum(files.requests.values())
        t0 = time.perf_counter()
        second = download.fetch(entries, corpus, opts, refused=bad)
        t2 = time.perf_counter() - t0
        print(
            f"second run: {len(second.of(manifest.FETCHED))} fetched, {len(second.of(manifest.UNCHANGED))} unchanged, "
            f"{len(second.of(manifest.FAILED))} refused in {t2:.2f} s (target <= 5 s); "
            f"{sum(files.requests.values()) - requests_before} requests (the {len(refused)} refused ones are tried again)"
        )
        if paced:
            paced_corpus = tmp / "paced"
            default = FetchSettings()
            t0 = time.perf_counter()
            download.fetch(entries[:paced], paced_corpus, default)
            tp = time.perf_counter() - t0
            print(
                f"paced run: {paced} files at the default {default.rate:g} requests/s in {tp:.2f} s; "
                f"ratio to {paced}/{default.rate:g} s = {tp / (paced / default.rate):.2f}"
            )
            est = len(rows) / default.rate
            print(
                f"full library at the default rate: >= {est / 60:.1f} min set by the rate limit "
                f"(+ transfer of {sum(o.size for o in got) / manifest.MB:.0f} MB at the link's speed)"
            )


def bench_watch(runs: int, tmp: Path) -> None:
    from corpora import copy_corpus

    from assistant.app.service import Service
    from assistant.index.build import build_index
    from assistant.index.embed import load_embedder
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings

    embedder = load_embedder(cache_dir=ROOT / "index" / "models")
    sample = ROOT / "corpus"
    corpus = copy_corpus(sample, tmp / "watch-corpus")
    dropped = tmp / "dropped.pdf"
    shutil.move(corpus / NN, dropped)
    # Baseline in the same run: the incremental build of the same one-report change, called directly.
    base_index = tmp / "baseline-index"
    build_index(corpus, base_index, embedder=embedder)
    shutil.copy(dropped, corpus / NN)
    t0 = time.perf_counter()
    build_index(corpus, base_index, embedder=embedder, workers=AppSettings().build_workers)  # as the app builds
    baseline = time.perf_counter() - t0
    (corpus / NN).unlink()

    index = tmp / "watch-index"
    build_index(corpus, index, embedder=embedder)
    service = Service(AppSettings(corpus=corpus, index=index), embedder, Searcher(index, embedder=embedder))
    watcher = service.admin.start_watch()
    assert watcher.ready.wait(30)
    s = service.searcher
    times = []
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            shutil.copy(dropped, corpus / NN)
            # Poll the served generation (cheap), not the question: asking in a tight loop would
            # take CPU from the build being measured.
            while NN not in {r.path for r in s.generation.reports}:
                assert time.perf_counter() - t0 < 120, "not indexed within 120 s"
                time.sleep(0.05)
            assert any(h.source == NN for h in s.ask(NN_QUESTION, k=3).hits)
            times.append(time.perf_counter() - t0)
            (corpus / NN).unlink()
            while NN in {r.path for r in s.generation.reports}:
                time.sleep(0.05)
            time.sleep(0.5)
    finally:
        watcher.stop()
    med = statistics.median(times)
    print(f"watch: dropped report answerable after {', '.join(f'{t:.1f}' for t in times)} s (median {med:.1f} s; target <= 15 s)")
    print(
        f"watch: baseline direct incremental build of the same report {baseline:.1f} s; "
        f"ratio {med / baseline:.2f} (the rest is the {watcher.quiet_ms / 1000:g} s quiet period and the reload)"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "corpus" / "ofsted-ilacs")
    ap.add_argument("--paced", type=int, default=20, help="files in the paced run (0: skip)")
    ap.add_argument("--watch-runs", type=int, default=3, help="drops in the watch latency run (0: skip)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as d:
        tmp = Path(d)
        if args.shared.is_dir():
            bench_fetch(args.shared, args.paced, tmp)
        else:
            print(f"skipped the fetch bench: {args.shared} is absent")
        if args.watch_runs:
            bench_watch(args.watch_runs, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
