"""The team's training questions (training/README.md) and their train/validation split."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..search.evaluate import Question


@dataclass(frozen=True)
class Written:
    """An answerable question, tied to the passage holding its gold snippets."""

    id: str
    question: str
    file: str  # report path relative to the corpus folder
    page: int
    gold: tuple[str, ...]
    type: str
    asker: str
    style: str

    @property
    def authority_folder(self) -> str:
        return self.file.split("/", 1)[0]


@dataclass(frozen=True)
class Unanswerable:
    id: str
    question: str
    kind: str  # off-topic, elsewhere, uncovered
    asker: str
    style: str


@dataclass(frozen=True)
class QuestionSet:
    answerable: tuple[Written, ...]
    unanswerable: tuple[Unanswerable, ...]

    def __len__(self) -> int:
        return len(self.answerable) + len(self.unanswerable)


@dataclass(frozen=True)
class Split:
    """Validation is chosen per authority (every report of one authority on one side), so a
    model is judged on places whose reports it never trained on, as for the unseen library."""

    validation: frozenset[str]  # authority folder names

    @classmethod
    def read(cls, path: Path) -> Split:
        return cls(frozenset(json.loads(path.read_text(encoding="utf-8"))["validation"]))

    def is_validation(self, q: Written | Unanswerable) -> bool:
        if isinstance(q, Written):
            return q.authority_folder in self.validation
        # Unanswerable questions have no report: a stable 15 % by id.
        return int(hashlib.sha256(q.id.encode()).hexdigest(), 16) % 100 < 15

    def of(self, qs: QuestionSet) -> tuple[QuestionSet, QuestionSet]:
        """(train, validation)."""
        return (
            QuestionSet(tuple(q for q in qs.answerable if not self.is_validation(q)), tuple(q for q in qs.unanswerable if not self.is_validation(q))),
            QuestionSet(tuple(q for q in qs.answerable if self.is_validation(q)), tuple(q for q in qs.unanswerable if self.is_validation(q))),
        )


# Every round of writing (training/README.md); which rounds train which model is
# TrainSettings' (learn/pipeline.py) to say, chosen on validation.
ALL_ROUNDS = ("*.jsonl",)


def read_questions(training_dir: Path, rounds: tuple[str, ...] = ALL_ROUNDS) -> QuestionSet:
    """The files of `rounds` (glob patterns) under training/questions and training/unanswerable, in file order."""
    answerable: list[Written] = []
    unanswerable: list[Unanswerable] = []
    for path in _files(training_dir / "questions", rounds):
        for d in _lines(path):
            answerable.append(Written(d["id"], d["question"], d["file"], int(d["page"]), tuple(d["gold"]), d["type"], d["asker"], d["style"]))
    for path in _files(training_dir / "unanswerable", rounds):
        for d in _lines(path):
            unanswerable.append(Unanswerable(d["id"], d["question"], d["kind"], d["asker"], d["style"]))
    return QuestionSet(tuple(answerable), tuple(unanswerable))


def validation_split(training_dir: Path) -> tuple[list[Question], list[str]]:
    """The validation split as the benchmarks measure it: its answerable questions as
    evaluate's Questions (typed by style: keyword, misspelt, ...) and its unanswerable ones."""
    _, val = Split.read(training_dir / "split.json").of(read_questions(training_dir))
    return [Question(q.id, q.question, q.file, q.gold, "", q.style) for q in val.answerable], [u.question for u in val.unanswerable]


def _files(folder: Path, rounds: tuple[str, ...]) -> list[Path]:
    return sorted({p for pattern in rounds for p in folder.glob(pattern)})


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def digest(training_dir: Path, rounds: tuple[str, ...] = ALL_ROUNDS) -> str:
    """SHA-256 over the question files of `rounds`, recorded with the models they trained."""
    h = hashlib.sha256()
    for path in _files(training_dir / "questions", rounds) + _files(training_dir / "unanswerable", rounds):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
