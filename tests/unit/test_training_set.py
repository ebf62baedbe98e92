"""The team's training question set (training/README.md): what it promises, checked.

Counts and spread always; the rules against the held-out eval set where ../shared/eval is
present (skipped where not); the gold snippets against the index's own passage text in the
slow test, which parses the training reports."""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from assistant.learn.questions import Split, read_questions
from tests.support.paths import ROOT, SHARED

TRAINING = ROOT / "training"
EVAL = SHARED.parent.parent / "eval"


@pytest.fixture(scope="module")
def qs():
    return read_questions(TRAINING)


def test_the_set_is_as_large_and_as_varied_as_promised(qs):
    assert len(qs.answerable) >= 3000 and len(qs.unanswerable) >= 500
    assert len({q.file for q in qs.answerable}) >= 180
    everyday = sum(q.style != "professional" for q in qs.answerable)
    assert everyday / len(qs.answerable) >= 0.6
    kinds = collections.Counter(u.kind for u in qs.unanswerable)
    assert kinds["uncovered"] > kinds["off-topic"] and kinds["elsewhere"] > 0
    assert len({q.id for q in qs.answerable} | {u.id for u in qs.unanswerable}) == len(qs)
    # Many forms, not one template: no opening of four words starts more than 1 % of questions.
    openings = collections.Counter(" ".join(q.question.lower().split()[:4]) for q in qs.answerable)
    assert openings.most_common(1)[0][1] <= len(qs.answerable) / 100


def test_the_split_is_by_authority_and_about_fifteen_percent(qs):
    split = Split.read(TRAINING / "split.json")
    train, val = split.of(qs)
    assert 0.12 <= len(val.answerable) / len(qs.answerable) <= 0.22
    assert not {q.authority_folder for q in train.answerable} & {q.authority_folder for q in val.answerable}
    assert val.unanswerable and train.unanswerable


@pytest.mark.skipif(not (EVAL / "train_reports.txt").is_file(), reason="../shared/eval not present")
def test_questions_are_only_about_training_reports_and_copy_no_eval_question(qs):
    sys.path.insert(0, str(TRAINING))
    import check  # training/check.py

    allowed = set((EVAL / "train_reports.txt").read_text().split("\n")) - {""}
    assert {q.file for q in qs.answerable} <= allowed
    _, eval_questions = check.eval_material(EVAL)
    close = [q.id for q in list(qs.answerable) + list(qs.unanswerable) if check.too_close(check.content_words(q.question), eval_questions)]
    assert close == []


@pytest.mark.slow
def test_every_gold_snippet_is_verbatim_in_one_index_passage_free_of_eval_gold(shared_corpus):
    subprocess.run([sys.executable, "-m", "assistant", "train", "--passages-only", "--corpus", str(shared_corpus)], cwd=ROOT, check=True)
    done = subprocess.run([sys.executable, "training/check.py"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_shipped_models_record_the_question_files_they_were_trained_on():
    import json

    from assistant.learn.pipeline import TrainSettings
    from assistant.learn.questions import digest

    card = json.loads((ROOT / "assistant" / "models" / "models.json").read_text())
    # Each model learned from the rounds TrainSettings names for it.
    assert card["training"]["questions_sha256"] == digest(TRAINING, TrainSettings().ranking_rounds)
    assert card["answerability"]["questions_sha256"] == digest(TRAINING, TrainSettings().answerability_rounds)
