"""The command line says what is wrong with an index instead of failing with a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import ROOT


@pytest.mark.parametrize("command", ["eval", "ask"])
def test_a_missing_index_is_an_error_message_not_a_traceback(tmp_path, command):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "x", "question": "how are care leavers supported?", "file": "a.pdf", "gold": ["x"]}) + "\n")
    arg = str(questions) if command == "eval" else "how are care leavers supported?"
    run = subprocess.run(
        [sys.executable, "-m", "assistant", command, arg, "--index", str(tmp_path / "no-index")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("error: no index in ") and "Traceback" not in run.stderr
