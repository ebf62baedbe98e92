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
                      or from AnnSettings.ivf_from passages an IVF index of the same fp16 vectors
    bm25/             the bm25s keyword index (numpy arrays and JSON)
    terms/            the passages' stemmed terms that bm25/ was built from:
                      vocab.json (sorted terms), ids.npy (term ids, uint16 or
                      uint32 past 65,536 terms, all passages back to back),
                      offsets.npy (int64, one more than passages)

Reading is two steps: `read.check_generation` verifies every file against the
manifest and reads the small ones (reports, failures), so a build can see that
nothing changed without parsing the rest; then `read.Checked.load` gives a search its
`Generation`, or `read.Checked.passages` gives a build the stored passages to carry
over without parsing them.

This module holds the format (the records, the passages as stored, the names);
`index.write` writes a generation, `index.read` checks and loads one.

JSON and numpy/FAISS binaries only: nothing is unpickled, so an index folder
from elsewhere cannot run code here.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from ..reports.document import IngestFailure, ReportMeta
from . import keywords
from .chunking import Chunk, chunk_id, header_from
from .keywords import KeywordIndex, TermTable

if TYPE_CHECKING:
    import faiss

    from .embed import Embedder

FORMAT = "ofsted-assistant-index"
# 2: vectors stored as fp16 (halves the index; cosines unchanged to ~1e-3).
# 3: chunks.jsonl drops each passage's id, report sha256 and header (derived from
#    reports.jsonl on load) and is written compactly; terms/ keeps the passages'
#    stemmed terms so a build re-tokenises only new passages for BM25.
FORMAT_VERSION = 3
KEEP_GENERATIONS = 2


class IndexLoadError(RuntimeError):
    """The index cannot be used; the message names the file and the fault."""


class NoIndex(IndexLoadError):
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
    bm25: KeywordIndex  # keyword scores, document frequencies, postings
    corpus: str  # the corpus folder it was built from
    chunking: int = 0  # CHUNKING_VERSION it was built with
    glossary: str = ""  # glossary.json: acronyms its reports define, mined at build time ("" before)

    def vectors(self, start: int, end: int) -> np.ndarray:
        return self.dense.reconstruct_n(start, end - start) if end > start else np.zeros((0, self.model.dim), "float32")


# --- passages as stored -------------------------------------------------------------


# One encoder for every row: json.dumps with options builds a new encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def jsonl(rows) -> bytes:
    return "".join([_encode(r) + "\n" for r in rows]).encode("utf-8")


def parse_jsonl(data: bytes) -> list:
    # One parse of the whole file instead of one per line, on bytes (a str copy of
    # text with curly quotes takes two bytes a character): JSON escapes newlines
    # inside strings, so every b"\n" ends a row. (Not splitlines(): it would also
    # split on U+2028 and friends, which ensure_ascii=False leaves raw in the text.)
    body = data[:-1] if data.endswith(b"\n") else data
    return json.loads(b"".join((b"[", body.replace(b"\n", b","), b"]"))) if body else []


def report_row(r: ReportEntry) -> dict:
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
    return jsonl(rows)


# The fields every chunks.jsonl row has; rows written before chunking 6 lack the last two.
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


def check_layout(reports: list[ReportEntry], n: int) -> None:
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


# --- names on disk ---------------------------------------------------------------


def manifest_digest(manifest: dict) -> str:
    """Digest of the manifest's content, so damage to the manifest itself is
    reported as such rather than as a mismatch of the file it happens to hit."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def current_name(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


def generations(index_dir: Path) -> list[str]:
    gens = index_dir / "generations"
    if not gens.is_dir():
        return []
    return sorted(p.name for p in gens.iterdir() if p.is_dir() and not p.name.startswith(".tmp-"))
