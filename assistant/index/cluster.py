"""Index builds on a Ray cluster: `python -m assistant index --ray [ADDRESS]`.

The build is the usual one (build.build_index: the same plan by content
hash, the same generation written by this process with the same atomic
switch); only the new and changed files' parsing, chunking and embedding run
as Ray tasks. A parsing task gets a batch of files as bytes (no shared file
system needed), parses them in the same time- and memory-limited worker
process as a local build and chunks them; the passage texts this build has
not seen yet go out in embedding tasks, the model loaded once per Ray worker.
A task whose worker dies is retried by Ray (IngestSettings.cluster_retries); if a parsing task
still fails, its files are reported as failed by name, and if an embedding
task does, the build stops. An exception raised by our own code in a task is
a bug and stops the build, before anything is written.

Ray is optional (requirements-cluster.txt); nothing else imports this module.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..reports import ingest, metadata
from ..reports.document import IngestFailure
from ..settings import IngestSettings
from . import embed
from .build import BuildSummary, Prepare, Prepared, Progress, build_index

# Retries, files per parsing task and texts per embedding task are the `limits`'
# (settings.IngestSettings: cluster_retries, cluster_batch_most, cluster_embed_batch).
# Files per task: a task starts one parser process (~0.5 s), so not one file each;
# at most a quarter of the files per CPU, so the CPUs finish together. Texts per
# embedding task: a few seconds of one CPU (~15 ms a passage), so tasks spread over
# the CPUs and a retried task repeats little.


class RayMissing(RuntimeError):
    """--ray without Ray installed."""


def _ray():
    try:
        import ray
    except ImportError:
        raise RayMissing("--ray needs Ray: pip install -r requirements-cluster.txt") from None
    return ray


def connect(address: str | None, num_cpus: int | None = None) -> bool:
    """Join the cluster at `address`, or start a local Ray instance; True when this call started it.

    Quiet and private: no usage statistics, no dashboard, workers' logs kept out of the CLI's output.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = _ray()
    if ray.is_initialized():
        return False
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING, configure_logging=True)
    if address:
        # The nodes have the requirements installed; this package travels with the job.
        ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).resolve().parent)]}, **kwargs)
    else:
        ray.init(address="local", num_cpus=num_cpus, **kwargs)  # a new instance, never one found running
    return True


_EMBEDDER: embed.Embedder | None = None


def _embedder(cache_dir: str) -> embed.Embedder:
    """The model, loaded once per Ray worker process (tasks reuse their worker)."""
    global _EMBEDDER
    if _EMBEDDER is None:
        _EMBEDDER = embed.load_embedder(cache_dir=Path(cache_dir))
    return _EMBEDDER


def parse_batch(
    files: list[tuple[str, bytes]], manifest: dict[str, metadata.ManifestRow], limits: IngestSettings
) -> tuple[list[Prepared], list[IngestFailure]]:
    """One parsing task: parse (in a limited worker process, as locally) and chunk."""
    with tempfile.TemporaryDirectory(prefix="assistant-task-") as tmp:
        todo = []
        for i, (rel, data) in enumerate(files):
            path = Path(tmp) / f"{i}{Path(rel).suffix}"  # the parser goes by `rel`'s suffix; the name is ours
            path.write_bytes(data)
            todo.append((path, rel))
        result = ingest.ingest_files(todo, manifest, 1, limits)
    return [Prepared.of(r) for r in result.reports], result.failures


def embed_texts(texts: list[str], cache_dir: str) -> np.ndarray:
    """One embedding task: vectors for distinct passage texts."""
    return _embedder(cache_dir).encode(texts)


class _Distinct:
    """Passage texts seen so far across the whole build, each sent to be embedded once
    (a local build embeds each distinct text once too; per-task dedup embedded 14 % more
    on the shared corpus, bench/RESULTS.md "Scale")."""

    def __init__(self) -> None:
        self.slot: dict[str, int] = {}
        self.waiting: list[str] = []  # new texts not yet sent, in slot order

    def add(self, p: Prepared) -> tuple[np.ndarray, int]:
        """Rows of `p`'s passages among the distinct texts, and how many of them `p` brought."""
        rows = np.empty(len(p.chunks), dtype=np.int64)
        before = len(self.waiting)
        for i, c in enumerate(p.chunks):
            row = self.slot.get(c.embed_text)
            if row is None:
                row = self.slot[c.embed_text] = len(self.slot)
                self.waiting.append(c.embed_text)
            rows[i] = row
        return rows, len(self.waiting) - before

    def take(self, batch: int, flush: bool = False) -> list[list[str]]:
        """Whole batches of waiting texts (and the rest, when flushing), in slot order."""
        k = len(self.waiting) if flush else len(self.waiting) - len(self.waiting) % batch
        out = [self.waiting[i : min(i + batch, k)] for i in range(0, k, batch)]
        self.waiting = self.waiting[k:]
        return out


