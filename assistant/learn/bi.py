"""Fine-tune the bi-encoder (the embedder) on the team's questions.

sentence-transformers' MultipleNegativesRankingLoss over (question, positive, hardest mined
negative): every other passage in the batch is a negative too. The question side is the
text the searcher embeds (filter words removed), the passage side what the index embeds
(section heading and text), so training sees exactly what serving compares.
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
    epochs: int = 1
    batch: int = 32
    lr: float = 2e-5
    warmup: float = 0.1
    scale: float = 20.0  # MNRL's default temperature
    seed: int = 19


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
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    torch.manual_seed(st.seed)
    rng = random.Random(st.seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = st.max_tokens
    loss_fn = MultipleNegativesRankingLoss(model, scale=st.scale)
    triples = triples_of(mined)
    steps = st.epochs * math.ceil(len(triples) / st.batch)
    opt = Optimiser([{"params": list(model.parameters()), "lr": st.lr}], steps, st.warmup)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(st.epochs):
        rng.shuffle(triples)
        for batch in _batches(triples, st.batch):
            feats = [model.preprocess([t[i] for t in batch]) for i in range(3)]
            loss = loss_fn(feats, None)
            step = opt.step(loss)
            if step % 10 == 0:
                log(f"bi-encoder epoch {epoch + 1} step {step}/~{steps} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    return out
