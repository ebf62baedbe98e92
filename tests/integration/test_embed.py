"""assistant.index.embed against the real all-MiniLM-L6-v2 weights (no mocks)."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from assistant.index import embed
from assistant.index.embed import MAX_TOKENS, WEIGHTS_SHA256, Embedder, ModelIntegrityError, load_embedder
from tests.support.paths import ROOT

DIM = 384
BACKENDS = ("torch", "onnx-int8")

SENTENCES = [
    "Children in care are visited regularly by their social workers, who see them alone.",
    "Care leavers receive effective support from personal advisers to find suitable accommodation.",
    "The multi-agency safeguarding hub responds promptly to contacts about children at risk of harm.",
    "Thresholds are not consistently understood by partner agencies, leading to inappropriate referrals.",
    "Strategy meetings are timely and well attended by police and health colleagues.",
    "Return home interviews for children who go missing are not always completed.",
    "Private fostering arrangements are not well publicised.",
    "Leaders have a clear understanding of the strengths and weaknesses of their services.",
    "Caseloads are manageable and social workers say they feel well supported by managers.",
    "Unaccompanied asylum-seeking children are helped to access English language courses.",
    "The impact of leaders on social work practice with children and families: good.",
    "Overall effectiveness: inadequate.",
    "Permanence planning for children is too slow, and some children wait too long for adoption.",
    "Independent reviewing officers provide effective challenge when plans drift.",
    "Children subject to child protection plans are seen within timescales.",
    "Disabled children receive a timely assessment of their needs.",
    "Supervision records are brief and do not show reflective discussion of risk.",
    "Young people aged 16 and 17 who present as homeless are offered accommodation the same day.",
    "Ofsted inspected the local authority's children's services between 3 and 14 June 2024.",
    "Corporate parenting board members know children's views well; the children in care council is active.",
    # Non-ASCII, numbers and an empty string: tokenizer edge cases must agree too.
    "Pupils' attendance rose to 94·1% — up from 89% in 2019 (Ofsted, naïve café test).",
    "",
]

# ~400 words: the first half is about care leavers, the rest about roads, so a
# backend that truncated at a different point (e.g. the 128 tokens in the
# shipped tokenizer.json) would produce a visibly different vector.
LONG_TEXT = " ".join(
    ["Care leavers are supported by personal advisers who help them with housing, education and money."] * 20
    + ["The highways department resurfaced roads and repaired street lights across the district."] * 20
)


pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_embedder(onnx_cache: pathlib.Path) -> Embedder:
    return load_embedder("onnx-int8", cache_dir=onnx_cache, model="base")


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    return load_embedder("torch")


@pytest.fixture(params=BACKENDS)
def any_embedder(request: pytest.FixtureRequest) -> Embedder:
    name = "torch_embedder" if request.param == "torch" else "onnx_embedder"
    emb: Embedder = request.getfixturevalue(name)
    assert emb.info.backend == request.param
    return emb


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


# --- integrity -------------------------------------------------------------


def test_bundled_weights_match_pinned_digest() -> None:
    weights = embed.model_dir() / "model.safetensors"
    with weights.open("rb") as fh:
        assert hashlib.file_digest(fh, "sha256").hexdigest() == WEIGHTS_SHA256


def test_tampered_model_dir_is_refused(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, onnx_embedder: Embedder, onnx_cache: pathlib.Path
) -> None:
    copy = tmp_path / "model"
    source = embed.model_dir()
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("model.safetensors"))
    data = bytearray((source / "model.safetensors").read_bytes())
    data[-1] ^= 0x01  # one flipped bit in the last weight
    (copy / "model.safetensors").write_bytes(bytes(data))
    monkeypatch.setenv("ASSISTANT_MODEL_DIR", str(copy))
    assert embed.model_dir() == copy.resolve()

    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_embedder("torch")
    # Checked even when a good int8 model for the pinned digest is already cached...
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_embedder("onnx-int8", cache_dir=onnx_cache, model="base")
    # ...and nothing is exported from bad weights.
    empty = tmp_path / "cache"
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_embedder("onnx-int8", cache_dir=empty, model="base")
    assert not empty.exists()

    (copy / "model.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match="not found"):
        load_embedder("torch")


def test_unknown_backend_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="onnx-int8.*torch"):
        load_embedder("onnx")


# --- vectors ---------------------------------------------------------------


def test_info(any_embedder: Embedder) -> None:
    info = any_embedder.info
    assert info.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (info.dim, info.max_tokens, info.weights_sha256) == (DIM, MAX_TOKENS, WEIGHTS_SHA256)


def test_shape_norm_and_input_order(any_embedder: Embedder) -> None:
    # Lengths deliberately out of order, so the internal length sort must be undone.
    texts = [SENTENCES[0], LONG_TEXT, "", SENTENCES[6], SENTENCES[12] * 3, "Good.", SENTENCES[9]]
    seen: list[int] = []
    vecs = any_embedder.encode(texts, batch_size=3, progress=seen.append)

    assert vecs.shape == (len(texts), DIM) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert seen == [3, 6, 7]

    one_by_one = np.vstack([any_embedder.encode([t]) for t in texts])
    sims = vecs @ one_by_one.T
    assert list(sims.argmax(axis=1)) == list(range(len(texts)))
    assert cosines(vecs, one_by_one).min() > 0.999


def test_onnx_vector_does_not_depend_on_batch_mates(onnx_embedder: Embedder) -> None:
    # Dynamic int8 scales activations per tensor; padded batches would make a
    # short text's vector depend on its neighbours (seen: cosine 0.965).
    alone = onnx_embedder.encode(["Good."])
    for mates in ([LONG_TEXT], SENTENCES[:5], [SENTENCES[7]] * 40):
        together = onnx_embedder.encode(mates + ["Good."], batch_size=64)[-1:]
        np.testing.assert_allclose(together, alone, atol=1e-6)


def test_empty_and_bad_input(any_embedder: Embedder) -> None:
    assert any_embedder.encode([]).shape == (0, DIM)
    assert any_embedder.encode([]).dtype == np.float32
    with pytest.raises(TypeError):
        any_embedder.encode("a bare string")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        any_embedder.encode(["x"], batch_size=0)


def test_backends_agree(torch_embedder: Embedder, onnx_embedder: Embedder) -> None:
    texts = SENTENCES + [LONG_TEXT]
    cos = cosines(torch_embedder.encode(texts), onnx_embedder.encode(texts))
    print(f"torch vs onnx-int8 over {len(texts)} texts: mean cosine {cos.mean():.4f}, min {cos.min():.4f}")
    assert cos.mean() >= 0.98
    assert cos.min() >= 0.95


def test_paraphrase_closer_than_unrelated(any_embedder: Embedder) -> None:
    triples = [
        (
            "Social workers visit children in care regularly and see them on their own.",
            "Children looked after are seen alone by their social worker at frequent intervals.",
            "The council resurfaced three roads in the town centre last summer.",
        ),
        (
            "Too many care leavers live in unsuitable accommodation such as bed and breakfast.",
            "Some young people leaving care are placed in B&Bs, which are not suitable homes for them.",
            "Strategy meetings are held promptly and include police and health professionals.",
        ),
    ]
    for anchor, paraphrase, unrelated in triples:
        a, p, u = any_embedder.encode([anchor, paraphrase, unrelated])
        assert a @ p > a @ u + 0.2, (anchor, float(a @ p), float(a @ u))


def test_long_text_is_truncated_like_sentence_transformers(any_embedder: Embedder) -> None:
    # Only the first 256 tokens are seen, so appending text changes nothing.
    base = any_embedder.encode([LONG_TEXT])[0]
    extended = any_embedder.encode([LONG_TEXT + " Completely different words about weather and football."])[0]
    assert base @ extended > 0.999


# --- tokens ----------------------------------------------------------------


def test_count_tokens_includes_cls_and_sep() -> None:
    assert embed.count_tokens(["hello world", ""]) == [4, 2]
    assert embed.count_tokens([]) == []
    long_400_words = " ".join(["safeguarding"] * 200 + ["children"] * 200)
    assert len(long_400_words.split()) == 400
    [n] = embed.count_tokens([long_400_words])
    assert n > MAX_TOKENS
    assert embed.count_tokens([LONG_TEXT])[0] > MAX_TOKENS


def test_tokenizer_is_unconfigured() -> None:
    tok = embed.load_tokenizer()
    assert tok is embed.load_tokenizer()  # cached
    assert tok.truncation is None and tok.padding is None
    assert tok.encode("Hello world").tokens == ["[CLS]", "hello", "world", "[SEP]"]


# --- ONNX cache ------------------------------------------------------------


def test_onnx_file_is_cached_and_reused(onnx_embedder: Embedder, onnx_cache: pathlib.Path) -> None:
    [cached] = list(onnx_cache.glob("*.onnx"))
    # Keyed by the weights and by the libraries that made it.
    assert WEIGHTS_SHA256[:12] in cached.name and "torch" in cached.name and "ort" in cached.name
    before = cached.stat().st_mtime_ns

    again = load_embedder("onnx-int8", cache_dir=onnx_cache, model="base")

    assert cached.stat().st_mtime_ns == before
    assert list(onnx_cache.glob("*.onnx")) == [cached]
    assert not [p for p in onnx_cache.iterdir() if p.name.startswith(".export-")], "temp files left behind"
    probe = ["Children are seen alone."]
    assert float(again.encode(probe)[0] @ onnx_embedder.encode(probe)[0]) > 0.9999


def test_cached_onnx_backend_needs_no_torch(onnx_embedder: Embedder, onnx_cache: pathlib.Path) -> None:
    # The app's start-up and memory depend on this: a cached int8 model is
    # served by onnxruntime + tokenizers alone.
    code = (
        "import sys, pathlib\n"
        "from assistant.index.embed import load_embedder\n"
        f"e = load_embedder('onnx-int8', cache_dir=pathlib.Path({str(onnx_cache)!r}), model='base')\n"
        "v = e.encode(['Children are seen alone.'])\n"
        "assert v.shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    root = ROOT
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_two_processes_exporting_at_once_share_one_file(tmp_path: pathlib.Path) -> None:
    code = (
        "import logging, sys, pathlib\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
        "from assistant.index.embed import load_embedder\n"
        "load_embedder('onnx-int8', cache_dir=pathlib.Path(sys.argv[1]), model='base')\n"
    )
    root = ROOT
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=root, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum("exported int8 ONNX" in out for out in outputs) == 1, outputs
    assert len(list(tmp_path.glob("*.onnx"))) == 1
    assert not list(tmp_path.glob(".export-*"))


def test_no_network_env() -> None:
    # Importing the module must switch the hub client off unless the caller chose otherwise.
    assert "HF_HUB_OFFLINE" in os.environ and "TRANSFORMERS_OFFLINE" in os.environ


def test_the_shipped_fine_tuned_embedder_is_the_default_and_checked_by_its_digest(tmp_path):
    from assistant.index import shipped

    entry = shipped.entry("embedder")
    if entry is None:
        pytest.skip("no fine-tuned embedder shipped in assistant/models")
    e = load_embedder()
    assert e.info.name == embed.TUNED_NAME and e.info.weights_sha256 == entry["sha256"]
    v = e.encode(["Care leavers are helped to find a home."])
    assert v.shape == (1, DIM) and abs(float(np.linalg.norm(v)) - 1.0) < 1e-4
    # A changed file beside the same models.json is refused, as the wheel's weights are.
    (tmp_path / shipped.CARD).write_text((shipped.MODELS_DIR / shipped.CARD).read_text())
    data = bytearray((shipped.MODELS_DIR / entry["file"]).read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / entry["file"]).write_bytes(bytes(data))
    with pytest.raises(shipped.ShippedModelError):
        shipped.checked_file("embedder", tmp_path)
