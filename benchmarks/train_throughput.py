"""Throughput of lib.core.train against a plain hand-written PyTorch loop on the same tiny Llama, same batches,
one thread, measured in one run (ratio target >= 0.9), and peak memory (RSS) of the process.

    python benchmarks/train_throughput.py [--steps 150] [--repeats 3]
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from lib.core import models, train


def plain_loop(model: torch.nn.Module, batches, cfg: train.TrainConfig) -> None:
    """The loop a researcher would write by hand: AdamW, the same schedule and clipping, no Accelerate."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, train.lr_lambda(cfg))
    model.train()
    for step in range(cfg.steps):
        loss = train.lm_loss(model, batches(step))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss.item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    batch, seq = 32, 128
    tokens = np.random.default_rng(0).integers(0, 64, 200_000)
    batches = train.lm_batches(tokens, batch, seq, seed=0)
    cfg = train.TrainConfig(steps=a.steps)
    rates = {"plain": [], "lib.core.train": []}
    for _ in range(a.repeats):   # interleaved, so machine load hits both alike
        for name in rates:
            torch.manual_seed(0)
            model = models.tiny_llama(64, d_model=96, n_layers=3, n_heads=4, max_len=seq)
            t0 = time.perf_counter()
            if name == "plain":
                plain_loop(model, batches, cfg)
            else:
                train.train(model, batches, cfg, progress=False)
            rates[name].append(a.steps * batch * seq / (time.perf_counter() - t0))
    best = {k: max(v) for k, v in rates.items()}
    for k, v in best.items():
        print(f"{k:10s} {v:10.0f} tokens/s (best of {a.repeats})")
    ratio = best["lib.core.train"] / best["plain"]
    print(f"ratio lib.core.train / plain = {ratio:.3f} (target >= 0.9)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
