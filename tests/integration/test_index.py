"""Incremental indexing, chunking and the on-disk store, on the real sample PDFs and model."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from assistant.index import keywords
from assistant.index.build import Busy, build_index
from assistant.index.chunking import CHUNKING_VERSION, GRADED_HEADING, chunk_report, header_for
from assistant.index.disk import (
    FORMAT,
    FORMAT_VERSION,
    ChunkRows,
    Generation,
    IndexLoadError,
    ModelStamp,
    NoIndex,
    Passages,
    current_name,
    encode_chunks,
    generations,
    model_stamp,
)
from assistant.index.embed import MAX_TOKENS, count_tokens
from assistant.index.read import check_generation, load_generation, load_serving
from assistant.index.write import write_generation
from assistant.reports import ingest
from tests.support.corpora import copy_corpus
from tests.support.paths import MODEL_CACHE, ROOT

BLACKPOOL_2019 = "80431_blackpool/children's services inspection - 17 january 2019.pdf"
BLACKPOOL_2012 = "80431_blackpool/children's services inspection - 13 july 2012.pdf"  # an HTML page
BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"
NORTH_NORTHANTS = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
NORFOLK = "80418_norfolk/children's services inspection,  pdf - 16 august 2013.pdf"


def distinct_texts(gen: Generation, path: str) -> int:
    """How many distinct texts a report's passages embed (repeated lines share a vector)."""
    r = next(r for r in gen.reports if r.path == path)
    return len({c.embed_text for c in gen.chunks[r.chunk_start : r.chunk_end]})


def chunk_ids(gen: Generation) -> dict[str, list[str]]:
    """Report path -> its chunk ids, in order."""
    return {r.path: [c.id for c in gen.chunks[r.chunk_start : r.chunk_end]] for r in gen.reports}


def vectors_of(gen: Generation, path: str) -> np.ndarray:
    r = next(r for r in gen.reports if r.path == path)
    return gen.vectors(r.chunk_start, r.chunk_end)


def share_model(index: Path) -> None:
    """Point a fresh index's model cache at the exported ONNX file, so a CLI run does not re-export it."""
    (index / "models").mkdir(parents=True, exist_ok=True)
    for f in MODEL_CACHE.glob("*.onnx"):
        link = index / "models" / f.name
        if not link.exists():
            link.symlink_to(f)


@pytest.fixture()
def corpus_copy(tmp_path, sample_corpus) -> Path:
    return copy_corpus(sample_corpus, tmp_path / "corpus")


# --- incremental builds --------------------------------------------------------------


def test_unchanged_corpus_embeds_nothing_and_keeps_generation(writable_index, corpus_copy, embedder):
    before = load_generation(writable_index)
    s = build_index(corpus_copy, writable_index, embedder=embedder)
    assert s.embedded == 0 and s.indexed == [] and s.removed == []
    assert s.generation == before.name == current_name(writable_index)
    assert generations(writable_index) == [before.name]
    assert sorted(s.unchanged) == sorted(r.path for r in before.reports) and len(s.unchanged) == 6
    assert [f.path for f in s.failed] == [BLACKPOOL_2012] and "HTML" in s.failed[0].reason
    assert s.chunks == len(before.chunks)


