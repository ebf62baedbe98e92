"""Scoring questions files: gold matching, per-type breakdown, and unanswerable questions."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from assistant.search.answer import Answer
from assistant.search.evaluate import (
    Question,
    abstention,
    answers,
    evaluate,
    evaluate_unanswerable,
    load_questions,
    load_unanswerable,
    print_report,
    run_file,
)
from assistant.search.query import Filters


def test_gold_matching_folds_space_case_quotes_and_soft_hyphens():
    q = Question("x", "q", "a/b.pdf", ("the council\u2019s leaders are well\u00adinformed",), "", "finding")
    assert answers(q, "a/b.pdf", "Overall, The  Council's\nleaders are well-\u00adinformed".replace("-\u00ad", "\u00ad"))
    assert not answers(q, "a/c.pdf", "the council's leaders are wellinformed")
    assert not answers(q, "a/b.pdf", "the council's leaders are not well informed")


def test_unanswerable_file_skips_blank_and_comment_lines(tmp_path):
    p = tmp_path / "u.txt"
    p.write_text("# written for this test\nHow do I bake bread?\n\n  Who won the cup final?  \n", encoding="utf-8")
    assert load_unanswerable(p) == ["How do I bake bread?", "Who won the cup final?"]


@dataclass(frozen=True)
class _AnswerWithReason(Answer):
    # The shape the searcher's Answer takes when it states why it shows nothing.
    abstained: str = ""


def test_abstention_reads_the_answers_reason_or_its_empty_hits():
    empty = Answer("q", Filters(), ())
    assert abstention(empty) == "no hits"
    assert abstention(_AnswerWithReason("q", Filters(), (), abstained="no report for Swansea in this library")).startswith("no report")


def test_evaluate_and_unanswerable_on_the_sample(fake_searcher, tmp_path):
    # A question written for this test; its gold snippet is the top passage's first words.
    a = fake_searcher.ask("Bedford 2017: how effective was the MASH?", k=3)
    top = a.hits[0]
    snippet = " ".join(top.text.split()[:8])
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps({"id": "t-1", "question": a.question, "file": top.source, "gold": [snippet], "type": "paraphrase"}) + "\n",
        encoding="utf-8",
    )
    qs = load_questions(qfile)
    res = evaluate(fake_searcher, qs, k=5)
    assert res.ranks == {"t-1": 1}
    out = io.StringIO()
    print_report(res, out)
    assert "paraphrase" in out.getvalue() and "hit@5=1.000" in out.getvalue()

    ufile = tmp_path / "u.txt"
    ufile.write_text("What is the best recipe for chocolate cake?\nBedford 2017: how effective was the MASH?\n", encoding="utf-8")
    u = evaluate_unanswerable(fake_searcher, load_unanswerable(ufile), k=5)
    assert u.abstained[1] is False and u.top_scores[1] is not None  # a real question is answered
    assert u.summary()["n"] == 2
    out = io.StringIO()
    run_file(fake_searcher, ufile, out, k=5)
    assert "answered with no passage" in out.getvalue()
    out = io.StringIO()
    run_file(fake_searcher, qfile, out, k=5)
    assert "overall" in out.getvalue()