def ray_prepare(cache_dir: Path, limits: IngestSettings = IngestSettings()) -> Prepare:
    """A `Prepare` for build.build_index that runs the files as Ray tasks (Ray connected).

    Parsing tasks return chunks; as they come back, texts not seen before in this
    build go out in embedding tasks, so parsing and embedding overlap and each
    distinct text is embedded once across the whole build, as locally.
    """
    ray = _ray()
    retries = limits.cluster_retries
    parse = ray.remote(max_retries=retries, retry_exceptions=False)(parse_batch)
    embed_task = ray.remote(max_retries=retries, retry_exceptions=False)(embed_texts)

    def prepare(todo: list[tuple[Path, str]], manifest: dict[str, metadata.ManifestRow], note: Progress):
        if not todo:
            return [], []
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = max(1, min(limits.cluster_batch_most, len(todo) // (4 * cpus)))
        # Largest first, as locally: the last tasks to finish are small ones.
        todo = sorted(todo, key=lambda item: -item[0].stat().st_size)
        n = -(-len(todo) // size)
        batches = [todo[i::n] for i in range(n)]  # each batch a mix of large and small files
        # The manifest rows travel once through the object store; Ray hands each task the value.
        rows = ray.put({rel: manifest[rel] for _, rel in todo if rel in manifest})
        parsing = {}
        for batch in batches:
            files = [(rel, path.read_bytes()) for path, rel in batch]
            parsing[parse.remote(files, rows, limits)] = [rel for _, rel in batch]
        parsed: list[tuple[Prepared, np.ndarray, int]] = []
        failures: list[IngestFailure] = []
        distinct = _Distinct()
        embedding: dict = {}  # task -> (first distinct row, count)
        sent = 0

        def send(batches: list[list[str]]) -> None:
            nonlocal sent
            for texts in batches:
                embedding[embed_task.remote(texts, str(cache_dir))] = (sent, len(texts))
                sent += len(texts)

        done = 0
        note("reading reports", 0, len(todo))
        while parsing:
            ready, _ = ray.wait(list(parsing), num_returns=1)
            rels = parsing.pop(ready[0])
            try:
                got, failed = ray.get(ready[0])
            except ray.exceptions.RayTaskError:
                raise  # our own code raised: a bug, not a bad file
            except ray.exceptions.RayError as exc:
                why = f"the cluster task failed {retries + 1} times ({type(exc).__name__})"
                got, failed = [], [IngestFailure(rel, why) for rel in rels]
            for p in got:
                parsed.append((p, *distinct.add(p)))
            failures += failed
            send(distinct.take(limits.cluster_embed_batch))
            done += len(rels)
            note("reading reports", done, len(todo))
        send(distinct.take(limits.cluster_embed_batch, flush=True))
        parts: dict[int, np.ndarray] = {}
        note("embedding passages", 0, sent)
        got_rows = 0
        while embedding:
            ready, _ = ray.wait(list(embedding), num_returns=1)
            start, count = embedding.pop(ready[0])
            try:
                parts[start] = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                # Not one file's fault: stop the build before anything is written.
                raise RuntimeError(f"embedding {count} passages on the cluster failed {retries + 1} times ({type(exc).__name__})") from exc
            got_rows += count
            note("embedding passages", got_rows, sent)
        if not parts:  # no passages at all: nothing to hand over (the build embeds none either)
            return [p for p, _, _ in parsed], failures
        vectors = np.concatenate([parts[k] for k in sorted(parts)])
        return [replace(p, vectors=vectors[r], embedded=k) for p, r, k in parsed], failures

    return prepare


def build_index_on_ray(
    corpus: Path,
    index_dir: Path,
    address: str | None = None,
    rebuild: bool = False,
    embedder: embed.Embedder | None = None,
    progress: Progress | None = None,
    limits: IngestSettings = IngestSettings(),
    num_cpus: int | None = None,
    model_cache: Path | None = None,
) -> BuildSummary:
    """build.build_index with new files parsed, chunked and embedded on Ray (`address`,
    or a local instance with `num_cpus`); the generation is written here, as always.
    Workers load the model from `model_cache` (default INDEX/models; exported there if absent)."""
    started = connect(address, num_cpus)
    try:
        cache = Path(model_cache or index_dir / "models").resolve()
        return build_index(
            corpus, index_dir, rebuild=rebuild, embedder=embedder, progress=progress, limits=limits, prepare=ray_prepare(cache, limits)
        )
    finally:
        if started:
            _ray().shutdown()