def test_delete_add_change_and_move_reuse_exactly_what_is_unchanged(writable_index, corpus_copy, tmp_path, embedder):
    original = load_generation(writable_index)
    ids0 = chunk_ids(original)
    everyone = set(ids0)

    # Deleting a report removes it and embeds nothing.
    aside = tmp_path / "aside.pdf"
    shutil.move(corpus_copy / BLACKPOOL_2019, aside)
    s = build_index(corpus_copy, writable_index, embedder=embedder)
    gen = load_generation(writable_index)
    assert (s.removed, s.indexed, s.embedded) == ([BLACKPOOL_2019], [], 0)
    assert set(s.unchanged) == everyone - {BLACKPOOL_2019}
    assert s.generation == gen.name != original.name
    assert BLACKPOOL_2019 not in chunk_ids(gen)
    for path, ids in chunk_ids(gen).items():
        assert ids == ids0[path], path
        np.testing.assert_array_equal(vectors_of(gen, path), vectors_of(original, path))

    # Adding it back embeds only its passages; its chunk ids are those of the first build.
    shutil.move(aside, corpus_copy / BLACKPOOL_2019)
    s = build_index(corpus_copy, writable_index, embedder=embedder)
    gen = load_generation(writable_index)
    assert (s.indexed, s.removed) == ([BLACKPOOL_2019], [])
    assert s.new_passages == len(ids0[BLACKPOOL_2019]) > 0
    assert s.embedded == distinct_texts(original, BLACKPOOL_2019)
    assert set(s.unchanged) == everyone - {BLACKPOOL_2019}
    assert chunk_ids(gen) == ids0
    # Same model, same text: the re-embedded vectors match the first build's.
    np.testing.assert_allclose(vectors_of(gen, BLACKPOOL_2019), vectors_of(original, BLACKPOOL_2019), atol=1e-5)

    # Changing a file's bytes re-indexes that file only; it is not also "removed".
    with (corpus_copy / BEDFORD_2022).open("ab") as fh:
        fh.write(b"\n% appended by test_index\n")
    new_sha = ingest.sha256_file(corpus_copy / BEDFORD_2022)
    s = build_index(corpus_copy, writable_index, embedder=embedder)
    gen = load_generation(writable_index)
    assert (s.indexed, s.removed) == ([BEDFORD_2022], [])
    assert s.new_passages == len(ids0[BEDFORD_2022])
    assert s.embedded == distinct_texts(original, BEDFORD_2022)
    assert set(s.unchanged) == everyone - {BEDFORD_2022}
    changed = chunk_ids(gen)[BEDFORD_2022]
    assert all(i.startswith(new_sha[:16] + ":") for i in changed)
    assert [i.split(":", 1)[1] for i in changed] == [i.split(":", 1)[1] for i in ids0[BEDFORD_2022]]
    assert next(r for r in gen.reports if r.path == BEDFORD_2022).sha256 == new_sha

    # Moving a file to another folder keeps its passages and vectors (same content hash).
    before = gen
    moved = "elsewhere/norfolk 2013.pdf"
    (corpus_copy / "elsewhere").mkdir()
    shutil.move(corpus_copy / NORFOLK, corpus_copy / moved)
    s = build_index(corpus_copy, writable_index, embedder=embedder)
    gen = load_generation(writable_index)
    assert (s.indexed, s.removed, s.embedded) == ([], [], 0)
    assert moved in s.unchanged and NORFOLK not in s.unchanged
    assert s.generation != before.name
    assert chunk_ids(gen)[moved] == ids0[NORFOLK]
    np.testing.assert_array_equal(vectors_of(gen, moved), vectors_of(original, NORFOLK))
    entry = next(r for r in gen.reports if r.path == moved)
    assert entry.meta.source_url  # the move kept the report's source link


def test_new_source_link_in_manifest_csv_reaches_the_index(writable_index, corpus_copy, embedder):
    before = load_generation(writable_index)
    old_url = next(r for r in before.reports if r.path == BEDFORD_2022).meta.source_url
    assert old_url
    csv = corpus_copy / "manifest.csv"
    csv.write_text(csv.read_text().replace(old_url, old_url + "0"))
    s = build_index(corpus_copy, writable_index, embedder=embedder)
    gen = load_generation(writable_index)
    assert s.embedded == 0 and BEDFORD_2022 in s.unchanged
    assert next(r for r in gen.reports if r.path == BEDFORD_2022).meta.source_url == old_url + "0"
    assert s.generation == gen.name != before.name


QUERIES = [
    "how effective was the MASH?",
    "care leavers accommodation and support",
    "Blackpool social workers caseloads",
    "private fostering arrangements",
]


def same_terms(a: keywords.TermTable, b: keywords.TermTable) -> bool:
    return a.vocab == b.vocab and np.array_equal(a.ids, b.ids) and np.array_equal(a.offsets, b.offsets)


