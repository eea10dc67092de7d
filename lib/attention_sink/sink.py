"""Chapter 06: "When Attention Sink Emerges in Language Models: An Empirical View" (Gu et al.,
arXiv 2410.10781, ICLR 2025) at CPU scale.

The task is Bigram-Backcopy (Guo et al., arXiv 2410.13835) with a fixed first token: a sparse bigram
chain in which, after a trigger symbol, the next token copies the token before the trigger. Attention is
needed only at trigger positions, so a head learns to do nothing elsewhere, and the sink (attention on
the fixed first token, measured with ``lib.core.attention.sink_rate``) is how it does nothing.

``train_and_measure`` trains one tiny Llama (``lib.core.models.tiny_llama`` + ``lib.core.train``) with one of the
attention variants of ``lib.core.attention`` and records α₁ / Sink₁ during training; ``sweep`` runs a list."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np
import pandas as pd
import torch

from lib.core import attention, models, train
from lib.core.bigram_backcopy import BigramBackcopy

@dataclass(frozen=True)
class SinkRun:
    """One training run. Defaults: the CPU design (1 layer, 2 heads, d = 32, T = 64, batch 32, lr 1e-2,
    AdamW β = (0.9, 0.95), weight decay 0.1, 50 warm-up steps, then constant lr as in the official
    code's config (``min_lr_ratio=1``; the paper's text says cosine))."""
    variant: str = "softmax"        # a key of lib.core.attention.VARIANTS
    kv_bias: str = "none"           # "none", "key" (K bias, v* = 0), "key_value", "value" (V bias)
    lr: float = 1e-2
    seed: int = 0
    steps: int = 2000
    weight_decay: float = 0.1
    warmup: int = 50
    min_lr_ratio: float = 1.0
    d_model: int = 32
    n_layers: int = 1
    n_heads: int = 2
    d_ff: int = 128
    batch_size: int = 32
    seq_len: int = 64
    eval_every: int = 100
    n_eval: int = 64
    fixed_position: int = 1
    cooldown: int = 0               # extra steps at the end, lr cosine-decayed from cooldown_lr·lr to 0
    cooldown_lr: float = 0.1

    def __post_init__(self) -> None:
        if self.variant not in attention.VARIANTS:
            raise ValueError(f"variant must be one of {list(attention.VARIANTS)}, got {self.variant!r}")
        if self.kv_bias not in KV_BIAS:
            raise ValueError(f"kv_bias must be one of {list(KV_BIAS)}, got {self.kv_bias!r}")


KV_BIAS = {"none": None, "key": (True, False), "key_value": (True, True), "value": (False, True)}


def build_model(run: SinkRun, vocab_size: int) -> torch.nn.Module:
    """The run's tiny Llama (untied embeddings) with its attention variant and biases, initialised
    from ``run.seed``."""
    torch.manual_seed(run.seed)
    model = models.tiny_llama(vocab_size, d_model=run.d_model, n_layers=run.n_layers, n_heads=run.n_heads,
                              d_ff=run.d_ff, max_len=max(128, run.seq_len),
                              attn_implementation=attention.VARIANTS[run.variant], tie_embeddings=False)
    if KV_BIAS[run.kv_bias] is not None:
        key, value = KV_BIAS[run.kv_bias]
        attention.add_kv_bias(model, key=key, value=value)
    return model


@torch.no_grad()
def measure(model: torch.nn.Module, input_ids: torch.Tensor, eps: float = attention.EPSILON,
            fixed_position: int | None = None) -> dict[str, float]:
    """Validation loss, α₁ (mean over sequences, layers and heads), Sink₁^ε in %, the largest Sink_k^ε
    over 1 < k ≤ T/2 (keys seen by at least half of the queries: the last keys pass ε trivially), and
    for a key bias Sink*^ε (%) and its mean attention mass. With a 1-based ``fixed_position`` k ≥ 1 also
    ``sink_fixed`` = Sink_k^ε (%) at that position. ``input_ids`` (B, T), on any device (moved to
    the model's)."""
    input_ids = input_ids.to(next(model.parameters()).device)
    was_training = model.training
    model.eval()
    with attention.record_attention(model) as rec:
        out = model(input_ids=input_ids, labels=input_ids, output_attentions=True)
    model.train(was_training)
    attn = torch.stack([a.float() for a in out.attentions], dim=1)     # B, L, H, T, T
    rates = attention.sink_rates(attn, eps)
    row = {"val_loss": out.loss.item(), "alpha1": attention.first_token_attention(attn).mean().item(),
           "sink1": rates[0].item(),
           "sink_other": attention.sink_rate_after_first(attn, eps, min_queries=len(rates) - len(rates) // 2 + 1)}
    if fixed_position:
        if not 1 <= fixed_position <= len(rates):
            raise ValueError(f"fixed_position must be in [1, {len(rates)}], got {fixed_position!r}")
        row["sink_fixed"] = rates[fixed_position - 1].item()
    if rec[0].get("bias") is not None:
        bias = torch.stack([r["bias"] for r in rec], dim=1)             # B, L, H, T
        row.update(bias_sink=attention.bias_sink_rate(bias, eps), bias_mass=bias.mean().item())
    return row


@torch.no_grad()
def head_rates(model: torch.nn.Module, input_ids: torch.Tensor, eps: float = attention.EPSILON) -> pd.DataFrame:
    """One row per (layer, head): ``alpha1`` (the first token's importance score, mean over sequences)
    and ``sink1`` (% of sequences whose α₁ exceeds ``eps``); the mean of ``sink1`` over the rows is
    ``measure``'s Sink₁. ``input_ids`` (B, T), on any device."""
    was_training = model.training
    model.eval()
    alpha = attention.first_token_attention(attention.attention_maps(model, input_ids)).cpu()   # B, L, H
    model.train(was_training)
    n_layers, n_heads = alpha.shape[1:]
    return pd.DataFrame({"layer": np.repeat(np.arange(n_layers), n_heads), "head": np.tile(np.arange(n_heads), n_layers),
                         "alpha1": alpha.mean(0).flatten().numpy(),
                         "sink1": 100.0 * (alpha > eps).float().mean(0).flatten().numpy()})


def train_and_measure(run: SinkRun, task: BigramBackcopy | None = None,
                      progress: bool = False) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train the run's model on the task (default: ``BigramBackcopy(fixed_position=run.fixed_position)``)
    with ``lib.core.train`` (then ``run.cooldown`` steps of decaying lr, if any); returns the model and the history (every ``eval_every`` steps: the ``measure``
    columns, with ``sink_fixed`` at ``run.fixed_position`` when it is ≥ 1) with the run's settings as extra
    columns."""
    task = task or BigramBackcopy(fixed_position=run.fixed_position)
    model = build_model(run, task.vocab_size)
    evalx = task.eval_set(run.n_eval, run.seq_len)
    cfg = train.TrainConfig(steps=run.steps, lr=run.lr, warmup=run.warmup, min_lr_ratio=run.min_lr_ratio,
                            weight_decay=run.weight_decay, eval_every=run.eval_every)
    batches = task.batches(run.batch_size, run.seq_len, run.seed)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        return measure(m, evalx, fixed_position=run.fixed_position)
    hist = train.train(model, batches, cfg, evaluate=evaluate, progress=progress)
    if run.cooldown:   # a second lib.core.train call: a short decay that settles the noisy constant-lr weights
        cool = train.TrainConfig(steps=run.cooldown, lr=run.lr * run.cooldown_lr, warmup=1, min_lr_ratio=0.0,
                                 weight_decay=run.weight_decay, eval_every=run.eval_every)
        more = train.train(model, lambda step: batches(run.steps + step), cool,
                           evaluate=evaluate, progress=progress)
        more = more[more.step > 0].assign(step=lambda d: d.step + run.steps)
        hist = pd.concat([hist, more], ignore_index=True)
    hist = hist.dropna(subset=["val_loss"]).reset_index(drop=True)
    for k, v in asdict(run).items():
        hist[k] = v
    return model, hist


def sweep(runs: list[SinkRun], task: BigramBackcopy | None = None) -> pd.DataFrame:
    """Histories of several runs, concatenated (the models are not kept)."""
    return pd.concat([train_and_measure(r, task)[1] for r in runs], ignore_index=True)


def final(history: pd.DataFrame) -> pd.DataFrame:
    """The last evaluation of every run in a (concatenated) history, in run order."""
    keys = [c for c in asdict(SinkRun()) if c in history.columns and c != "steps"]
    return history.groupby(keys, sort=False).tail(1).reset_index(drop=True)


def seeds(run: SinkRun, n: int) -> list[SinkRun]:
    """The run with seeds run.seed, run.seed + 1, …, run.seed + n − 1."""
    return [replace(run, seed=run.seed + i) for i in range(n)]


def prepend_bos(batches: Callable[[int], dict[str, torch.Tensor]], bos_id: int) -> Callable[[int], dict[str, torch.Tensor]]:
    """Wrap ``batches(step) -> {"input_ids": (B, T)}`` so that every sequence starts with ``bos_id``
    (B, T + 1): a fixed first token for natural-text windows."""
    def batch(step: int) -> dict[str, torch.Tensor]:
        x = batches(step)["input_ids"]
        return {"input_ids": torch.cat([torch.full_like(x[:, :1], bos_id), x], dim=1)}
    return batch


def probe_windows(tokens: np.ndarray, n: int, seq_len: int, bos_id: int | None = None) -> torch.Tensor:
    """The first ``n`` consecutive windows (n, seq_len) of a 1-D token array, as probe sequences for the
    metric; with ``bos_id`` each is ``bos_id`` followed by seq_len − 1 tokens."""
    body = seq_len - (bos_id is not None)
    if len(tokens) < n * body:
        raise ValueError(f"need {n * body} tokens for {n} windows, got {len(tokens)}")
    x = torch.as_tensor(np.asarray(tokens[:n * body], dtype=np.int64)).view(n, body)
    if bos_id is not None:
        x = torch.cat([torch.full_like(x[:, :1], bos_id), x], dim=1)
    return x
