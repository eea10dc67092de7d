"""One training loop for every torch model in the book, built on Hugging Face Accelerate: the same
code runs on one CPU thread here, on one GPU, or on many GPUs/nodes under ``accelerate launch`` or
``torchrun`` (DDP). Chapters plug in a loss function rather than writing loops.

A run is a pure function of its seed: ``batches(step)`` returns the *global* batch for a step (each
process takes its slice), so a resumed run, or a run on more processes with the same global batch,
follows the same curve."""
from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from tqdm import tqdm

Batch = dict[str, torch.Tensor]
LossFn = Callable[[torch.nn.Module, Batch], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule: AdamW, linear warm-up then cosine decay to ``min_lr_ratio``·lr."""
    steps: int
    lr: float = 3e-3
    warmup: int = 0                  # warm-up steps (default: 5% of steps)
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    clip: float = 1.0                # max gradient norm (0: no clipping)
    eval_every: int = 0              # evaluate every N steps and at the end (0: only at the end)
    checkpoint_every: int = 0        # save a resumable checkpoint every N steps (0: never)

    def __post_init__(self) -> None:
        for name in ("steps",):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        for name in ("warmup", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")


def lr_lambda(cfg: TrainConfig) -> Callable[[int], float]:
    """The learning-rate multiplier at each step: warm-up, then cosine to ``min_lr_ratio``."""
    warmup = cfg.warmup or max(1, cfg.steps // 20)

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        t = min(1.0, (step - warmup) / max(1, cfg.steps - warmup))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
    return f


def lm_loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """Next-token cross-entropy (nats/token) of a causal LM on ``batch["input_ids"]`` (B, T)."""
    return model(input_ids=batch["input_ids"], labels=batch["input_ids"]).loss


def step_generator(seed: int, step: int) -> torch.Generator:
    """The random generator of one step's batch: a function of (seed, step) alone, so a batch stream
    built on it is reproducible, resumable and the same on any number of processes."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def lm_batches(tokens: np.ndarray, batch_size: int, seq_len: int, seed: int) -> Callable[[int], Batch]:
    """Random windows of ``seq_len`` tokens from a 1-D token array; the batch of step ``s`` depends only
    on (seed, s), so runs are reproducible and resumable."""
    if len(tokens) <= seq_len:
        raise ValueError(f"need more than seq_len={seq_len} tokens, got {len(tokens)}")
    data = torch.as_tensor(np.asarray(tokens, dtype=np.int64))

    def batch(step: int) -> Batch:
        g = step_generator(seed, step)
        starts = torch.randint(0, len(data) - seq_len, (batch_size,), generator=g)
        return {"input_ids": torch.stack([data[s:s + seq_len] for s in starts.tolist()])}
    return batch


def _shard(batch: Batch, rank: int, world: int) -> Batch:
    out = {}
    for key, value in batch.items():
        if value.shape[0] % world:
            raise ValueError(f"global batch size {value.shape[0]} is not divisible by {world} processes")
        n = value.shape[0] // world
        out[key] = value[rank * n:(rank + 1) * n]
    return out


def train(model: torch.nn.Module, batches: Callable[[int], Batch], cfg: TrainConfig, *,
          loss_fn: LossFn = lm_loss, evaluate: Callable[[torch.nn.Module], Mapping[str, float]] | None = None,
          checkpoint_dir: Path | str | None = None, stop_at: int | None = None,
          progress: bool = True) -> pd.DataFrame:
    """Train ``model`` for ``cfg.steps`` AdamW steps on ``batches(step)``; returns the history, one
    row per step (``step``, ``loss``, ``lr``, and ``evaluate``'s metrics on evaluation steps).

    With ``checkpoint_dir`` the run saves every ``cfg.checkpoint_every`` steps and resumes from the last
    checkpoint there (same curve as an uninterrupted run). ``stop_at`` ends the run early after that step
    (with a checkpoint), to split a long run across sessions."""
    # Our batches(step) is the global batch, so one optimiser step is one schedule step on any number
    # of processes (Accelerate would otherwise step the schedule once per process).
    # A Trainer (transformers, TRL) run earlier in the process leaves its AcceleratorState behind, e.g.
    # bf16 autocast on CPU, which a new Accelerator would inherit: start from a clean one, in float32.
    AcceleratorState._reset_state()
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision="no",
                              step_scheduler_with_optimizer=False)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=cfg.lr, betas=cfg.betas)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    start, rows = 0, []
    if ckpt is not None and (ckpt / "meta.json").exists():
        meta = json.loads((ckpt / "meta.json").read_text())
        if meta["config"] != json.loads(json.dumps(asdict(cfg))):
            raise ValueError(f"checkpoint in {ckpt} was made with another config: {meta['config']}")
        accelerator.load_state(str(ckpt / "state"))
        start, rows = meta["step"], meta["history"]
        accelerator.print(f"resumed from {ckpt} at step {start}")

    def evaluate_now(step: int) -> dict[str, float]:
        if evaluate is None:
            return {}
        model.eval()
        with torch.no_grad():
            metrics = {k: float(v) for k, v in evaluate(accelerator.unwrap_model(model)).items()}
        model.train()
        return metrics

    def save(step: int) -> None:
        if ckpt is None:
            return
        accelerator.wait_for_everyone()
        tmp = ckpt.with_name(ckpt.name + ".tmp")
        accelerator.save_state(str(tmp / "state"))
        if accelerator.is_main_process:
            (tmp / "meta.json").write_text(json.dumps({"step": step, "config": asdict(cfg), "history": rows}))
            shutil.rmtree(ckpt, ignore_errors=True)
            tmp.rename(ckpt)
        accelerator.wait_for_everyone()

    end = min(cfg.steps, stop_at) if stop_at is not None else cfg.steps
    if start == 0 and cfg.eval_every and evaluate is not None:
        rows.append({"step": 0, "loss": float("nan"), "lr": float("nan"), **evaluate_now(0)})
    model.train()
    bar = tqdm(range(start, end), initial=start, total=cfg.steps, mininterval=10.0, desc="train",
               disable=not (progress and accelerator.is_local_main_process))
    for i in bar:
        batch = {k: v.to(accelerator.device) for k, v in
                 _shard(batches(i), accelerator.process_index, accelerator.num_processes).items()}
        loss = loss_fn(model, batch)
        accelerator.backward(loss)
        if cfg.clip:
            accelerator.clip_grad_norm_(model.parameters(), cfg.clip)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step = i + 1
        row = {"step": step, "loss": float(accelerator.reduce(loss.detach(), "mean")), "lr": lr}
        if (cfg.eval_every and step % cfg.eval_every == 0) or step == cfg.steps:
            row.update(evaluate_now(step))
        rows.append(row)
        bar.set_postfix(loss=f"{row['loss']:.3f}", refresh=False)
        if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or step == end < cfg.steps:
            save(step)
    bar.close()
    return pd.DataFrame(rows)


def row_batches(rows: torch.Tensor, batch_size: int, seed: int) -> Callable[[int], Batch]:
    """Batches of ``batch_size`` rows drawn with replacement from a (N, T) tensor of whole sequences;
    the batch of step ``s`` depends only on (seed, s)."""
    if rows.ndim != 2 or len(rows) == 0:
        raise ValueError(f"rows must be a non-empty (N, T) tensor, got shape {tuple(rows.shape)}")

    def batch(step: int) -> Batch:
        g = step_generator(seed, step)
        return {"input_ids": rows[torch.randint(0, len(rows), (batch_size,), generator=g)]}
    return batch
