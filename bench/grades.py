"""The grade a passage sits under, over the full shared corpus (issue 11, item 1).

    python bench/grades.py [--corpus ../shared/corpus/ofsted-ilacs] [--workers 2] [--show 15]

Ingests every report as a build does and prints:
- coverage: of the passages (body and bullet paragraphs) of reports whose page 1
  prints graded judgements (a judgement table or the overall-effectiveness
  sentence), the share that record both a judgement and a grade (target >= 98 %);
- agreement: of those under a section's judgement (read from the body heading) that
  has a row in the page-1 table (matched by judgement area), the share whose grade is
  the table's. Passages under the overall judgement (the summary before the first
  section) take the page-1 overall grade, so they are counted apart, not checked;
- reports that grade nothing on page 1 (monitoring and focused visits, older
  frameworks): how many passages there still record a grade from a graded section.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.language.vocab import JudgementArea  # noqa: E402
from assistant.reports.document import BODY, BULLET, Report  # noqa: E402
from assistant.reports.ingest import ingest_folder  # noqa: E402
from assistant.reports.judgements import table_grade  # noqa: E402

PASSAGE_KINDS = (BODY, BULLET)


def grades_on_page_one(r: Report) -> bool:
    return bool(r.meta.judgements or r.meta.overall)


def measure(reports: list[Report]) -> dict:
    """Counts for the figures above; `misses` and `disagreements` hold examples."""
    out = Counter()
    misses: list[tuple[str, int, str]] = []
    disagreements: list[tuple[str, int, str, str, str]] = []
    for r in sorted(reports, key=lambda r: r.path):
        graded = grades_on_page_one(r)
        out["reports graded on page 1" if graded else "reports not graded on page 1"] += 1
        for p in r.paragraphs:
            if p.kind not in PASSAGE_KINDS:
                continue
            if not graded:
                out["passages, ungraded reports"] += 1
                out["passages with a grade, ungraded reports"] += bool(p.grade)
                continue
            out["passages"] += 1
            if not (p.judgement and p.grade):
                misses.append((r.path, p.index, p.text[:90]))
                continue
            out["recorded"] += 1
            if JudgementArea.of(p.judgement) is JudgementArea.OVERALL:
                # Read from the same page-1 facts it would be checked against: not a check.
                out["under overall"] += 1
                continue
            expected = table_grade(r.meta, p.judgement)
            if expected is None:
                out["section not in table"] += 1
                continue
            out["in table"] += 1
            if expected == p.grade:
                out["agree"] += 1
            else:
                disagreements.append((r.path, p.index, p.judgement, p.grade, expected))
    return {"counts": out, "misses": misses, "disagreements": disagreements}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "ofsted-ilacs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--show", type=int, default=15, help="examples of misses and disagreements to print")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"skipped: no corpus at {args.corpus}")
        return 0
    t0 = time.perf_counter()
    res = ingest_folder(args.corpus, workers=args.workers)
    m = measure(res.reports)
    c = m["counts"]
    print(f"corpus: {args.corpus}  ({len(res.reports)} reports ingested, {len(res.failures)} failed, {time.perf_counter() - t0:.0f} s)")
    print(f"reports whose page 1 prints graded judgements: {c['reports graded on page 1']}; others: {c['reports not graded on page 1']}")
    print(f"coverage: {c['recorded']} / {c['passages']} passages record judgement + grade = {c['recorded'] / max(1, c['passages']):.2%}")
    print(
        f"agreement: {c['agree']} / {c['in table']} passages under a section judgement that the page-1 table grades "
        f"have the table's grade = {c['agree'] / max(1, c['in table']):.2%}"
    )
    print(
        f"  (also recorded: {c['under overall']} under the overall judgement, from the page-1 overall grade; "
        f"{c['section not in table']} under a section the page-1 table does not grade, e.g. the LSCB review)"
    )
    print(
        f"ungraded reports: {c['passages with a grade, ungraded reports']} / {c['passages, ungraded reports']} passages record a grade "
        "(from graded sections of older frameworks)"
    )
    by_report = Counter(path for path, _, _ in m["misses"])
    print(
        f"passages without judgement or grade: {len(m['misses'])} in {len(by_report)} reports; most: "
        + ", ".join(f"{p} ({n})" for p, n in by_report.most_common(5))
    )
    for path, i, text in m["misses"][: args.show]:
        print(f"  miss  {path} ¶{i}: {text}")
    for path, i, judgement, grade, expected in m["disagreements"][: args.show]:
        print(f"  disagree  {path} ¶{i}: {judgement[:60]!r} {grade!r}, table {expected!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
