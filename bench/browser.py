"""Answer time in a real browser on the full library: question typed, Enter, answer drawn.

    python bench/browser.py --index /work/fullidx --tuned-index /work/fullidx-tuned [--rounds 2]

For each configuration starts `python app.py` (`--embedder base` on the index built with the
wheel's model, the default on the fine-tuned one's), opens the chat in headless Debian
Chromium (playwright, tests/support/browser.py) and asks every question of
bench/fixed_questions.txt `--rounds` times, one after another in one conversation as a
person would. Times from the Enter key to the answer rendered with no pending spinner;
prints p50/p95/max per configuration and the ratio of the two p95s, in one run (the browser
shares the cores with the app: compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.clients import configurations, p95  # noqa: E402
from tests.support.apps import run_app  # noqa: E402
from tests.support.browser import CHROMIUM, FLAGS, ask  # noqa: E402

QUESTIONS = ROOT / "bench" / "fixed_questions.txt"


def answer_times(url: str, questions: list[str], rounds: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    out: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "/")
            n = 0
            ask(page, questions[0], n, timeout_ms=30_000)  # warm-up: the first answer loads the page's assets
            n += 1
            for _ in range(rounds):
                for q in questions:
                    out.append(ask(page, q, n, timeout_ms=30_000))
                    n += 1
        finally:
            browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True, help="index built with the wheel's embedder")
    ap.add_argument("--tuned-index", type=Path, required=True, help="index built with the shipped embedder")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "ofsted-ilacs")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if not CHROMIUM.exists():
        print(f"skipped: chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
        return 0
    questions = [q for q in QUESTIONS.read_text(encoding="utf-8").splitlines() if q.strip()]
    p95s = []
    for name, index, flags in configurations(args):
        with tempfile.TemporaryDirectory() as tmp, run_app(Path(tmp), args.corpus, index, "", flags) as app:
            times = sorted(answer_times(app.url, questions, args.rounds))
        p95s.append(p95(times))
        p50 = statistics.median(times)
        print(f"{name}: {len(times)} answers in the browser, p50 {p50:.2f} s, p95 {p95s[-1]:.2f} s, max {times[-1]:.2f} s", flush=True)
    print(f"ratio fine-tuned / today, p95: {p95s[1] / p95s[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
