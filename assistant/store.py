"""The index on disk: generations written whole, switched atomically, verified on load.

Layout under the index folder:

    CURRENT                 name of the serving generation (replaced atomically)
    generations/<name>/     manifest.json, reports.jsonl, chunks.jsonl,
                            failures.jsonl, dense.faiss, bm25/
    models/                 the exported ONNX model cache

JSON and numpy/FAISS binaries only: nothing is unpickled, so an index folder
from elsewhere cannot run code here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .chunking import CHUNKING_VERSION, Chunk
from .document import IngestFailure, ReportMeta

FORMAT = "ofsted-assistant-index"
FORMAT_VERSION = 2  # 2: vectors stored as fp16 (halves the index; cosines unchanged to ~1e-3)
KEEP_GENERATIONS = 2


class IndexError_(RuntimeError):
    """The index cannot be used; the message names the file and the fault."""


class NoIndex(IndexError_):
    pass


@dataclass(frozen=True)
class ReportEntry:
    path: str
    sha256: str
    size: int
    pages: int
    paragraphs: int
    meta: ReportMeta
    chunk_start: int
    chunk_end: int


@dataclass(frozen=True)
class ModelStamp:
    name: str
    dim: int
    weights_sha256: str
    backend: str


@dataclass
class Generation:
    """A loaded, verified generation: everything a search needs."""

    name: str
    path: Path
    model: ModelStamp
    reports: list[ReportEntry]
    chunks: list[Chunk]
    failures: list[IngestFailure]
    dense: object  # faiss.Index
    bm25: object  # bm25s.BM25
    corpus: str  # the corpus folder it was built from
    chunking: int = 0  # CHUNKING_VERSION it was built with

    def vectors(self, start: int, end: int) -> np.ndarray:
        return self.dense.reconstruct_n(start, end - start) if end > start else np.zeros((0, self.model.dim), "float32")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest_digest(manifest: dict) -> str:
    """Digest of the manifest's content, so damage to the manifest itself is
    reported as such rather than as a mismatch of the file it happens to hit."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def current_name(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


def write_generation(
    index_dir: Path,
    model: ModelStamp,
    reports: list[ReportEntry],
    chunks: list[Chunk],
    failures: list[IngestFailure],
    vectors: np.ndarray,
    corpus: str,
) -> str:
    """Write a complete new generation and make it current. Returns its name."""
    import bm25s
    import faiss

    from .keywords import tokenize

    gens = index_dir / "generations"
    gens.mkdir(parents=True, exist_ok=True)
    # Microseconds, not a per-process counter: names must sort in creation order,
    # since pruning and fallback take the newest by name, and builds can finish
    # within the same second.
    now = time.time()
    name = time.strftime("%Y%m%dT%H%M%S", time.localtime(now)) + f".{int(now * 1e6) % 10**6:06d}-{os.getpid()}"
    tmp = gens / f".tmp-{name}"
    tmp.mkdir()
    try:
        _write(tmp / "reports.jsonl", _jsonl(
            {**asdict(r), "meta": r.meta.to_json()} for r in reports))
        _write(tmp / "chunks.jsonl", _jsonl(asdict(c) for c in chunks))
        _write(tmp / "failures.jsonl", _jsonl(asdict(f) for f in failures))
        index = faiss.IndexScalarQuantizer(model.dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype="float32"))
        faiss.write_index(index, str(tmp / "dense.faiss"))
        retriever = bm25s.BM25()
        retriever.index(tokenize([c.embed_text for c in chunks]) if chunks else tokenize(["empty"]), show_progress=False)
        retriever.save(str(tmp / "bm25"))
        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                files[p.relative_to(tmp).as_posix()] = _sha(p)
                with p.open("rb") as fh:
                    os.fsync(fh.fileno())
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "generation": name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "corpus": corpus,
            "model": asdict(model),
            "chunking": {"version": CHUNKING_VERSION, "max_tokens": 256},
            "counts": {"reports": len(reports), "chunks": len(chunks), "failures": len(failures)},
            "files": files,
        }
        manifest["checksum"] = _manifest_digest(manifest)
        _write(tmp / "manifest.json", json.dumps(manifest, indent=1).encode())
        _fsync_dir(tmp)
        os.replace(tmp, gens / name)
        _fsync_dir(gens)
        cur_tmp = index_dir / f".CURRENT.{name}"
        _write(cur_tmp, name.encode())
        os.replace(cur_tmp, index_dir / "CURRENT")
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep=name)
    return name


