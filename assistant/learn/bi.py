"""Fine-tune the bi-encoder (the embedder) on the team's questions.

sentence-transformers' MultipleNegativesRankingLoss over (question, positive, hardest mined
negative): every other passage in the batch is a negative too. The question side is the
text the searcher embeds (filter words removed), the passage side what the index embeds
(section heading and text), so training sees exactly what serving compares.

A checkpoint is saved after every epoch (`epoch-N/` in the output folder): the pipeline
measures each on the validation split and ships the best, so the number of epochs is
chosen on validation rather than fixed here.

MNRL is a softmax over each question's candidates, blind to the cosines' absolute level,
while abstention reads that level (the floor on the best candidate). `calibration` > 0 adds
a hinge on it: an answer's cosine below `answer_above`, and an unanswerable question's
best-mined candidates above `unanswered_below`, cost their shortfall. Off by default: at
weight 1.0 over 2 epochs it emptied 2 more of 73 validation unanswerable questions on the
full corpus and lost 0.006 MRR@10 (bench/RESULTS.md, "The shipped embedder on the full corpus").
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .optim import Optimiser
from .pairs import Mined


@dataclass(frozen=True)
class BiSettings:
    max_tokens: int = 128  # most of a passage; the rest is cut in training only (cost grows with length: 2-core budget)
    epochs: int = 3  # checkpoints after each; the best on validation ships (bench/RESULTS.md "Epochs")
    batch: int = 32
    lr: float = 2e-5
    warmup: float = 0.1
    scale: float = 20.0  # MNRL's default temperature
    seed: int = 19
    calibration: float = 0.0  # weight of the absolute-cosine hinge (0: MNRL alone)
    answer_above: float = 0.5
    unanswered_below: float = 0.3
    unanswerable_per_step: int = 8  # unanswerable questions (and their 2 best candidates) per step


EPOCH_DIR = "epoch-{}"


def checkpoints(folder: Path) -> list[Path]:
    """The per-epoch checkpoints `train_bi` saved, in order."""
    return sorted((d for d in folder.glob("epoch-*") if d.is_dir()), key=lambda d: int(d.name.split("-")[1]))


def triples_of(mined: list[Mined]) -> list[tuple[str, str, str]]:
    return [(m.embedded, m.positive, m.negatives[0]) for m in mined if m.positive is not None and m.negatives]


def _batches(triples: list[tuple[str, str, str]], size: int) -> list[list[tuple[str, str, str]]]:
    """Batches in which no positive repeats: a repeated one would be its own in-batch negative."""
    out: list[list[tuple[str, str, str]]] = []
    pending = list(triples)
    while pending:
        batch: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        rest: list[tuple[str, str, str]] = []
        for t in pending:
            if len(batch) < size and t[1] not in seen and t[2] not in seen:
                batch.append(t)
                seen.update((t[1], t[2]))
            else:
                rest.append(t)
        out.append(batch)
        pending = rest
    return out


def train_bi(mined: list[Mined], base: Path, out: Path, st: BiSettings = BiSettings(), log: Callable[[str], None] = print) -> Path:
    """Train and save one checkpoint per epoch under `out` (see `checkpoints`)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    torch.manual_seed(st.seed)
    rng = random.Random(st.seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = st.max_tokens
    loss_fn = MultipleNegativesRankingLoss(model, scale=st.scale)
    triples = triples_of(mined)
    unanswerable = [(m.embedded, list(m.negatives[:2])) for m in mined if m.positive is None and m.negatives]
    steps = st.epochs * math.ceil(len(triples) / st.batch)
    opt = Optimiser([{"params": list(model.parameters()), "lr": st.lr}], steps, st.warmup)
    model.train()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def embedded(texts: list[str]):
        return model(model.preprocess(texts))["sentence_embedding"]

    for epoch in range(st.epochs):
        rng.shuffle(triples)
        for batch in _batches(triples, st.batch):
            embs = [embedded([t[i] for t in batch]) for i in range(3)]
            loss = loss_fn.compute_loss_from_embeddings(embs, None)  # type: ignore[arg-type]  # MNRL ignores labels
            if st.calibration > 0:
                drawn = rng.sample(unanswerable, min(st.unanswerable_per_step, len(unanswerable)))
                loss = loss + st.calibration * _calibration(embs, drawn, embedded, st)
            step = opt.step(loss)
            if step % 10 == 0:
                log(f"bi-encoder epoch {epoch + 1} step {step}/~{steps} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
        model.save(str(out / EPOCH_DIR.format(epoch + 1)))
    model.eval()
    return out


def _calibration(embs, unanswerable: list[tuple[str, list[str]]], embedded, st: BiSettings):
    """Mean hinge on absolute cosines (the embeddings are unit length: Normalize module)."""
    import torch

    pos = (embs[0] * embs[1]).sum(-1)
    terms = [torch.relu(st.answer_above - pos)]
    if unanswerable:
        qs = embedded([u[0] for u in unanswerable])
        flat = [p for u in unanswerable for p in u[1]]
        owner = torch.tensor([i for i, u in enumerate(unanswerable) for _ in u[1]])
        cs = embedded(flat)
        terms.append(torch.relu((qs[owner] * cs).sum(-1) - st.unanswered_below))
    return torch.cat(terms).mean()
