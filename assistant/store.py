"""The index on disk: generations written whole, switched atomically, verified on load.

Layout under the index folder:

    CURRENT                 name of the serving generation (replaced atomically)
    generations/<name>/     manifest.json, reports.jsonl, chunks.jsonl,
                            failures.jsonl, dense.faiss, bm25/, terms/
    models/                 the exported ONNX model cache

A generation folder:

    manifest.json     format, version, model, chunking, counts, SHA-256 of every
                      other file, and a digest of itself
    reports.jsonl     one report a line: path, sha256, size, pages, paragraphs,
                      chunk_start, chunk_end (its passages' rows in chunks.jsonl), meta
    chunks.jsonl      one passage a line, grouped by report in report order:
                      paragraph, part, page, number, section, kind, text. The id,
                      report hash and context header are derived on load from the
                      report line (chunking.chunk_id, chunking.header_from).
    failures.jsonl    path, reason
    dense.faiss       the passages' vectors (fp16 scalar quantiser, inner product): flat,
                      or from ann.IVF_FROM passages an IVF index of the same fp16 vectors
    bm25/             the bm25s keyword index (numpy arrays and JSON)
    terms/            the passages' stemmed terms that bm25/ was built from:
                      vocab.json (sorted terms), ids.npy (term ids, uint16 or
                      uint32 past 65,536 terms, all passages back to back),
                      offsets.npy (int64, one more than passages)

Reading is two steps: `check_generation` verifies every file against the
manifest and reads the small ones (reports, failures), so a build can see that
nothing changed without parsing the rest; then `Checked.load` gives a search its
`Generation`, or `Checked.passages` gives a build the stored passages to carry
over without parsing them.

JSON and numpy/FAISS binaries only: nothing is unpickled, so an index folder
from elsewhere cannot run code here.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from . import ann, embed, keywords
from .chunking import CHUNKING_VERSION, Chunk, chunk_id, header_from
from .document import IngestFailure, Judgement, ReportMeta
from .durable import fsync_dir, write_atomic
from .keywords import TermTable

if TYPE_CHECKING:
    import bm25s
    import faiss

    from .embed import Embedder

FORMAT = "ofsted-assistant-index"
# 2: vectors stored as fp16 (halves the index; cosines unchanged to ~1e-3).
# 3: chunks.jsonl drops each passage's id, report sha256 and header (derived from
#    reports.jsonl on load) and is written compactly; terms/ keeps the passages'
#    stemmed terms so a build re-tokenises only new passages for BM25.
FORMAT_VERSION = 3
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
    """The model an index was built with: a search must embed questions with the same one."""

    name: str
    dim: int
    weights_sha256: str
    backend: str


def model_stamp(embedder: Embedder) -> ModelStamp:
    """The stamp of a loaded embedder (here, so the build and the search side both reach it)."""
    i = embedder.info
    return ModelStamp(i.name, i.dim, i.weights_sha256, i.backend)


@dataclass
class Generation:
    """A loaded, verified generation: everything a search needs."""

    name: str
    path: Path
    model: ModelStamp
    reports: list[ReportEntry]
    chunks: ChunkList
    failures: list[IngestFailure]
    dense: faiss.Index
    bm25: bm25s.BM25
    corpus: str  # the corpus folder it was built from
    chunking: int = 0  # CHUNKING_VERSION it was built with
    glossary: str = ""  # glossary.json: acronyms its reports define, mined at build time ("" before)

    def vectors(self, start: int, end: int) -> np.ndarray:
        return self.dense.reconstruct_n(start, end - start) if end > start else np.zeros((0, self.model.dim), "float32")


# --- passages as stored -------------------------------------------------------------


# One encoder for every row: json.dumps with options builds a new encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _jsonl(rows) -> bytes:
    return "".join([_encode(r) + "\n" for r in rows]).encode("utf-8")


def _parse_jsonl(data: bytes) -> list:
    # One parse of the whole file instead of one per line, on bytes (a str copy of
    # text with curly quotes takes two bytes a character): JSON escapes newlines
    # inside strings, so every b"\n" ends a row. (Not splitlines(): it would also
    # split on U+2028 and friends, which ensure_ascii=False leaves raw in the text.)
    body = data[:-1] if data.endswith(b"\n") else data
    return json.loads(b"".join((b"[", body.replace(b"\n", b","), b"]"))) if body else []


def _report_row(r: ReportEntry) -> dict:
    return {
        "path": r.path,
        "sha256": r.sha256,
        "size": r.size,
        "pages": r.pages,
        "paragraphs": r.paragraphs,
        "chunk_start": r.chunk_start,
        "chunk_end": r.chunk_end,
        "meta": r.meta.to_json(),
    }


def _headers(meta: ReportMeta) -> Callable[[str], str]:
    """A report's context header per section, each built once (a report has a few sections)."""
    return functools.cache(lambda section: header_from(meta, section))


