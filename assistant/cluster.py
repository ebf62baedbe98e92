"""Index builds on a Ray cluster: `python -m assistant index --ray [ADDRESS]`.

The build is the usual one (indexer.build_index: the same plan by content
hash, the same generation written by this process with the same atomic
switch); only the new and changed files' parsing, chunking and embedding run
as Ray tasks. Each task gets a batch of files as bytes (no shared file system
needed), parses them in the same time- and memory-limited worker process as a
local build, chunks them and embeds their passages with the model loaded once
per Ray worker. A task whose worker dies is retried by Ray (TASK_RETRIES); if
it still fails, its files are reported as failed by name. An exception raised
by our own code in a task is a bug and stops the build, before anything is
written.

Ray is optional (requirements-cluster.txt); nothing else imports this module.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from . import embed, ingest, metadata
from .document import IngestFailure
from .indexer import BuildSummary, Prepare, Prepared, Progress, build_index, embed_distinct

TASK_RETRIES = 3  # Ray's own default for tasks whose worker dies
# Files per task: a task starts one parser process (~0.5 s), so not one file each;
# at most a quarter of the files per CPU, so the CPUs finish together.
BATCH_MOST = 8


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


def prepare_batch(
    files: list[tuple[str, bytes]], manifest: dict[str, metadata.ManifestRow], limits: ingest.Limits, cache_dir: str
) -> tuple[list[Prepared], list[IngestFailure]]:
    """One task's work: parse (in a limited worker process, as locally), chunk, embed."""
    with tempfile.TemporaryDirectory(prefix="assistant-task-") as tmp:
        todo = []
        for i, (rel, data) in enumerate(files):
            path = Path(tmp) / f"{i}{Path(rel).suffix}"  # the parser goes by `rel`'s suffix; the name is ours
            path.write_bytes(data)
            todo.append((path, rel))
        result = ingest.ingest_files(todo, manifest, 1, limits)
    embedder = _embedder(cache_dir)
    prepared = []
    for report in result.reports:
        p = Prepared.of(report)
        vectors, n = embed_distinct(embedder, [c.embed_text for c in p.chunks])
        prepared.append(replace(p, vectors=vectors, embedded=n))
    return prepared, result.failures


def ray_prepare(cache_dir: Path, limits: ingest.Limits = ingest.Limits()) -> Prepare:
    """A `Prepare` for indexer.build_index that runs the files as Ray tasks (Ray connected)."""
    ray = _ray()
    task = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(prepare_batch)

    def prepare(todo: list[tuple[Path, str]], manifest: dict[str, metadata.ManifestRow], note: Progress):
        if not todo:
            return [], []
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = max(1, min(BATCH_MOST, len(todo) // (4 * cpus)))
        # Largest first, as locally: the last tasks to finish are small ones.
        todo = sorted(todo, key=lambda item: -item[0].stat().st_size)
        n = -(-len(todo) // size)
        batches = [todo[i::n] for i in range(n)]  # each batch a mix of large and small files
        # The manifest rows travel once through the object store; Ray hands each task the value.
        rows = ray.put({rel: manifest[rel] for _, rel in todo if rel in manifest})
        pending = {}
        for batch in batches:
            files = [(rel, path.read_bytes()) for path, rel in batch]
            pending[task.remote(files, rows, limits, str(cache_dir))] = [rel for _, rel in batch]
        prepared: list[Prepared] = []
        failures: list[IngestFailure] = []
        done = 0
        note("reading reports", 0, len(todo))
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            rels = pending.pop(ready[0])
            try:
                got, failed = ray.get(ready[0])
            except ray.exceptions.RayTaskError:
                raise  # our own code raised: a bug, not a bad file
            except ray.exceptions.RayError as exc:
                why = f"the cluster task failed {TASK_RETRIES + 1} times ({type(exc).__name__})"
                got, failed = [], [IngestFailure(rel, why) for rel in rels]
            prepared += got
            failures += failed
            done += len(rels)
            note("reading reports", done, len(todo))
        return prepared, failures

    return prepare


def build_index_on_ray(
    corpus: Path,
    index_dir: Path,
    address: str | None = None,
    rebuild: bool = False,
    embedder: embed.Embedder | None = None,
    progress: Progress | None = None,
    limits: ingest.Limits = ingest.Limits(),
    num_cpus: int | None = None,
    model_cache: Path | None = None,
) -> BuildSummary:
    """indexer.build_index with new files parsed, chunked and embedded on Ray (`address`,
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
