"""A full build locally and on a local Ray instance, in the same run: Ray's overhead, and identical output.

    nice python bench/cluster.py [--corpus ../shared/corpus/ofsted-ilacs] [--cpus 2]

Both build the whole corpus from scratch into temporary index folders (the
model loaded once, as the CLI does): first `build_index` with its local parser
processes, then `cluster.build_index_on_ray` on a local Ray instance with
--cpus CPUs (its start-up counted). On 2 cores this measures overhead, not
speed-up. Then checks the two indexes hold the same reports, passages,
failures and terms, and vectors within 1e-5. Figures: bench/RESULTS.md,
"Scale (issue 13)".
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from assistant.index import cluster
    from assistant.index.build import build_index
    from assistant.index.embed import load_embedder
    from tests.integration.test_cluster import assert_same_index

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "ofsted-ilacs")
    ap.add_argument("--cpus", type=int, default=2)
    args = ap.parse_args()
    cache = ROOT / "index" / "models"
    embedder = load_embedder(cache_dir=cache)
    root = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        t = time.perf_counter()
        local = build_index(args.corpus, root / "local", rebuild=True, embedder=embedder)
        t_local = time.perf_counter() - t
        print(f"local: {local.lines()[0]}; {t_local:.1f} s", flush=True)
        t = time.perf_counter()
        on_ray = cluster.build_index_on_ray(args.corpus, root / "ray", rebuild=True, embedder=embedder, num_cpus=args.cpus, model_cache=cache)
        t_ray = time.perf_counter() - t
        print(f"ray:   {on_ray.lines()[0]}; {t_ray:.1f} s including Ray start-up", flush=True)
        print(f"ratio ray / local: {t_ray / t_local:.2f} (target <= 1.3)")
        assert sorted(f.line() for f in local.failed) == sorted(f.line() for f in on_ray.failed), "failures differ"
        assert_same_index(root / "local", root / "ray")
        print("same index: reports, passages, failures, terms and keyword scores identical; vectors within 1e-5")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