def encode_chunks(entry: ReportEntry, chunks: Sequence[Chunk]) -> bytes:
    """chunks.jsonl rows for one report's passages.

    Field by field (dataclasses.asdict deep-copies, and was most of writing a
    generation). The id, hash and header are left out, to be derived from
    `entry` on load, so they must be what `entry` gives.
    """
    header = _headers(entry.meta)
    rows = []
    for c in chunks:
        h = header(c.section)
        if c.sha256 != entry.sha256 or c.header != h or c.id != chunk_id(entry.sha256, c.paragraph, c.part):
            raise ValueError(f"{entry.path}: passage {c.id} does not match its report entry")
        rows.append(
            {
                "paragraph": c.paragraph,
                "part": c.part,
                "page": c.page,
                "number": c.number,
                "section": c.section,
                "kind": c.kind,
                "judgement": c.judgement,
                "grade": c.grade,
                "text": c.text,
            }
        )
    return _jsonl(rows)


# The fields every chunks.jsonl row has; rows written before chunking 6 lack the last two.
_CHUNK_FIELDS = ("paragraph", "part", "page", "number", "section", "kind", "text")
_CHUNK_OPTIONAL = ("judgement", "grade")


class ChunkList(Sequence[Chunk]):
    """A generation's passages, kept as columns and made into `Chunk` objects only where read.

    A passage's id, hash and header come from its report when it is read. Making all
    64,000 of the full library's passages into objects up front was ~0.4 s of CPU in
    every replica's switch to a new generation (bench/load.py), for a search that reads
    its ~10 hits; the serving arrays read whole columns instead (`column`).
    """

    def __init__(self, reports: Sequence[ReportEntry], columns: dict[str, list]):
        self._reports = reports
        self._columns = columns
        self._n = len(columns["text"])
        self._report_of = np.zeros(self._n, dtype=np.int32)
        for i, r in enumerate(reports):
            self._report_of[r.chunk_start : r.chunk_end] = i
        self._headers = [_headers(r.meta) for r in reports]

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self._chunk(j) for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"passage {i} of {self._n}")
        return self._chunk(i)

    def __iter__(self) -> Iterator[Chunk]:
        return (self._chunk(j) for j in range(self._n))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChunkList | list | tuple):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # compared by content, like a list

    def column(self, field: str) -> list:
        """One stored field of every passage, in row order (not to be changed)."""
        try:
            return self._columns[field]
        except KeyError:
            raise KeyError(f"passages have no stored field {field!r}") from None

    def _chunk(self, i: int) -> Chunk:
        c = self._columns
        r = int(self._report_of[i])
        sha = self._reports[r].sha256
        section, paragraph, part = c["section"][i], c["paragraph"][i], c["part"][i]
        return Chunk(
            chunk_id(sha, paragraph, part),
            sha,
            paragraph,
            part,
            c["text"][i],
            self._headers[r](section),
            c["page"][i],
            c["number"][i],
            section,
            c["kind"][i],
            judgement=c["judgement"][i],
            grade=c["grade"][i],
        )


