"""Trained models -> the int8 ONNX files that ship in assistant/models/, each checked against
its PyTorch model before it is written, and their SHA-256 recorded beside them."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

# Same quantisation as the embedder's (per-channel weight scales; embed.py says why).
_QUANT = {"per_channel": True, "reduce_range": False}
_CHECK_PAIRS = (
    ("do foster carers get enough support", "Foster carers say they are well supported by their supervising social workers."),
    ("bucks mash", "The multi-agency safeguarding hub responds swiftly to contacts about children."),
    ("pizza recipe", "Care leavers are helped to find suitable accommodation."),
)


def export_cross(trained: Path, target: Path) -> Path:
    """A trained re-ranker folder -> int8 ONNX (input ids, mask, type ids -> one logit)."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from ..search.rerank import pair_encoder
    from .cross import load_scorer

    model = load_scorer(trained)
    enc = pair_encoder(512)
    rows = [enc.encode(q, p) for q, p in _CHECK_PAIRS]
    width = max(len(r.ids) for r in rows)
    feeds = {
        "input_ids": np.array([r.ids + [0] * (width - len(r.ids)) for r in rows], dtype=np.int64),
        "attention_mask": np.array([[1] * len(r.ids) + [0] * (width - len(r.ids)) for r in rows], dtype=np.int64),
        "token_type_ids": np.array([r.type_ids + [0] * (width - len(r.ids)) for r in rows], dtype=np.int64),
    }
    names = list(feeds)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        with torch.no_grad():
            torch.onnx.export(
                model,
                tuple(torch.from_numpy(feeds[n]) for n in names),
                str(fp32),
                input_names=names,
                output_names=["logit"],
                dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names}, "logit": {0: "batch"}},
                opset_version=17,
                do_constant_folding=True,
                dynamo=False,
            )
            ref = model(*(torch.from_numpy(feeds[n]) for n in names)).numpy()
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, **_QUANT)
        got = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        # The order of the three pairs must survive quantisation, and no logit may move far.
        if list(np.argsort(ref)) != list(np.argsort(got)) or float(np.abs(ref - got).max()) > 1.0:
            raise RuntimeError(f"int8 re-ranker disagrees with PyTorch: {ref.round(2)} vs {got.round(2)}")
        os.replace(int8, target)
    return target


def export_bi(trained: Path, target: Path) -> Path:
    """A fine-tuned SentenceTransformer folder -> int8 ONNX, by the embedder's own recipe."""
    from ..index import embed

    target.parent.mkdir(parents=True, exist_ok=True)
    embed.export_int8(trained, target)
    return target


def sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def record(models_dir: Path, entries: dict[str, dict]) -> Path:
    """models.json beside the files: each file's SHA-256 (checked at load) and what built it."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / "models.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    old.update(entries)
    path.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
