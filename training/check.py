"""Check the training question set: every rule in training/README.md that a script can check.

    python training/check.py                      # every file under training/questions and training/unanswerable
    python training/check.py training/questions/block-3.jsonl training/unanswerable/block-3.jsonl

Answerable questions: fields, one gold passage holding every gold snippet (verbatim, after the
eval README's folding) in a report of ../shared/eval/train_reports.txt, the page, and that this
passage holds no gold snippet of ../shared/eval/*.jsonl. Every question: not a copy or close
rephrasing of an eval question (the eval text is read here and never printed), and no
duplicates inside the set. Prints the counts the README states (styles, askers, reports,
topics' spread, overlap with the passage) and exits 1 on any error.

The passage text is the index's own (ingestion + chunking of the shared corpus), cached in
training/.cache/passages.jsonl by `python -m assistant train --passages-only` (or read from
--passages).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TYPES = {"finding", "strength", "weakness", "fact"}
STYLES = {"question", "keyword", "rambling", "misspelt", "professional"}
EVERYDAY = STYLES - {"professional"}
ASKERS = {"parent", "young-person", "foster-carer", "councillor", "journalist", "new-staff", "researcher", "social-worker", "campaigner"}
KINDS = {"off-topic", "elsewhere", "uncovered"}
STOP = set(
    "a an the and or but of in on at to for from by with about into over after before is are was were be been being do does did "
    "has have had how what when where which who whom why whether this that these those it its they them their there here i me my we "
    "our you your he she his her not no yes any some all more most much many very so than then too can could would should will shall "
    "may might must get got gets if as up out just also only even like really anything something there's what's it's does don't".split()
)


def fold(text: str) -> str:
    """The eval README's comparison: soft hyphens out, curly quotes straight, white space folded, case ignored."""
    text = text.replace("\u00ad", "").replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def content_words(text: str) -> set[str]:
    # A crude stem (first 6 letters) is enough to tell "inspected" from "inspection" apart from unrelated words.
    return {w[:6] for w in re.findall(r"[a-z][a-z'-]+", text.lower()) if w not in STOP and len(w) > 2}


@dataclass
class Passage:
    file: str
    id: str
    page: int
    text: str
    folded: str


def load_passages(path: Path) -> dict[str, list[Passage]]:
    out: dict[str, list[Passage]] = collections.defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            out[r["file"]].append(Passage(r["file"], r["id"], r["page"], r["text"], fold(r["text"])))
    return out