def _decode_chunks(reports: list[ReportEntry], rows: list) -> ChunkList:
    """The passages of parsed chunks.jsonl rows, as columns. A row without a field fails
    the load (KeyError), not a later search."""
    _check_layout(reports, len(rows))
    if not all(type(d) is dict for d in rows):
        raise ValueError("chunks.jsonl: a row is not an object")
    columns = {f: [d[f] for d in rows] for f in _CHUNK_FIELDS}
    # Rows written before chunking 6 have no judgement or grade: read as none.
    columns |= {f: [d.get(f, "") for d in rows] for f in _CHUNK_OPTIONAL}
    return ChunkList(reports, columns)


def _check_layout(reports: list[ReportEntry], n: int) -> None:
    """Reports own consecutive runs of passages that together cover all n."""
    at = 0
    for r in reports:
        if r.chunk_start != at or not at <= r.chunk_end <= n:
            raise ValueError(f"{r.path}: passages {r.chunk_start}-{r.chunk_end} do not follow on from {at}")
        at = r.chunk_end
    if at != n:
        raise ValueError(f"{n - at} passages belong to no report")


@dataclass(frozen=True)
class ChunkRows:
    """chunks.jsonl bytes, addressable by row: a build copies kept passages'
    rows as they are instead of parsing and encoding them again."""

    data: bytes
    starts: np.ndarray  # int64, one more than rows: row i is data[starts[i]:starts[i + 1]]

    @classmethod
    def of(cls, data: bytes) -> ChunkRows:
        if data and not data.endswith(b"\n"):
            raise ValueError("chunks.jsonl does not end with a newline")
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1
        return cls(data, np.concatenate(([0], ends)).astype(np.int64))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def take(self, start: int, end: int) -> bytes:
        return self.data[self.starts[start] : self.starts[end]]


@dataclass(frozen=True)
class Passages:
    """A generation's passages as stored, row for row: chunks.jsonl rows, stemmed
    terms (what bm25/ is built from) and vectors."""

    rows: ChunkRows
    terms: TermTable
    vectors: np.ndarray  # float32, one row per passage

    def __post_init__(self) -> None:
        if not len(self.rows) == len(self.terms) == len(self.vectors):
            raise ValueError(f"{len(self.rows)} rows, {len(self.terms)} term lists and {len(self.vectors)} vectors")

    def __len__(self) -> int:
        return len(self.rows)


def join_passages(pieces: Sequence[tuple[Passages, int, int]], dim: int) -> Passages:
    """Passages [start, end) of each, in order."""
    runs: list[tuple[Passages, int, int]] = []
    for p, start, end in pieces:
        if end <= start:
            continue
        if runs and runs[-1][0] is p and runs[-1][2] == start:
            runs[-1] = (p, runs[-1][1], end)  # consecutive kept reports: one slice, not hundreds
        else:
            runs.append((p, start, end))
    return Passages(
        ChunkRows.of(b"".join(p.rows.take(s, e) for p, s, e in runs)),
        keywords.assemble([(p.terms, s, e) for p, s, e in runs]),
        np.concatenate([p.vectors[s:e] for p, s, e in runs]) if runs else np.zeros((0, dim), "float32"),
    )


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
    failures: list[IngestFailure],
    passages: Passages,
    corpus: str,
    glossary: str = "",
) -> str:
    """Write a complete new generation and make it current; returns its name.

    Every file is written and fsynced in a hidden temporary folder, which is
    renamed into place whole; only then is CURRENT replaced (atomically), so a
    reader or a crash sees the old generation or the new one, never a part.
    """
    _check_layout(reports, len(passages))
    gens = index_dir / "generations"
    gens.mkdir(parents=True, exist_ok=True)
    name = _new_name()
    tmp = gens / f".tmp-{name}"
    tmp.mkdir()
    try:
        out = _Files(tmp)
        _put_rows(out, reports, failures, passages)
        _put_dense(out, model, passages.vectors)
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
    out.put("reports.jsonl", _jsonl(_report_row(r) for r in reports))
    out.put("chunks.jsonl", passages.rows.data)
    out.put("failures.jsonl", _jsonl({"path": f.path, "reason": f.reason} for f in failures))


def _put_dense(out: _Files, model: ModelStamp, vectors: np.ndarray) -> None:
    import faiss

    index = ann.build(vectors, model.dim)  # flat below ann.IVF_FROM passages, IVF from there
    out.put("dense.faiss", faiss.serialize_index(index))  # a uint8 array: written and hashed without a copy


