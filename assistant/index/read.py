"""Reading a generation: every file checked against its manifest, then loaded for a
search or carried over by a build (index.disk describes the layout)."""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import numpy as np

from ..reports.document import IngestFailure, Judgement, ReportMeta
from . import ann
from .disk import (
    FORMAT,
    FORMAT_VERSION,
    ChunkList,
    ChunkRows,
    Generation,
    IndexLoadError,
    ModelStamp,
    NoIndex,
    Passages,
    ReportEntry,
    check_layout,
    current_name,
    generations,
    manifest_digest,
    parse_jsonl,
)
from .keywords import KeywordIndex, TermTable

_CHUNK_FIELDS = ("paragraph", "part", "page", "number", "section", "kind", "text")
_CHUNK_OPTIONAL = ("judgement", "grade")


def _decode_chunks(reports: list[ReportEntry], rows: list) -> ChunkList:
    """The passages of parsed chunks.jsonl rows, as columns. A row without a field fails
    the load (KeyError), not a later search."""
    check_layout(reports, len(rows))
    if not all(type(d) is dict for d in rows):
        raise ValueError("chunks.jsonl: a row is not an object")
    columns = {f: [d[f] for d in rows] for f in _CHUNK_FIELDS}
    # Rows written before chunking 6 have no judgement or grade: read as none.
    columns |= {f: [d.get(f, "") for d in rows] for f in _CHUNK_OPTIONAL}
    return ChunkList(reports, columns)


# --- reading ------------------------------------------------------------------------


def load_generation(index_dir: Path, name: str | None = None, expect_model: ModelStamp | None = None) -> Generation:
    """The generation `name` (default: CURRENT), every file checked against the manifest."""
    return check_generation(index_dir, name, expect_model).load()


@dataclass
class Checked:
    """A generation whose manifest and files all passed their checks, with only
    its small parts read: a build sees what changed before paying for the rest."""

    name: str
    path: Path
    model: ModelStamp
    corpus: str
    chunking: int
    reports: list[ReportEntry]
    failures: list[IngestFailure]
    counts: dict
    blobs: dict[str, bytes]  # verified bytes of the files still to read; `load` or `passages` takes them

    def _take(self) -> dict[str, bytes]:
        blobs, self.blobs = self.blobs, {}
        if not blobs:
            raise RuntimeError(f"{self.path}: already read")
        return blobs

    def load(self) -> Generation:
        """The generation, for searching (once)."""
        import faiss

        blobs = self._take()
        with _unreadable(self.path):
            chunks = _decode_chunks(self.reports, parse_jsonl(blobs["chunks.jsonl"]))
            dense = faiss.deserialize_index(np.frombuffer(blobs["dense.faiss"], dtype=np.uint8))
            bm25 = KeywordIndex.load(str(self.path / "bm25"))
            if dense.ntotal != len(chunks) or len(chunks) != self.counts["chunks"]:
                raise IndexLoadError(f"{self.path}: counts do not match the manifest")
        return Generation(
            self.name,
            self.path,
            self.model,
            self.reports,
            chunks,
            self.failures,
            dense,
            bm25,
            self.corpus,
            self.chunking,
            blobs.get("glossary.json", b"").decode("utf-8"),
        )

    def passages(self) -> Passages:
        """The passages as stored, for a build that carries some over (once):
        no passage is parsed, the keyword index is not read."""
        import faiss

        blobs = self._take()
        with _unreadable(self.path):
            rows = ChunkRows.of(blobs["chunks.jsonl"])
            check_layout(self.reports, len(rows))
            dense = faiss.deserialize_index(np.frombuffer(blobs["dense.faiss"], dtype=np.uint8))
            vectors = ann.read_vectors(dense)
            passages = Passages(rows, _terms(blobs), vectors)
            if len(passages) != self.counts["chunks"]:
                raise IndexLoadError(f"{self.path}: counts do not match the manifest")
        return passages


@contextmanager
def _unreadable(path: Path) -> Iterator[None]:
    """Files that passed their checksums but do not parse: an IndexLoadError all the same.

    Only the errors malformed data raises (JSON and numpy raise ValueError, a
    missing field KeyError, FAISS RuntimeError, a file OSError); rows of the
    wrong shape are turned into ValueError where they are read (`_record`). A
    TypeError or AttributeError here is a bug in this code and surfaces as one.
    """
    try:
        yield
    except IndexLoadError:
        raise
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        raise IndexLoadError(f"{path}: unreadable index data ({exc})") from exc


@functools.cache
def _field_names(cls) -> tuple[frozenset[str], frozenset[str]]:
    """A dataclass's field names, all and required (once per class, not per row)."""
    names = frozenset(f.name for f in fields(cls))
    return names, frozenset(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)


def _record(cls, d: object, what: str):
    """A dataclass from one stored row, whose fields must be the class's own."""
    names, required = _field_names(cls)
    if not isinstance(d, dict) or not required <= d.keys() <= names:
        raise ValueError(f"{what}: a row is not a {cls.__name__} ({str(d)[:80]})")
    return cls(**d)


def _meta(d: object) -> ReportMeta:
    if isinstance(d, dict) and "judgements" in d:
        js = d["judgements"]
        if not isinstance(js, list):
            raise ValueError("reports.jsonl: judgements is not a list")
        d = dict(d, judgements=tuple(_record(Judgement, j, "reports.jsonl") for j in js))
    return _record(ReportMeta, d, "reports.jsonl")


