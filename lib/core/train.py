"""One training loop for every torch model in the book, built on Hugging Face Accelerate: the same
code runs on one CPU thread here, on one GPU, or on many GPUs/nodes under ``accelerate launch`` or
``torchrun`` (DDP). Chapters plug in a loss function rather than writing loops.

A run is a pure function of its seed: ``batches(step)`` returns the *global* batch for a step (each
process takes its slice), so a resumed run, or a run on more processes with the same global batch,
follows the same curve.

At GPU scale: ``TrainConfig(precision="bf16")`` runs the loss under bfloat16 autocast (weights, optimiser
state and evaluation stay float32) and ``grad_accum=k`` splits each process's share of the step's batch
into k micro-batches whose gradients add up to the full batch's (same result to float tolerance, 1/k of
the activation memory). A stochastic loss that takes a ``noise`` argument (``SampleNoise``; e.g.
``lib.smdm.mdm.loss_fn("mdm", mask_id, sample_noise=True)``) draws its noise per sample, as a function of
(seed, step, global sample index): ranks draw different noise and the run does not depend on the number
of processes or micro-batches. The defaults (float32, no accumulation, losses without ``noise``) are the
loop as it always was."""
from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import math
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from tqdm import tqdm

Batch = dict[str, torch.Tensor]
LossFn = Callable[[torch.nn.Module, Batch], torch.Tensor]


PRECISIONS = ("float32", "bf16")


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
    precision: str = "float32"       # "float32", or "bf16": the loss under bfloat16 autocast
    grad_accum: int = 1              # micro-batches per optimiser step (each process's batch split k ways)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name in ("steps", "grad_accum"):
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


def _sample_seed(seed: int, step: int, index: int) -> int:
    digest = hashlib.blake2b(f"{seed}/{step}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


class SampleNoise:
    """Random draws for a stochastic loss, one stream per sample: sample ``start + j`` (its index in the
    step's *global* batch) of step ``step`` draws from a generator seeded by (seed, step, start + j).
    ``train`` hands one to every loss function with a ``noise`` parameter, for the samples this process
    (and micro-batch) holds, so ranks draw different noise and the union of their draws is the
    single-process run's. Draws are made on the CPU (cheap: a few numbers per sample) and moved with
    ``device``."""

    def __init__(self, seed: int, step: int, start: int, n: int) -> None:
        self.seed, self.step, self.start, self.n = seed, step, start, n
        self._generators = [torch.Generator().manual_seed(_sample_seed(seed, step, start + j)) for j in range(n)]

    def __len__(self) -> int:
        return self.n

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32,
             device: torch.device | str | None = None) -> torch.Tensor:
        """U(0, 1) draws of shape (n, *shape): row j from sample j's stream (each call continues it)."""
        out = torch.stack([torch.rand(shape, dtype=dtype, generator=g) for g in self._generators])
        return out if device is None else out.to(device)


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def lm_batches(tokens: np.ndarray, batch_size: int, seq_len: int, seed: int) -> Callable[[int], Batch]:
    """Random windows of ``seq_len`` tokens from a 1-D token array; the batch of step ``s`` depends only
    on (seed, s), so runs are reproducible and resumable. The function carries ``seed`` and an
    ``identity`` (the data's SHA-256 and the stream's settings) for checkpoint fingerprints."""
    if len(tokens) <= seq_len:
        raise ValueError(f"need more than seq_len={seq_len} tokens, got {len(tokens)}")
    data = torch.as_tensor(np.asarray(tokens, dtype=np.int64))

    def batch(step: int) -> Batch:
        g = step_generator(seed, step)
        starts = torch.randint(0, len(data) - seq_len, (batch_size,), generator=g)
        return {"input_ids": torch.stack([data[s:s + seq_len] for s in starts.tolist()])}
    batch.seed = seed
    batch.identity = lambda: {"stream": "lm_batches", "tokens_sha256": _sha256(data.numpy()), "n_tokens": len(data),
                              "batch_size": batch_size, "seq_len": seq_len, "seed": seed}
    return batch


def _model_identity(model: torch.nn.Module) -> dict[str, Any]:
    """The model's class and configuration (a ``transformers`` config, else its parameter shapes)."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        described = {k: v for k, v in config.to_dict().items() if k not in ("transformers_version",)}
    else:
        described = {n: list(p.shape) for n, p in model.named_parameters()}
    return json.loads(json.dumps({"class": f"{type(model).__module__}.{type(model).__qualname__}",
                                  "config": described}, sort_keys=True, default=str))


def fingerprint(model: torch.nn.Module, batches: Callable[[int], Batch], cfg: TrainConfig,
                seed: int | None) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the config, the seed, the model's identity (class +
    config) and the data's identity when the batch stream declares one (``lm_batches``, ``row_batches``)."""
    identity = getattr(batches, "identity", None)
    return {"config": json.loads(json.dumps(asdict(cfg))), "seed": seed, "model": _model_identity(model),
            "data": identity() if callable(identity) else None}


