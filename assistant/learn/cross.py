"""Train the cross-encoder re-ranker: the question and a passage read together, one logit out.

Started from the bottom `layers` of all-MiniLM-L6-v2's encoder in the wheel, reading
"[CLS] question [SEP] passage [SEP]" and scoring the *mean* of the joint sequence's token
vectors with a new linear head. sentence-transformers' CrossEncoder puts its head on the
[CLS] pooler instead, which all-MiniLM-L6-v2 never trained (it was trained through mean
pooling): from that head the model could not even fit 32 pairs in 15 steps, while the
mean-pooled head separates them (bench/RESULTS.md "Re-ranker: what it reads"). A plain
loop rather than sentence-transformers' Trainer, which needs `datasets` and `accelerate`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .optim import Optimiser
from .pairs import Mined


@dataclass(frozen=True)
class CrossSettings:
    # Measured on these 2 cores (bench/RESULTS.md "Re-ranker"): a training step of 32 pairs
    # takes ~2 s with 3 layers at 128 tokens and about twice that with 6; serving halves with the layers too.
    layers: int = 3
    max_tokens: int = 128  # question + passage, the passage cut to fit
    epochs: int = 1
    group: int = 4  # a question's positive and negatives scored together (listwise loss)
    questions_per_step: int = 8  # so 32 pairs a step
    lr: float = 2e-4
    head_lr: float = 2e-3  # the new one-logit head starts from nothing
    warmup: float = 0.05
    bce: float = 0.5  # weight of the pointwise loss beside the listwise one (calibration; unanswerable groups)
    seed: int = 19


def groups_of(mined: list[Mined], size: int) -> list[tuple[str, list[str], list[float]]]:
    """(question, passages, labels): the positive first (if any), then negatives, `size` at most."""
    out = []
    for m in mined:
        texts = ([m.positive] if m.positive is not None else []) + list(m.negatives)
        texts = texts[:size]
        if not texts:
            continue
        labels = [1.0 if (m.positive is not None and i == 0) else 0.0 for i in range(len(texts))]
        out.append((m.question, texts, labels))
    return out


class MeanPooledScorer:
    """BERT layers + attention-masked mean pooling + one linear logit (built lazily: torch is
    a training dependency only)."""

    def __new__(cls, bert, head=None) -> Any:
        import torch

        class Scorer(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert
                self.head = head if head is not None else torch.nn.Linear(bert.config.hidden_size, 1)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
                w = attention_mask.unsqueeze(-1).to(hidden.dtype)
                return self.head((hidden * w).sum(1) / w.sum(1).clamp(min=1e-9)).squeeze(-1)

        return Scorer()


HEAD_FILE = "head.pt"


def load_scorer(folder: Path):
    """A trained re-ranker folder (BERT weights, tokenizer, head.pt) as a torch module."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager")
    head = torch.nn.Linear(bert.config.hidden_size, 1)
    head.load_state_dict(torch.load(folder / HEAD_FILE, weights_only=True))
    return MeanPooledScorer(bert, head).eval()


def train_cross(mined: list[Mined], base: Path, out: Path, st: CrossSettings = CrossSettings(), log: Callable[[str], None] = print) -> Path:
    """Train and save a re-ranker folder at `out` (BERT weights + tokenizer + head.pt).

    Loss per step: softmax cross-entropy of each answerable question's positive among its
    group (what ranking needs) plus `bce` x binary cross-entropy of every pair (what a
    threshold on the score needs, and all an unanswerable question can teach)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(st.seed)
    rng = random.Random(st.seed)
    bert = AutoModel.from_pretrained(str(base), local_files_only=True, num_hidden_layers=st.layers)
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = MeanPooledScorer(bert)
    groups = groups_of(mined, st.group)
    steps = st.epochs * math.ceil(len(groups) / st.questions_per_step)
    opt = Optimiser([{"params": list(bert.parameters()), "lr": st.lr}, {"params": list(model.head.parameters()), "lr": st.head_lr}], steps, st.warmup)
    bce = torch.nn.BCEWithLogitsLoss()
    model.train()
    t0 = time.perf_counter()
    for epoch in range(st.epochs):
        rng.shuffle(groups)
        for start in range(0, len(groups), st.questions_per_step):
            batch = groups[start : start + st.questions_per_step]
            qs = [g[0] for g in batch for _ in g[1]]
            ps = [p for g in batch for p in g[1]]
            enc = tok(qs, ps, truncation="only_second", max_length=st.max_tokens, padding=True, return_tensors="pt")
            logits = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
            labels = torch.tensor([y for g in batch for y in g[2]], dtype=logits.dtype)
            loss = st.bce * bce(logits, labels)
            at, listwise, n = 0, logits.new_zeros(()), 0
            for g in batch:
                k = len(g[1])
                if g[2][0] == 1.0 and k > 1:
                    listwise = listwise - torch.log_softmax(logits[at : at + k], dim=0)[0]
                    n += 1
                at += k
            if n:
                loss = loss + listwise / n
            step = opt.step(loss)
            if step % 20 == 0 or step == steps:
                log(f"re-ranker epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    bert.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    torch.save(model.head.state_dict(), out / HEAD_FILE)
    return out