def _report_entry(d: object) -> ReportEntry:
    if not isinstance(d, dict):
        raise ValueError(f"reports.jsonl: a row is not an object ({str(d)[:80]})")
    return _record(ReportEntry, dict(d, meta=_meta(d.get("meta"))), "reports.jsonl")


def _terms(blobs: dict[str, bytes]) -> TermTable:
    vocab = json.loads(blobs["terms/vocab.json"].decode("utf-8"))
    ids = np.load(io.BytesIO(blobs["terms/ids.npy"]), allow_pickle=False)
    offsets = np.load(io.BytesIO(blobs["terms/offsets.npy"]), allow_pickle=False)
    if not (isinstance(vocab, list) and all(isinstance(t, str) for t in vocab)):
        raise ValueError("terms/vocab.json is not a list of terms")
    if ids.ndim != 1 or ids.dtype.kind != "u" or offsets.ndim != 1 or offsets.dtype != np.int64:
        raise ValueError("terms/ arrays have the wrong shape or type")
    if not len(offsets) or offsets[0] != 0 or offsets[-1] != len(ids) or np.any(np.diff(offsets) < 0):
        raise ValueError("terms/offsets.npy does not fit terms/ids.npy")
    if len(ids) and int(ids.max()) >= len(vocab):
        raise ValueError("terms/ids.npy refers past terms/vocab.json")
    return TermTable(tuple(vocab), ids, offsets)


def check_generation(index_dir: Path, name: str | None = None, expect_model: ModelStamp | None = None) -> Checked:
    """Verify the generation `name` (default: CURRENT) and read its reports and failures."""
    name = name or current_name(index_dir)
    if not name:
        raise NoIndex(f"no index in {index_dir}: build one with `python -m assistant index`")
    path = index_dir / "generations" / name
    mpath = path / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        raise IndexLoadError(f"{mpath}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexLoadError(f"{mpath}: corrupt ({exc})") from None
    if not isinstance(manifest, dict):
        raise IndexLoadError(f"{mpath}: corrupt (not an index manifest)")
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise IndexLoadError(
            f"{mpath}: index format {manifest.get('format')} v{manifest.get('version')} is not "
            f"{FORMAT} v{FORMAT_VERSION}; rebuild with `python -m assistant index --rebuild`"
        )
    if not {"files", "counts", "model"} <= manifest.keys():
        raise IndexLoadError(f"{mpath}: corrupt (entries missing)")
    if not (isinstance(manifest["files"], dict) and isinstance(manifest["counts"], dict) and isinstance(manifest["model"], dict)):
        raise IndexLoadError(f"{mpath}: corrupt (entries of the wrong type)")
    # Checked after the format: another version may seal its manifest differently.
    # Manifests written before the checksum was added have none; they are still checked file by file.
    if "checksum" in manifest and manifest["checksum"] != manifest_digest(manifest):
        raise IndexLoadError(f"{mpath}: checksum mismatch (corrupted)")
    try:
        model = _record(ModelStamp, manifest["model"], "manifest.json")
    except ValueError as exc:
        raise IndexLoadError(f"{mpath}: corrupt (bad model entry)") from exc
    if expect_model and (model.name, model.weights_sha256, model.dim) != (expect_model.name, expect_model.weights_sha256, expect_model.dim):
        raise IndexLoadError(
            f"{mpath}: built with {model.name} ({model.weights_sha256[:12]}), but this installation has "
            f"{expect_model.name} ({expect_model.weights_sha256[:12]}); rebuild with `python -m assistant index --rebuild`"
        )
    blobs: dict[str, bytes] = {}
    for rel, digest in manifest["files"].items():
        # Read once: checked and parsed from the same bytes.
        f = path / rel
        try:
            data = f.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise IndexLoadError(f"{f}: missing") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise IndexLoadError(f"{f}: checksum mismatch (truncated or corrupted)")
        if not rel.startswith("bm25/"):  # bm25s reads its own files
            blobs[rel] = data
    counts = manifest["counts"]
    with _unreadable(path):
        reports = [_report_entry(d) for d in parse_jsonl(blobs.pop("reports.jsonl"))]
        failures = [_record(IngestFailure, d, "failures.jsonl") for d in parse_jsonl(blobs.pop("failures.jsonl"))]
        if len(reports) != counts["reports"]:
            raise IndexLoadError(f"{path}: counts do not match the manifest")
    return Checked(
        name,
        path,
        model,
        manifest.get("corpus", ""),
        manifest.get("chunking", {}).get("version", 0),
        reports,
        failures,
        counts,
        blobs,
    )


@dataclass(frozen=True)
class Serving:
    """The generation to serve, and why any newer one was passed over."""

    generation: Generation
    skipped: tuple[str, ...]  # one IndexLoadError message per generation that failed to load

    @property
    def fell_back(self) -> bool:
        return bool(self.skipped)


def load_serving(index_dir: Path, expect_model: ModelStamp | None = None) -> Serving:
    """CURRENT if it loads, else the newest older generation that does.

    A damaged current generation should not take search down while a verified
    older one is on disk; the caller shows `skipped` as a warning. Raises NoIndex
    when there is no generation at all, IndexLoadError (naming every fault) when
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
        except IndexLoadError as exc:
            errors.append(str(exc))
    raise IndexLoadError(f"no usable index generation in {index_dir}: " + "; ".join(errors))