def _takes_noise(loss_fn: Callable) -> bool:
    try:
        return "noise" in inspect.signature(loss_fn).parameters
    except (TypeError, ValueError):
        return False


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
          progress: bool = True, seed: int | None = None) -> pd.DataFrame:
    """Train ``model`` for ``cfg.steps`` AdamW steps on ``batches(step)``; returns the history, one
    row per step (``step``, ``loss``, ``lr``, and ``evaluate``'s metrics on evaluation steps).

    With ``checkpoint_dir`` the run saves every ``cfg.checkpoint_every`` steps and at its last step, and
    resumes from the checkpoint there (same curve as an uninterrupted run; a finished run returns its
    history and final weights). A checkpoint made by another run (config, seed, model class/config, or
    data, see ``fingerprint``) is refused. ``stop_at`` ends the run early after that step (with a
    checkpoint), to split a long run across sessions. ``seed`` (default: the batch stream's ``seed``, else
    0) seeds the ``SampleNoise`` of a loss function that takes ``noise`` and enters the fingerprint."""
    if seed is None:
        seed = getattr(batches, "seed", None)
    takes_noise = _takes_noise(loss_fn)
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
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    fp = fingerprint(model, batches, cfg, seed) if ckpt is not None else None
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    autocast = (torch.autocast(accelerator.device.type, dtype=torch.bfloat16) if cfg.precision == "bf16"
                else contextlib.nullcontext())

    start, rows = 0, []
    if ckpt is not None and (ckpt / "meta.json").exists():
        meta = json.loads((ckpt / "meta.json").read_text())
        if meta["config"] != fp["config"]:
            raise ValueError(f"checkpoint in {ckpt} was made with another config: {meta['config']}")
        for key in ("seed", "model", "data"):
            if key in meta.get("fingerprint", {}) and meta["fingerprint"][key] != fp[key]:
                raise ValueError(f"checkpoint in {ckpt} was made by another run: its {key} differs "
                                 f"({meta['fingerprint'][key]!r} vs {fp[key]!r})")
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
            (tmp / "meta.json").write_text(json.dumps({"step": step, "config": asdict(cfg), "history": rows,
                                                       "fingerprint": {k: fp[k] for k in ("seed", "model", "data")}}))
            shutil.rmtree(ckpt, ignore_errors=True)
            tmp.rename(ckpt)
        accelerator.wait_for_everyone()

    end = min(cfg.steps, stop_at) if stop_at is not None else cfg.steps
    if start == 0 and cfg.eval_every and evaluate is not None:
        rows.append({"step": 0, "loss": float("nan"), "lr": float("nan"), **evaluate_now(0)})
    model.train()
    bar = tqdm(range(start, end), initial=start, total=cfg.steps, mininterval=10.0, desc="train",
               disable=not (progress and accelerator.is_local_main_process))
    rank, world, k = accelerator.process_index, accelerator.num_processes, cfg.grad_accum
    for i in bar:
        batch = {key: v.to(accelerator.device) for key, v in _shard(batches(i), rank, world).items()}
        local = len(next(iter(batch.values())))
        if k == 1 and not takes_noise:          # the plain loop (the default)
            with autocast:
                loss = loss_fn(model, batch)
            accelerator.backward(loss)
        else:
            if local % k:
                raise ValueError(f"each process's batch ({local}) is not divisible by grad_accum={k}")
            n, total = local // k, 0.0
            for j in range(k):
                micro = {key: v[j * n:(j + 1) * n] for key, v in batch.items()}
                kwargs = {"noise": SampleNoise(seed or 0, i, rank * local + j * n, n)} if takes_noise else {}
                sync = contextlib.nullcontext() if j == k - 1 else accelerator.no_sync(model)
                with sync:
                    with autocast:
                        part = loss_fn(model, micro, **kwargs)
                    accelerator.backward(part / k if k > 1 else part)
                total = total + part.detach() / k if k > 1 else part.detach()
            loss = total
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
        if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or step == end:
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
    batch.seed = seed
    batch.identity = lambda: {"stream": "row_batches", "rows_sha256": _sha256(rows.cpu().numpy()),
                              "shape": list(rows.shape), "batch_size": batch_size, "seed": seed}
    return batch
