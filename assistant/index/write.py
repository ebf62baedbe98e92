"""Writing a generation: every file fsynced in a hidden folder, renamed into place whole,
then CURRENT switched (index.disk describes the layout)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..durable import fsync_dir, write_atomic
from ..reports.document import IngestFailure
from ..settings import DEFAULTS, AnnSettings
from . import ann, embed
from .chunking import CHUNKING_VERSION
from .disk import (
    FORMAT,
    FORMAT_VERSION,
    KEEP_GENERATIONS,
    ModelStamp,
    Passages,
    ReportEntry,
    check_layout,
    generations,
    jsonl,
    manifest_digest,
    report_row,
)
from .keywords import KeywordIndex, TermTable

# --- files --------------------------------------------------------------------------


def _write(path: Path, data: bytes | np.ndarray) -> None:
    with path.open("wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.data)
        fh.flush()
        os.fsync(fh.fileno())


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_generation(
    index_dir: Path,
    model: ModelStamp,
    reports: list[ReportEntry],
    failures: list[IngestFailure],
    passages: Passages,
    corpus: str,
    glossary: str = "",
    ann_settings: AnnSettings = DEFAULTS.ann,
) -> str:
    """Write a complete new generation and make it current; returns its name.

    Every file is written and fsynced in a hidden temporary folder, which is
    renamed into place whole; only then is CURRENT replaced (atomically), so a
    reader or a crash sees the old generation or the new one, never a part.
    """
    check_layout(reports, len(passages))
    gens = index_dir / "generations"
    gens.mkdir(parents=True, exist_ok=True)
    name = _new_name()
    tmp = gens / f".tmp-{name}"
    tmp.mkdir()
    try:
        out = _Files(tmp)
        _put_rows(out, reports, failures, passages)
        _put_dense(out, model, passages.vectors, ann_settings)
        _put_terms(out, passages.terms)
        _put_bm25(out, passages.terms)
        if glossary:
            out.put("glossary.json", glossary.encode("utf-8"))
        _put_manifest(out, name, corpus, model, {"reports": len(reports), "chunks": len(passages), "failures": len(failures)})
        _publish(index_dir, tmp, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep=name)
    return name


def _new_name() -> str:
    # Microseconds, not a per-process counter: names must sort in creation order,
    # since pruning and fallback take the newest by name, and builds can finish
    # within the same second.
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(now)) + f".{int(now * 1e6) % 10**6:06d}-{os.getpid()}"


class _Files:
    """A generation's folder being written: every file durable, its digest noted for the manifest."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.digests: dict[str, str] = {}

    def put(self, rel: str, data: bytes | np.ndarray) -> None:
        # Hashed from memory as written, not read back.
        _write(self.folder / rel, data)
        self.digests[rel] = hashlib.sha256(data if isinstance(data, bytes) else data.data).hexdigest()

    def adopt(self, sub: str) -> None:
        """Files another library wrote into `sub`/: hash what landed, and make it durable."""
        for p in sorted((self.folder / sub).iterdir()):
            self.digests[f"{sub}/{p.name}"] = _sha(p)
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(self.folder / sub)


def _put_rows(out: _Files, reports: list[ReportEntry], failures: list[IngestFailure], passages: Passages) -> None:
    out.put("reports.jsonl", jsonl(report_row(r) for r in reports))
    out.put("chunks.jsonl", passages.rows.data)
    out.put("failures.jsonl", jsonl({"path": f.path, "reason": f.reason} for f in failures))


def _put_dense(out: _Files, model: ModelStamp, vectors: np.ndarray, st: AnnSettings = DEFAULTS.ann) -> None:
    import faiss

    index = ann.build(vectors, model.dim, st=st)  # flat below st.ivf_from passages, IVF from there
    out.put("dense.faiss", faiss.serialize_index(index))  # a uint8 array: written and hashed without a copy


def _put_terms(out: _Files, terms: TermTable) -> None:
    (out.folder / "terms").mkdir()
    out.put("terms/vocab.json", json.dumps(list(terms.vocab), ensure_ascii=False).encode("utf-8"))
    out.put("terms/ids.npy", _npy(terms.ids))
    out.put("terms/offsets.npy", _npy(terms.offsets))
    fsync_dir(out.folder / "terms")


def _put_bm25(out: _Files, terms: TermTable) -> None:
    KeywordIndex.build(terms).save(str(out.folder / "bm25"))
    out.adopt("bm25")  # bm25s writes its own files


def _put_manifest(out: _Files, name: str, corpus: str, model: ModelStamp, counts: dict[str, int]) -> None:
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generation": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "corpus": corpus,
        "model": asdict(model),
        # The window chunking fitted passages to: the embedder's, read when written.
        "chunking": {"version": CHUNKING_VERSION, "max_tokens": embed.MAX_TOKENS},
        "counts": counts,
        "files": dict(sorted(out.digests.items())),
    }
    manifest["checksum"] = manifest_digest(manifest)
    _write(out.folder / "manifest.json", json.dumps(manifest, indent=1).encode())
    fsync_dir(out.folder)


def _publish(index_dir: Path, tmp: Path, name: str) -> None:
    """The finished folder into place, then CURRENT pointed at it: each step one atomic rename."""
    gens = index_dir / "generations"
    os.replace(tmp, gens / name)
    fsync_dir(gens)
    write_atomic(index_dir / "CURRENT", name.encode())


def _prune(index_dir: Path, keep: str) -> None:
    gens = index_dir / "generations"
    names = generations(index_dir)
    for old in [n for n in names if n != keep][: -(KEEP_GENERATIONS - 1) or None]:
        shutil.rmtree(gens / old, ignore_errors=True)
    for p in gens.glob(".tmp-*"):
        # Leftovers of a killed build; a live build holds the lock, so none is ours.
        if time.time() - p.stat().st_mtime > 5:
            shutil.rmtree(p, ignore_errors=True)
