"""Where the tests find the checkout, the sample corpus, the full shared corpus and the model cache."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpus"
SHARED = ROOT.parent / "shared" / "corpus" / "ofsted-ilacs"
# The ONNX export is cached across test runs here (git-ignored); it is rebuilt if absent.
MODEL_CACHE = ROOT / "index" / "models"
ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots of the browser tests (git-ignored)
