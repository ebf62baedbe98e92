"""How soon two app replicas on one index folder serve a re-index: the generation switch time.

    nice python bench/replicas.py [--corpus corpus] [--index INDEX] [--rounds 3]

Copies the corpus and index to a temporary folder, starts two `python app.py`
processes on them, then per round adds a report under a new authority folder
(a copy of a sample report with other bytes) and re-indexes from the command
line, as an operator (or a third process) would. The switch time of a replica
is from CURRENT naming the new generation to that replica's first answer
filtered to the new authority that has hits. Printed per round and as the
maximum; figures in bench/RESULTS.md, "Scale (issue 13)".
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index.disk import current_name  # noqa: E402
from tests.e2e.test_replicas import ask  # noqa: E402
from tests.support.apps import run_app  # noqa: E402

QUESTION = "are social workers' caseloads manageable?"  # written for this bench


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--index", type=Path, help="a built index of CORPUS (default: build one first)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    try:
        corpus, index = root / "corpus", root / "index"
        shutil.copytree(args.corpus, corpus, symlinks=True)
        if args.index:
            shutil.copytree(args.index, index, ignore=shutil.ignore_patterns("build.lock", "models"))
        (index / "models").mkdir(parents=True)
        for f in (ROOT / "index" / "models").glob("*.onnx"):
            (index / "models" / f.name).symlink_to(f)
        if not args.index:
            subprocess.run(
                [sys.executable, "-m", "assistant", "index", "--corpus", str(corpus), "--index", str(index)],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        source = next(p for p in sorted(corpus.rglob("*.pdf")) if b"%PDF-" in p.read_bytes()[:1024])
        print(f"corpus {args.corpus} ({sum(1 for _ in corpus.rglob('*.pdf'))} PDFs), index {args.index}; new reports copy {source.name}")
        t = time.perf_counter()
        with run_app(root, corpus, index, "bench-password") as a, run_app(root, corpus, index, "bench-password") as b:
            print(f"two replicas up in {time.perf_counter() - t:.1f} s")
            worst = []
            for r in range(1, args.rounds + 1):
                authority = f"Benchtown {r}"
                folder = corpus / f"9000{r}_benchtown {r}"
                folder.mkdir()
                (folder / "report.pdf").write_bytes(source.read_bytes() + f"\n% bench round {r}\n".encode())
                before = current_name(index)
                assert not ask(a.url, QUESTION, [authority])["hits"]
                t0 = time.perf_counter()
                build = subprocess.Popen(
                    [sys.executable, "-m", "assistant", "index", "--corpus", str(corpus), "--index", str(index)],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                while current_name(index) == before:
                    assert build.poll() is None or current_name(index) != before, "the re-index wrote no generation"
                    time.sleep(0.01)
                switched = time.perf_counter()
                seen: dict[str, float] = {}

                def watch(name: str, url: str, authority=authority, seen=seen, switched=switched) -> None:
                    while not ask(url, QUESTION, [authority])["hits"]:
                        time.sleep(0.05)
                    seen[name] = time.perf_counter() - switched

                threads = [threading.Thread(target=watch, args=(n, u)) for n, u in (("A", a.url), ("B", b.url))]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join(120)
                build.wait(120)
                worst.append(max(seen.values()))
                print(f"round {r}: re-index {switched - t0:.1f} s to CURRENT; replica A serves it {seen['A']:.2f} s later, B {seen['B']:.2f} s later")
            print(f"switch time, worst replica per round: median {statistics.median(worst):.2f} s, max {max(worst):.2f} s (target <= 5 s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