def test_incremental_builds_score_bm25_exactly_as_a_rebuild(writable_index, corpus_copy, tmp_path, embedder):
    # Incremental: remove a report, then bring it back while changing another.
    aside = tmp_path / "aside.pdf"
    shutil.move(corpus_copy / BLACKPOOL_2019, aside)
    build_index(corpus_copy, writable_index, embedder=embedder)
    without = load_generation(writable_index)
    without_terms = check_generation(writable_index).passages().terms
    # Kept passages' terms were carried over, not re-tokenised: still those of a fresh
    # tokenisation, with the removed report's own terms gone from the vocabulary.
    assert same_terms(without_terms, keywords.tokenize_table([c.keyword_text for c in without.chunks]))
    shutil.move(aside, corpus_copy / BLACKPOOL_2019)
    with (corpus_copy / BEDFORD_2022).open("ab") as fh:
        fh.write(b"\n% appended by test_index\n")
    s = build_index(corpus_copy, writable_index, embedder=embedder)
    assert sorted(s.indexed) == sorted([BEDFORD_2022, BLACKPOOL_2019]) and len(s.unchanged) == 4
    incremental = load_generation(writable_index)
    incremental_terms = check_generation(writable_index).passages().terms
    assert set(without_terms.vocab) < set(incremental_terms.vocab)

    fresh = tmp_path / "rebuilt"
    r = build_index(corpus_copy, fresh, rebuild=True, embedder=embedder)
    assert r.new_passages == r.chunks == s.chunks
    rebuilt = load_generation(fresh)
    assert [c.id for c in incremental.chunks] == [c.id for c in rebuilt.chunks]
    assert same_terms(incremental_terms, check_generation(fresh).passages().terms)
    for q in QUERIES:
        terms = keywords.terms(q)
        got, want = incremental.bm25.scores(terms), rebuilt.bm25.scores(terms)
        assert want.max() > 0, q
        np.testing.assert_array_equal(got, want, err_msg=q)
    for k in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(incremental.bm25.arrays()[k], rebuilt.bm25.arrays()[k], err_msg=k)
    assert incremental.bm25.vocabulary() == rebuilt.bm25.vocabulary()


def test_rebuild_reembeds_everything_with_the_same_ids(tmp_path, sample_corpus, embedder):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [BEDFORD_2022])
    index = tmp_path / "index"
    first = build_index(corpus, index, embedder=embedder)
    gen1 = load_generation(index)
    again = build_index(corpus, index, rebuild=True, embedder=embedder)
    gen2 = load_generation(index)
    assert again.new_passages == again.chunks == first.chunks == len(gen1.chunks)
    assert again.embedded == first.embedded == distinct_texts(gen1, BEDFORD_2022)
    assert again.indexed == [BEDFORD_2022] and again.unchanged == []
    assert again.generation == gen2.name != gen1.name
    assert [c.id for c in gen2.chunks] == [c.id for c in gen1.chunks]
    np.testing.assert_allclose(gen2.vectors(0, len(gen2.chunks)), gen1.vectors(0, len(gen1.chunks)), atol=1e-5)


def test_each_passage_vector_is_its_own_embedded_text(sample_index, embedder):
    """Identical texts (Norfolk 2013 prints 'Grade 4 (inadequate)' three times) are embedded
    once and share the vector; every vector is the embedding of the passage's own text."""
    gen = load_generation(sample_index)
    vecs = gen.vectors(0, len(gen.chunks))
    by_text: dict[str, list[int]] = {}
    for i, c in enumerate(gen.chunks):
        by_text.setdefault(c.embed_text, []).append(i)
    repeated = [rows for rows in by_text.values() if len(rows) > 1]
    assert repeated
    for rows in repeated:
        assert all(np.array_equal(vecs[rows[0]], vecs[r]) for r in rows[1:])
    sample = [rows[0] for rows in list(by_text.values())[::25]] + [rows[0] for rows in repeated]
    fresh = embedder.encode([gen.chunks[i].embed_text for i in sample])
    assert float((fresh * vecs[sample]).sum(axis=1).min()) > 0.999