def _prune(index_dir: Path, keep: str) -> None:
    gens = index_dir / "generations"
    names = sorted(p.name for p in gens.iterdir() if p.is_dir() and not p.name.startswith(".tmp-"))
    for old in [n for n in names if n != keep][:-(KEEP_GENERATIONS - 1) or None]:
        shutil.rmtree(gens / old, ignore_errors=True)
    for p in gens.glob(".tmp-*"):
        # Leftovers of a killed build; a live build holds the lock, so none is ours.
        if time.time() - p.stat().st_mtime > 5:
            shutil.rmtree(p, ignore_errors=True)


def generations(index_dir: Path) -> list[str]:
    gens = index_dir / "generations"
    if not gens.is_dir():
        return []
    return sorted(p.name for p in gens.iterdir() if p.is_dir() and not p.name.startswith(".tmp-"))


def load_generation(index_dir: Path, name: str | None = None, expect_model: ModelStamp | None = None) -> Generation:
    import bm25s
    import faiss

    name = name or current_name(index_dir)
    if not name:
        raise NoIndex(f"no index in {index_dir}: build one with `python -m assistant index`")
    path = index_dir / "generations" / name
    mpath = path / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        raise IndexError_(f"{mpath}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexError_(f"{mpath}: corrupt ({exc})") from None
    if not isinstance(manifest, dict):
        raise IndexError_(f"{mpath}: corrupt (not an index manifest)")
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise IndexError_(
            f"{mpath}: index format {manifest.get('format')} v{manifest.get('version')} is not "
            f"{FORMAT} v{FORMAT_VERSION}; rebuild with `python -m assistant index --rebuild`"
        )
    if not {"files", "counts", "model"} <= manifest.keys():
        raise IndexError_(f"{mpath}: corrupt (entries missing)")
    # Checked after the format: another version may seal its manifest differently.
    # Manifests written before the checksum was added have none; they are still checked file by file.
    if "checksum" in manifest and manifest["checksum"] != _manifest_digest(manifest):
        raise IndexError_(f"{mpath}: checksum mismatch (corrupted)")
    try:
        model = ModelStamp(**manifest["model"])
    except TypeError:
        raise IndexError_(f"{mpath}: corrupt (bad model entry)") from None
    if expect_model and (model.name, model.weights_sha256, model.dim) != (expect_model.name, expect_model.weights_sha256, expect_model.dim):
        raise IndexError_(
            f"{mpath}: built with {model.name} ({model.weights_sha256[:12]}), but this installation has "
            f"{expect_model.name} ({expect_model.weights_sha256[:12]}); rebuild with `python -m assistant index --rebuild`"
        )
    for rel, digest in manifest["files"].items():
        f = path / rel
        if not f.is_file():
            raise IndexError_(f"{f}: missing")
        if _sha(f) != digest:
            raise IndexError_(f"{f}: checksum mismatch (truncated or corrupted)")
    try:
        reports = []
        for line in (path / "reports.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            d["meta"] = ReportMeta.from_json(d["meta"])
            reports.append(ReportEntry(**d))
        chunks = [Chunk(**json.loads(line)) for line in (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
        failures = [IngestFailure(**json.loads(line)) for line in (path / "failures.jsonl").read_text(encoding="utf-8").splitlines()]
        dense = faiss.read_index(str(path / "dense.faiss"))
        bm25 = bm25s.BM25.load(str(path / "bm25"), mmap=False)
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexError_(f"{path}: unreadable index data ({exc})") from None
    counts = manifest["counts"]
    if (len(reports), len(chunks), dense.ntotal) != (counts["reports"], counts["chunks"], counts["chunks"]):
        raise IndexError_(f"{path}: counts do not match the manifest")
    return Generation(
        name, path, model, reports, chunks, failures, dense, bm25, manifest.get("corpus", ""),
        manifest.get("chunking", {}).get("version", 0),
    )


@dataclass(frozen=True)
class Serving:
    """The generation to serve, and why any newer one was passed over."""

    generation: Generation
    skipped: tuple[str, ...]  # one IndexError_ message per generation that failed to load

    @property
    def fell_back(self) -> bool:
        return bool(self.skipped)


def load_serving(index_dir: Path, expect_model: ModelStamp | None = None) -> Serving:
    """CURRENT if it loads, else the newest older generation that does.

    A damaged current generation should not take search down while a verified
    older one is on disk; the caller shows `skipped` as a warning. Raises NoIndex
    when there is no generation at all, IndexError_ (naming every fault) when
    none loads.
    """
    current = current_name(index_dir)
    names = ([current] if current else []) + [n for n in reversed(generations(index_dir)) if n != current]
    if not names:
        raise NoIndex(f"no index in {index_dir}: build one with `python -m assistant index`")
    errors: list[str] = []
    for name in names:
        try:
            return Serving(load_generation(index_dir, name, expect_model), tuple(errors))
        except IndexError_ as exc:
            errors.append(str(exc))
    raise IndexError_(f"no usable index generation in {index_dir}: " + "; ".join(errors))