def eval_material(eval_dir: Path) -> tuple[list[str], list[set[str]]]:
    """Folded eval gold snippets, and the content-word sets of every eval question."""
    golds, questions = [], []
    for name in ("dev.jsonl", "everyday.jsonl"):
        for line in (eval_dir / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                golds.extend(fold(g) for g in q["gold"])
                questions.append(content_words(q["question"]))
    for line in (eval_dir / "unanswerable.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            questions.append(content_words(line))
    return golds, questions


def too_close(words: set[str], others: list[set[str]], limit: float = 0.5) -> bool:
    for o in others:
        if words and o and len(words & o) / len(words | o) >= limit:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--passages", type=Path, default=HERE / ".cache" / "passages.jsonl")
    ap.add_argument("--eval", type=Path, default=HERE.parent.parent / "shared" / "eval")
    args = ap.parse_args(argv)
    files = args.files or sorted((HERE / "questions").glob("*.jsonl")) + sorted((HERE / "unanswerable").glob("*.jsonl"))
    train_reports = set((args.eval / "train_reports.txt").read_text(encoding="utf-8").split("\n")) - {""}
    passages = load_passages(args.passages)
    eval_golds, eval_questions = eval_material(args.eval)

    errors: list[str] = []
    ids: set[str] = set()
    seen_questions: dict[str, str] = {}
    stats: collections.Counter[str] = collections.Counter()
    styles: collections.Counter[str] = collections.Counter()
    askers: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    reports: collections.Counter[str] = collections.Counter()
    low_overlap = 0
    everyday = 0
    for path in files:
        unanswerable = path.parent.name == "unanswerable"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.parent.name}/{path.name}:{n}"  # both folders hold a file of each round
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: not JSON ({exc})")
                continue
            qid, text = q.get("id"), q.get("question")
            if not isinstance(qid, str) or not qid or qid in ids:
                errors.append(f"{where}: id missing or repeated: {qid!r}")
            ids.add(str(qid))
            if not isinstance(text, str) or len(text.strip()) < 3:
                errors.append(f"{where}: question missing")
                continue
            if q.get("asker") not in ASKERS:
                errors.append(f"{where}: asker {q.get('asker')!r} not one of {sorted(ASKERS)}")
            if q.get("style") not in STYLES:
                errors.append(f"{where}: style {q.get('style')!r} not one of {sorted(STYLES)}")
            key = " ".join(sorted(content_words(text)))
            if key in seen_questions:
                errors.append(f"{where}: same words as {seen_questions[key]}")
            seen_questions.setdefault(key, where)
            if too_close(content_words(text), eval_questions):
                errors.append(f"{where}: too close to a question of ../shared/eval (rewrite it from the passage)")
            styles[q.get("style")] += 1
            askers[q.get("asker")] += 1
            if unanswerable:
                if q.get("kind") not in KINDS:
                    errors.append(f"{where}: kind {q.get('kind')!r} not one of {sorted(KINDS)}")
                kinds[q.get("kind")] += 1
                stats["unanswerable"] += 1
                continue
            stats["answerable"] += 1
            errors.extend(f"{where}: {e}" for e in check_answerable(q, passages, train_reports, eval_golds))
            reports[q.get("file")] += 1
            if q.get("style") in EVERYDAY:
                everyday += 1
                hit = find_passage(q, passages)
                if hit is not None:
                    words = content_words(text)
                    shared = len(words & content_words(hit.text)) / max(1, len(words))
                    low_overlap += shared <= 0.34
    print(f"answerable {stats['answerable']} over {len(reports)} reports; unanswerable {stats['unanswerable']} {dict(kinds)}")
    if stats["answerable"]:
        share = everyday / stats["answerable"]
        print(f"everyday styles {everyday} ({share:.0%}); of those sharing <= 1/3 of their content words with the passage: {low_overlap}")
    print("styles", dict(styles.most_common()))
    print("askers", dict(askers.most_common()))
    for e in errors[:200]:
        print("ERROR", e)
    if len(errors) > 200:
        print(f"... and {len(errors) - 200} more errors")
    print(f"{len(errors)} errors")
    return 1 if errors else 0


def find_passage(q: dict, passages: dict[str, list[Passage]]) -> Passage | None:
    golds = [fold(g) for g in q.get("gold") or [] if isinstance(g, str)]
    for p in passages.get(q.get("file", ""), []):
        if golds and all(g in p.folded for g in golds):
            return p
    return None


def check_answerable(q: dict, passages: dict[str, list[Passage]], train_reports: set[str], eval_golds: list[str]) -> list[str]:
    errs = []
    if q.get("file") not in train_reports:
        return [f"file {q.get('file')!r} is not in train_reports.txt"]
    if q.get("type") not in TYPES:
        errs.append(f"type {q.get('type')!r} not one of {sorted(TYPES)}")
    gold = q.get("gold")
    if not isinstance(gold, list) or not gold or not all(isinstance(g, str) for g in gold):
        return errs + ["gold must be a list of snippets"]
    for g in gold:
        if not 5 <= len(g.split()) <= 30:
            errs.append(f"gold snippet of {len(g.split())} words (5 to 30): {g[:60]!r}")
    p = find_passage(q, passages)
    if p is None:
        return errs + ["no passage of that report holds every gold snippet verbatim"]
    if q.get("page") not in (p.page, p.page + 1):
        errs.append(f"page {q.get('page')} but the passage starts on page {p.page}")
    if any(g in p.folded for g in eval_golds):
        errs.append("the answer passage holds a gold snippet of ../shared/eval: pick another passage")
    return errs


if __name__ == "__main__":
    sys.exit(main())