def test_two_generations_kept_newest_serving(tmp_path, sample_corpus, embedder):
    # Builds a second apart or less: pruning must still keep the two newest.
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS, BEDFORD_2022])
    index = tmp_path / "index"
    names = [build_index(corpus, index, embedder=embedder).generation]
    here, away = corpus / NORTH_NORTHANTS, tmp_path / "away.pdf"
    for src, dst in [(here, away), (away, here), (here, away)]:
        src.rename(dst)
        names.append(build_index(corpus, index, embedder=embedder).generation)
    assert len(set(names)) == 4
    assert names == sorted(names), "generation names must sort in creation order"
    assert generations(index) == names[-2:]
    assert current_name(index) == names[-1]


def test_cli_index_prints_summary_with_reasons(tmp_path, sample_corpus, embedder):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS, BEDFORD_2022])
    index = tmp_path / "index"
    build_index(corpus, index, embedder=embedder)
    (corpus / NORTH_NORTHANTS).unlink()
    for rel in (BLACKPOOL_2019, BLACKPOOL_2012):
        (corpus / rel).parent.mkdir(exist_ok=True)
        shutil.copy2(sample_corpus / rel, corpus / rel)
    share_model(index)
    run = subprocess.run(
        [sys.executable, "-m", "assistant", "index", "--corpus", str(corpus), "--index", str(index)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    gen = load_generation(index)
    assert re.fullmatch(
        rf"generation {re.escape(gen.name)}: 1 indexed, 1 unchanged, 1 removed, 1 failed; "
        rf"{len(gen.chunks)} passages \((\d+) new, (\d+) distinct texts embedded\) in [\d.]+ s",
        lines[0],
    ), lines
    new, embedded = map(int, re.search(r"\((\d+) new, (\d+) distinct", lines[0]).groups())
    assert new == len(chunk_ids(gen)[BLACKPOOL_2019])
    assert embedded == distinct_texts(gen, BLACKPOOL_2019)
    assert lines[1:] == [f"  failed: {BLACKPOOL_2012}: not a PDF: it is an HTML page saved with a .pdf name"]


def test_second_build_on_same_index_is_busy(tmp_path, sample_corpus, embedder):
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [BEDFORD_2022])
    index = tmp_path / "index"
    holding, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hold(stage, done, total):
        # The first progress call happens with the build lock held.
        holding.set()
        release.wait(60)

    def first():
        try:
            outcome["summary"] = build_index(corpus, index, embedder=embedder, progress=hold)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    t = threading.Thread(target=first)
    t.start()
    try:
        assert holding.wait(60)
        with pytest.raises(Busy, match="already running"):
            build_index(corpus, index, embedder=embedder)
        # Another process is refused too, before it loads anything.
        run = subprocess.run(
            [sys.executable, "-m", "assistant", "index", "--corpus", str(corpus), "--index", str(index)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 3 and "already running" in run.stderr
    finally:
        release.set()
        t.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["summary"].indexed == [BEDFORD_2022]
    # The lock went with the build: the next one runs.
    assert build_index(corpus, index, embedder=embedder).embedded == 0


# --- chunking -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ingested(sample_corpus):
    result = ingest.ingest_folder(sample_corpus)
    assert len(result.reports) == 6
    return result.reports


def _check_chunks(report) -> list:
    chunks = chunk_report(report)
    assert chunks
    sizes = count_tokens([c.embed_text for c in chunks])
    over = [(c.id, n) for c, n in zip(chunks, sizes) if n > MAX_TOKENS]
    assert not over, f"{report.path}: chunks over {MAX_TOKENS} tokens: {over}"
    assert len({c.id for c in chunks}) == len(chunks)
    by_para: dict[int, list] = {}
    for c in chunks:
        assert c.id == f"{report.sha256[:16]}:{c.paragraph}:{c.part}"
        # Embedded: the section and the passage; keyword-scored: authority, year, section and passage.
        assert c.embed_text == (f"{c.section}\n{c.text}" if c.section else c.text)
        assert c.keyword_text == f"{c.header}\n{c.text}"
        assert c.header and c.header not in c.text
        by_para.setdefault(c.paragraph, []).append(c)
    for p in report.paragraphs:
        parts = by_para.get(p.index)
        if parts is None:
            # Only headings without a judgement are left out: they travel as `section`.
            assert p.kind == "heading" and not GRADED_HEADING.search(p.text) or not p.text.strip(), p
            continue
        assert [c.part for c in parts] == list(range(len(parts)))
        assert " ".join(c.text for c in parts) == p.text, f"{report.path} paragraph {p.index}: text lost in splitting"
        assert all(c.header == header_for(report, p.section) and c.section == p.section for c in parts)
        assert all(c.number == p.number and c.kind == p.kind and c.page in p.pages for c in parts)
        assert parts[0].page == p.pages[0]
    return chunks


def test_chunks_fit_window_keep_all_text_and_keep_header_apart(ingested):
    total = sum(len(_check_chunks(r)) for r in ingested)
    assert total > 600


def test_overlong_paragraphs_split_without_loss(ingested):
    """Real report text run together into paragraphs far over the window: the
    sentence splitter and, with the full stops removed, the word splitter."""
    report = max(ingested, key=lambda r: len(r.paragraphs))
    body = [p for p in report.paragraphs if p.kind == "body"]
    merged = []
    for i in range(0, len(body) - 8, 8):
        group = body[i : i + 8]
        merged.append(replace(group[0], index=len(merged), text=" ".join(p.text for p in group), pages=group[0].pages, spans=()))
    no_stops = [replace(p, index=len(merged) + i, text=p.text.replace(". ", " ")) for i, p in enumerate(merged)]
    synthetic = replace(report, paragraphs=tuple(merged + no_stops))
    chunks = _check_chunks(synthetic)
    assert len(chunks) > 2 * len(synthetic.paragraphs), "expected the long paragraphs to be split"


# --- the store ------------------------------------------------------------------------


def test_keyword_index_is_bm25s_own_on_the_stored_terms(sample_index):
    gen = load_generation(sample_index)
    table = check_generation(sample_index).passages().terms
    spans = list(zip(table.offsets[:-1].tolist(), table.offsets[1:].tolist()))
    # The stored terms are what the query side's tokenizer makes of each passage.
    assert [[table.vocab[i] for i in table.ids[a:b]] for a, b in spans] == [keywords.terms(c.keyword_text) for c in gen.chunks]
    # keywords.bm25_index computes bm25s's scores with array operations: bit for bit the same.
    import bm25s

    reference = bm25s.BM25()
    reference.index(([table.ids[a:b].tolist() for a, b in spans], {w: i for i, w in enumerate(table.vocab)}), show_progress=False)
    mine = keywords.bm25_index(table)
    for k in ("data", "indices", "indptr"):
        assert mine.scores[k].dtype == reference.scores[k].dtype, k
        assert mine.scores[k].tobytes() == reference.scores[k].tobytes(), k
        np.testing.assert_array_equal(gen.bm25.arrays()[k], mine.scores[k], err_msg=k)
    assert mine.scores["num_docs"] == reference.scores["num_docs"] == len(gen.chunks)
    assert mine.vocab_dict == reference.vocab_dict


def test_passages_round_trip_with_what_chunks_jsonl_leaves_out(sample_index, ingested, tmp_path):
    gen = load_generation(sample_index)
    rows = [json.loads(line) for line in (gen.path / "chunks.jsonl").read_text(encoding="utf-8").split("\n") if line]
    assert len(rows) == len(gen.chunks)
    assert all(set(r) == {"paragraph", "part", "page", "number", "section", "kind", "judgement", "grade", "text"} for r in rows)
    # Ids, hashes and headers come back from the report entries as chunking made them.
    made = {r.path: chunk_report(r) for r in ingested}
    for r in gen.reports:
        assert gen.chunks[r.chunk_start : r.chunk_end] == made[r.path], r.path

    # Text that trips line-based JSON readers survives a write and a load.
    i = gen.reports[1].chunk_start + 3
    odd = replace(gen.chunks[i], text=gen.chunks[i].text + ' \u2028and "quoted"\nnext line\u2029')
    chunks = gen.chunks[:i] + [odd] + gen.chunks[i + 1 :]
    encoded = b"".join(encode_chunks(r, chunks[r.chunk_start : r.chunk_end]) for r in gen.reports)
    passages = Passages(ChunkRows.of(encoded), keywords.tokenize_table([c.keyword_text for c in chunks]), gen.vectors(0, len(chunks)))
    index = tmp_path / "index"
    name = write_generation(index, gen.model, gen.reports, gen.failures, passages, gen.corpus)
    back = load_generation(index)
    assert back.name == name and back.chunks == chunks
    assert (back.reports, back.failures) == (gen.reports, gen.failures)

    # What the entry would not give back is refused before anything is written.
    entry = gen.reports[0]
    moved = replace(entry, meta=replace(entry.meta, local_authority="Elsewhere"))
    with pytest.raises(ValueError, match="does not match its report entry"):
        encode_chunks(moved, gen.chunks[entry.chunk_start : entry.chunk_end])
    with pytest.raises(ValueError, match="belong to no report"):
        write_generation(index, gen.model, gen.reports[:-1], gen.failures, passages, gen.corpus)
    assert current_name(index) == name and generations(index) == [name]


def test_manifest_records_format_model_chunking_and_hashes(sample_index, sample_corpus, embedder):
    gen = load_generation(sample_index)
    manifest = json.loads((gen.path / "manifest.json").read_text())
    assert (manifest["format"], manifest["version"]) == (FORMAT, FORMAT_VERSION)
    assert manifest["model"] == asdict(model_stamp(embedder))
    assert manifest["model"]["dim"] == 384 and len(manifest["model"]["weights_sha256"]) == 64
    assert manifest["chunking"] == {"version": CHUNKING_VERSION, "max_tokens": MAX_TOKENS}
    on_disk = {p.relative_to(gen.path).as_posix() for p in gen.path.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert {"reports.jsonl", "chunks.jsonl", "failures.jsonl", "dense.faiss"} <= on_disk
    assert {"terms/vocab.json", "terms/ids.npy", "terms/offsets.npy"} <= on_disk
    assert any(f.startswith("bm25/") for f in on_disk)
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((gen.path / rel).read_bytes()).hexdigest() == digest, rel
    for r in gen.reports:
        assert r.sha256 == ingest.sha256_file(sample_corpus / r.path), r.path
    assert manifest["counts"] == {"reports": 6, "chunks": len(gen.chunks), "failures": 1}


def test_refuses_index_built_with_another_model(sample_index, embedder):
    mine = model_stamp(embedder)
    other = ModelStamp(mine.name, mine.dim, "0" * 64, mine.backend)
    with pytest.raises(IndexLoadError) as err:
        load_generation(sample_index, expect_model=other)
    msg = str(err.value)
    assert "manifest.json" in msg and "built with" in msg and "--rebuild" in msg
    assert load_generation(sample_index, expect_model=mine).model == mine


@pytest.mark.parametrize("version", [FORMAT_VERSION - 1, FORMAT_VERSION + 1], ids=["older", "newer"])
def test_refuses_another_format_version(writable_index, version):
    mpath = writable_index / "generations" / current_name(writable_index) / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest["version"] = version
    mpath.write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError) as err:
        load_generation(writable_index)
    msg = str(err.value)
    assert str(mpath) in msg and f"v{version} is not {FORMAT} v{FORMAT_VERSION}" in msg and "--rebuild" in msg


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _garble(data: bytes) -> bytes:
    mid = len(data) // 2
    junk = bytes((b ^ 0x5A) for b in data[mid : mid + 16]) or b"\xff"
    return data[:mid] + junk + data[mid + len(junk) :]


def test_each_damaged_file_is_named_and_the_previous_generation_serves(writable_index, corpus_copy, embedder):
    stamp = model_stamp(embedder)
    previous = current_name(writable_index)
    (corpus_copy / BLACKPOOL_2019).unlink()
    newest = build_index(corpus_copy, writable_index, embedder=embedder).generation
    assert generations(writable_index) == sorted([previous, newest])
    gen_dir = writable_index / "generations" / newest
    files = sorted(p for p in gen_dir.rglob("*") if p.is_file())
    rels = {p.relative_to(gen_dir).as_posix() for p in files}
    assert {"manifest.json", "reports.jsonl", "chunks.jsonl", "failures.jsonl", "dense.faiss"} <= rels
    assert len([r for r in rels if r.startswith("bm25/")]) >= 3

    for f in files:
        good = f.read_bytes()
        assert good, f
        for how in ("truncated", "garbled", "deleted"):
            if how == "deleted":
                f.unlink()
            else:
                f.write_bytes(_truncate(good) if how == "truncated" else _garble(good))
            try:
                with pytest.raises(IndexLoadError) as err:
                    load_generation(writable_index, expect_model=stamp)
                assert str(f) in str(err.value), (how, str(err.value))
                assert not isinstance(err.value, NoIndex)
                serving = load_serving(writable_index, expect_model=stamp)
                assert serving.generation.name == previous and serving.fell_back
                assert len(serving.skipped) == 1 and str(f) in serving.skipped[0]
            finally:
                f.write_bytes(good)
    # The previous generation loads by name, with the report the newest one lacks.
    prev = load_generation(writable_index, name=previous, expect_model=stamp)
    assert BLACKPOOL_2019 in chunk_ids(prev)
    serving = load_serving(writable_index, expect_model=stamp)
    assert serving.generation.name == newest and serving.skipped == () and not serving.fell_back
    assert BLACKPOOL_2019 not in chunk_ids(serving.generation)


def test_no_usable_generation_is_a_clear_error(tmp_path, sample_corpus, embedder):
    with pytest.raises(NoIndex, match="build one"):
        load_serving(tmp_path / "nothing-here")
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORTH_NORTHANTS, BEDFORD_2022])
    index = tmp_path / "index"
    build_index(corpus, index, embedder=embedder)
    (corpus / NORTH_NORTHANTS).unlink()
    build_index(corpus, index, embedder=embedder)
    damaged = []
    for name in generations(index):
        f = index / "generations" / name / "chunks.jsonl"
        f.write_bytes(_truncate(f.read_bytes()))
        damaged.append(str(f))
    assert len(damaged) == 2
    with pytest.raises(IndexLoadError) as err:
        load_serving(index, expect_model=model_stamp(embedder))
    assert all(d in str(err.value) for d in damaged) and "no usable index generation" in str(err.value)
    # A damaged current generation is rebuilt from scratch by the next build.
    s = build_index(corpus, index, embedder=embedder)
    assert s.indexed == [BEDFORD_2022] and s.new_passages == s.chunks > 0
    serving = load_serving(index)
    assert serving.generation.name == s.generation and not serving.fell_back


# --- review defects (issue 9) ---------------------------------------------------------


def test_summary_counts_passages_and_the_distinct_texts_embedded(tmp_path, sample_corpus, embedder):
    # Norfolk 2013 prints some lines word for word more than once: fewer texts embedded than passages.
    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [NORFOLK])
    s = build_index(corpus, tmp_path / "index", embedder=embedder)
    gen = load_generation(tmp_path / "index")
    assert s.new_passages == s.chunks == len(gen.chunks)
    assert s.embedded == len({c.embed_text for c in gen.chunks}) < s.new_passages
    assert f"({s.new_passages} new, {s.embedded} distinct texts embedded)" in s.lines()[0]