def _put_terms(out: _Files, terms: TermTable) -> None:
    (out.folder / "terms").mkdir()
    out.put("terms/vocab.json", json.dumps(list(terms.vocab), ensure_ascii=False).encode("utf-8"))
    out.put("terms/ids.npy", _npy(terms.ids))
    out.put("terms/offsets.npy", _npy(terms.offsets))
    fsync_dir(out.folder / "terms")


def _put_bm25(out: _Files, terms: TermTable) -> None:
    keywords.bm25_index(terms).save(str(out.folder / "bm25"))
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
    manifest["checksum"] = _manifest_digest(manifest)
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


def generations(index_dir: Path) -> list[str]:
    gens = index_dir / "generations"
    if not gens.is_dir():
        return []
    return sorted(p.name for p in gens.iterdir() if p.is_dir() and not p.name.startswith(".tmp-"))


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
        import bm25s
        import faiss

        blobs = self._take()
        with _unreadable(self.path):
            chunks = _decode_chunks(self.reports, _parse_jsonl(blobs["chunks.jsonl"]))
            dense = faiss.deserialize_index(np.frombuffer(blobs["dense.faiss"], dtype=np.uint8))
            bm25 = bm25s.BM25.load(str(self.path / "bm25"), mmap=False)
            if dense.ntotal != len(chunks) or len(chunks) != self.counts["chunks"]:
                raise IndexError_(f"{self.path}: counts do not match the manifest")
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
            _check_layout(self.reports, len(rows))
            dense = faiss.deserialize_index(np.frombuffer(blobs["dense.faiss"], dtype=np.uint8))
            vectors = ann.read_vectors(dense)
            passages = Passages(rows, _terms(blobs), vectors)
            if len(passages) != self.counts["chunks"]:
                raise IndexError_(f"{self.path}: counts do not match the manifest")
        return passages


@contextmanager
def _unreadable(path: Path) -> Iterator[None]:
    """Files that passed their checksums but do not parse: an IndexError_ all the same.

    Only the errors malformed data raises (JSON and numpy raise ValueError, a
    missing field KeyError, FAISS RuntimeError, a file OSError); rows of the
    wrong shape are turned into ValueError where they are read (`_record`). A
    TypeError or AttributeError here is a bug in this code and surfaces as one.
    """
    try:
        yield
    except IndexError_:
        raise
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        raise IndexError_(f"{path}: unreadable index data ({exc})") from exc


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
    if not (isinstance(manifest["files"], dict) and isinstance(manifest["counts"], dict) and isinstance(manifest["model"], dict)):
        raise IndexError_(f"{mpath}: corrupt (entries of the wrong type)")
    # Checked after the format: another version may seal its manifest differently.
    # Manifests written before the checksum was added have none; they are still checked file by file.
    if "checksum" in manifest and manifest["checksum"] != _manifest_digest(manifest):
        raise IndexError_(f"{mpath}: checksum mismatch (corrupted)")
    try:
        model = _record(ModelStamp, manifest["model"], "manifest.json")
    except ValueError as exc:
        raise IndexError_(f"{mpath}: corrupt (bad model entry)") from exc
    if expect_model and (model.name, model.weights_sha256, model.dim) != (expect_model.name, expect_model.weights_sha256, expect_model.dim):
        raise IndexError_(
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
            raise IndexError_(f"{f}: missing") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise IndexError_(f"{f}: checksum mismatch (truncated or corrupted)")
        if not rel.startswith("bm25/"):  # bm25s reads its own files
            blobs[rel] = data
    counts = manifest["counts"]
    with _unreadable(path):
        reports = [_report_entry(d) for d in _parse_jsonl(blobs.pop("reports.jsonl"))]
        failures = [_record(IngestFailure, d, "failures.jsonl") for d in _parse_jsonl(blobs.pop("failures.jsonl"))]
        if len(reports) != counts["reports"]:
            raise IndexError_(f"{path}: counts do not match the manifest")
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
