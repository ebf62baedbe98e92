"""What a replica pays to serve a new generation: loading it, stage by stage.

    nice python bench/load.py [--index /work/fullidx /work/fullidx6] [--reps 3] [--profile]

Per index folder and repetition (each a fresh load of CURRENT, as
`Searcher.reload` does): `check_generation` (read every file, SHA-256 against
the manifest, parse the reports), `Checked.load` (passages, FAISS, bm25s) and
`search.searcher.Snapshot.of` (the serving arrays: masks, authorities, glossary). Prints
each stage and the total, wall and CPU time (median and max over the
repetitions; CPU time is this process's own work, steadier on shared cores);
`--profile` also prints the top of a cProfile (CPU time) of one load. Figures: bench/RESULTS.md,
"Scale (issue 13)".
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index.read import check_generation  # noqa: E402
from assistant.search.searcher import Snapshot  # noqa: E402
from assistant.settings import RankingSettings  # noqa: E402


def load_once(index: Path) -> dict[str, tuple[float, float]]:
    """Each stage's (wall, CPU) seconds: CPU time is what this process did, whatever else runs."""
    marks = [(time.perf_counter(), time.process_time())]
    checked = check_generation(index)
    marks.append((time.perf_counter(), time.process_time()))
    gen = checked.load()
    marks.append((time.perf_counter(), time.process_time()))
    Snapshot.of(gen, RankingSettings())
    marks.append((time.perf_counter(), time.process_time()))
    stages = ["check (read + sha256)", "load (passages, faiss, bm25)", "serving arrays"]
    out = {s: (b[0] - a[0], b[1] - a[1]) for s, a, b in zip(stages, marks, marks[1:])}
    out["total"] = (marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, nargs="*", default=[Path("/work/fullidx")])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    import bm25s  # noqa: F401
    import faiss  # noqa: F401  imported once, as a running replica has

    for index in args.index:
        if not (index / "CURRENT").exists():
            print(f"{index}: no CURRENT, skipped")
            continue
        load_once(index)  # warm: the files in the page cache, as right after a build wrote them
        gc.collect()
        runs = []
        for _ in range(args.reps):
            runs.append(load_once(index))
            gc.collect()
        checked = check_generation(index)
        print(f"\n{index} ({checked.name}, {checked.counts['chunks']:,} passages, {len(checked.reports)} reports), {args.reps} loads:")
        for stage in runs[0]:
            wall, cpu = [r[stage][0] for r in runs], [r[stage][1] for r in runs]
            print(
                f"  {stage:30s} wall median {statistics.median(wall):6.2f} s, max {max(wall):6.2f} s;  CPU median {statistics.median(cpu):6.2f} s",
                flush=True,
            )
        if args.profile:
            prof = cProfile.Profile(time.process_time)
            prof.enable()
            load_once(index)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    return 0


if __name__ == "__main__":
    sys.exit(main())