def test_manifest_window_is_the_embedders_constant(sample_index, tmp_path, monkeypatch):
    import assistant.index.embed

    gen = load_generation(sample_index)
    passages = check_generation(sample_index).passages()
    monkeypatch.setattr(assistant.index.embed, "MAX_TOKENS", 200)  # as if the model's window changed
    write_generation(tmp_path / "index", gen.model, gen.reports, gen.failures, passages, gen.corpus)
    manifest = json.loads((tmp_path / "index" / "generations" / current_name(tmp_path / "index") / "manifest.json").read_text())
    assert manifest["chunking"]["max_tokens"] == 200


@pytest.mark.parametrize("bug", [TypeError, AttributeError])
def test_a_bug_while_loading_surfaces_as_itself(sample_index, monkeypatch, bug):
    import assistant.index.read

    def broken(*args, **kwargs):
        raise bug("a bug in the loading code, not in the index")

    monkeypatch.setattr(assistant.index.read, "_decode_chunks", broken)
    with pytest.raises(bug, match="a bug in the loading code"):
        load_generation(sample_index)
    with pytest.raises(bug):  # not passed over as a damaged generation either
        load_serving(sample_index)


def _reseal(gen_dir: Path, rel: str, data: bytes) -> None:
    """Replace a generation's file and update the manifest to match, as a writer of another format might."""
    from assistant.index.disk import manifest_digest

    (gen_dir / rel).write_bytes(data)
    mpath = gen_dir / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest["files"][rel] = hashlib.sha256(data).hexdigest()
    manifest["checksum"] = manifest_digest(manifest)
    mpath.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "rel, change",
    [
        ("reports.jsonl", lambda row: {**row, "colour": "blue"}),  # a field this format does not have
        ("reports.jsonl", lambda row: {**row, "meta": "not an object"}),
        ("failures.jsonl", lambda row: ["a", "list"]),
        ("chunks.jsonl", lambda row: [row]),
    ],
    ids=["extra-field", "meta-not-object", "failure-not-object", "chunk-not-object"],
)
def test_rows_of_the_wrong_shape_are_an_unreadable_index_with_the_cause_kept(writable_index, rel, change):
    gen_dir = writable_index / "generations" / current_name(writable_index)
    if rel == "failures.jsonl":
        assert (gen_dir / rel).read_text().strip(), "the sample index has a failure row"
    lines = (gen_dir / rel).read_text(encoding="utf-8").splitlines()
    lines[0] = json.dumps(change(json.loads(lines[0])), ensure_ascii=False)
    _reseal(gen_dir, rel, ("\n".join(lines) + "\n").encode("utf-8"))
    with pytest.raises(IndexLoadError, match="unreadable index data") as err:
        load_generation(writable_index)
    assert str(gen_dir) in str(err.value)
    assert isinstance(err.value.__cause__, ValueError)  # the traceback of the fault is kept


