"""The one optimiser recipe both trainers use: AdamW, linear warm-up then linear decay to 0,
gradient norm clipped at 1 (the usual recipe for fine-tuning BERT-sized models)."""

from __future__ import annotations

from typing import Any


class Optimiser:
    def __init__(self, groups: list[dict[str, Any]], steps: int, warmup: float, weight_decay: float = 0.01) -> None:
        import torch

        self._params = [p for g in groups for p in g["params"]]
        self._opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
        warm = max(1, int(warmup * steps))
        self._sched = torch.optim.lr_scheduler.LambdaLR(self._opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
        self.steps = 0

    def step(self, loss: Any) -> int:
        """Back-propagate `loss`, update, and return how many steps have been taken."""
        import torch

        loss.backward()
        torch.nn.utils.clip_grad_norm_(self._params, 1.0)
        self._opt.step()
        self._sched.step()
        self._opt.zero_grad()
        self.steps += 1
        return self.steps