def test_loaded_passages_are_read_as_a_list_of_chunks_and_by_column(sample_index):
    from assistant.index.disk import ChunkList
    from assistant.search.searcher import SIGNAL_NAMES, Masks
    from assistant.settings import RankingSettings

    gen = load_generation(sample_index)
    chunks = gen.chunks
    assert isinstance(chunks, ChunkList)
    made = list(chunks)  # every passage made into a Chunk, one by one
    assert len(made) == len(chunks) > 600 and chunks == made and made == chunks[:]
    assert chunks[-1] == made[-1] and chunks[5:9] == made[5:9] and chunks[::50] == made[::50]
    with pytest.raises(IndexError):
        chunks[len(chunks)]
    for field in ("text", "kind", "page", "number", "section", "judgement", "grade"):
        assert chunks.column(field) == [getattr(c, field) for c in made], field
    # The serving flags read from the columns are those read from the passages.
    st = RankingSettings(boilerplate_reports=20)
    by_column, by_passage = Masks.of(chunks, st), Masks.of(made, st)
    for name in SIGNAL_NAMES:
        np.testing.assert_array_equal(getattr(by_column, name), getattr(by_passage, name), err_msg=name)
    # "Under five words" as str.split counts them, without splitting every passage.
    np.testing.assert_array_equal(by_column.front, [c.kind == "front" or len(c.text.split()) < 5 for c in made])
    assert by_column.front.any() and not by_column.front.all()


def test_a_passage_row_without_a_field_fails_the_load_not_a_search(writable_index):
    gen_dir = writable_index / "generations" / current_name(writable_index)
    lines = (gen_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[-1])
    del row["section"]
    lines[-1] = json.dumps(row, ensure_ascii=False)
    _reseal(gen_dir, "chunks.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    with pytest.raises(IndexLoadError, match="unreadable index data.*section"):
        load_generation(writable_index)
