"""SimLayerKV experiments on the typed-values task: every policy runs through
``lib.core.kv_cache.generate_with_policy`` (real per-layer trimming of a ``DynamicCache``), one held-out
input at a time, teacher-forced through the remaining questions; accuracy counts only the answers
predicted after the trimming decision (the first answer is always produced with the full cache)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lib.core import kv_cache as K
from lib.simlayerkv.task import TypedValues


@dataclass(frozen=True)
class EvalInputs:
    """Prompts (N, P) ending with the first question, continuations (N, C) fed by teacher forcing,
    and the indices (N, A) into the continuation of the answers produced after the decision."""
    prompts: torch.Tensor
    conts: torch.Tensor
    answer_idx: torch.Tensor

    def __len__(self) -> int:
        return len(self.prompts)


def eval_inputs(task: TypedValues, n: int) -> EvalInputs:
    """``n`` held-out inputs (the same for every seed). The continuation stops at the last answer."""
    x, ans = task.eval_set(n)
    P = task.prompt_len
    return EvalInputs(x[:, :P], x[:, P:], ans[:, 1:] - P)


class Runner:
    """Runs policies over ``inputs`` through ``generate_with_policy``, memoising by (input, trimmed
    layers, variant): a policy only decides *which* layers to trim, and the outcome of one input with
    one set of trimmed layers is the same whichever policy chose them. The lazy scores each policy
    sees are computed once per input with the same kernel (batched over inputs); the trimmed layers
    are then replayed as ``LayerPolicy.fixed`` at the variant's decision point, which is exactly what
    the policy's own run would trim (``test_runner_matches_direct_generation`` checks it)."""

    def __init__(self, model, inputs: EvalInputs, *, n_init: int = 4, n_recent: int = 8, keep_window: bool = True):
        self.model, self.inputs = model, inputs
        self.kw = dict(n_init=n_init, n_recent=n_recent, keep_window=keep_window)
        self._scores: dict = {}
        self._memo: dict = {}

    def scores(self, variant: str, w_last: int) -> torch.Tensor:
        key = (variant, w_last if variant == "prefilling" else 1)
        if key not in self._scores:
            n_init, n_recent = self.kw["n_init"], self.kw["n_recent"]
            self._scores[key] = (prefill_scores(self.model, self.inputs, n_init=n_init, n_recent=n_recent, w_last=w_last)
                                 if variant == "prefilling" else
                                 decoding_scores(self.model, self.inputs, n_init=n_init, n_recent=n_recent))
        return self._scores[key]

    def outcome(self, b: int, lazy: tuple[int, ...], variant: str) -> tuple[float, float, float]:
        key = (b, lazy, variant if lazy else "none")
        if key not in self._memo:
            inp = self.inputs
            g = K.generate_with_policy(self.model, inp.prompts[b:b + 1], K.LayerPolicy.fixed(lazy),
                                       variant=variant, teacher_forcing=inp.conts[b], **self.kw)
            idx = inp.answer_idx[b]
            if int(idx.min()) < g.decided_at:
                raise ValueError("an evaluated answer was predicted before the trimming decision")
            self._memo[key] = ((g.logits[idx].argmax(-1) == inp.conts[b, idx]).float().mean().item(), g.kv_kept,
                               float(np.mean(g.reads[-len(idx):])))
        return self._memo[key]

    def run(self, policy: K.LayerPolicy, *, w_last: int = 8, variant: str = "prefilling") -> dict:
        """Accuracy on the answers after the decision, KV kept (entries held at the end / full), mean
        number of trimmed layers, KV entries read per decoded token (counted by the library)."""
        L = self.model.config.num_hidden_layers
        sc = self.scores(variant, w_last) if policy.needs_scores else None
        out, lazies = [], []
        for b in range(len(self.inputs)):
            lazy = tuple(policy.choose(sc[b] if sc is not None else None, L))
            lazies.append(lazy)
            out.append(self.outcome(b, lazy, variant))
        out = np.array(out)
        return {"accuracy": float(out[:, 0].mean()), "kv_kept": float(out[:, 1].mean()),
                "n_lazy": float(np.mean([len(z) for z in lazies])), "reads_per_token": float(out[:, 2].mean()),
                "lazy": lazies, "correct": out[:, 0]}


def run_policy(model, inputs: EvalInputs, policy: K.LayerPolicy, *, n_init: int = 4, n_recent: int = 8,
               w_last: int = 8, variant: str = "prefilling", keep_window: bool = True) -> dict:
    """One policy over ``inputs`` (see ``Runner``)."""
    return Runner(model, inputs, n_init=n_init, n_recent=n_recent, keep_window=keep_window).run(
        policy, w_last=w_last, variant=variant)


@torch.no_grad()
def row_scores(model, ids: torch.Tensor, *, n_init: int = 4, n_recent: int = 8) -> torch.Tensor:
    """Lazy score of every layer at every query row with the full cache: (N, L, T)."""
    with K.record_rows(model, ids.shape[1]) as rec:
        model(input_ids=ids)
    return K.lazy_scores([r["rows"] for r in rec], n_init, n_recent, reduce=False)


@torch.no_grad()
def attention_maps(model, ids: torch.Tensor) -> torch.Tensor:
    """Full attention probabilities (N, L, H, T, T)."""
    with K.record_rows(model, ids.shape[1]) as rec:
        model(input_ids=ids)
    return torch.stack([r["rows"] for r in rec], 1)


def prefill_scores(model, inputs: EvalInputs, *, n_init: int = 4, n_recent: int = 8, w_last: int = 8) -> torch.Tensor:
    """SimLayerKV-prefilling scores (N, L): mean over the last ``w_last`` prompt rows."""
    return row_scores(model, inputs.prompts, n_init=n_init, n_recent=n_recent)[..., -w_last:].mean(-1)


def decoding_scores(model, inputs: EvalInputs, *, n_init: int = 4, n_recent: int = 8) -> torch.Tensor:
    """SimLayerKV-decoding scores (N, L): the row of the first generated token."""
    ids = torch.cat([inputs.prompts, inputs.conts[:, :1]], 1)
    return row_scores(model, ids, n_init=n_init, n_recent=n_recent)[..., -1]


def oracle_costs(model, inputs: EvalInputs, *, n_init: int = 4, n_recent: int = 8, keep_window: bool = True,
                 full_accuracy: float | None = None) -> list[float]:
    """Accuracy lost by trimming each layer alone (the oracle's ranking; measured on the same inputs)."""
    R = Runner(model, inputs, n_init=n_init, n_recent=n_recent, keep_window=keep_window)
    if full_accuracy is None:
        full_accuracy = R.run(K.LayerPolicy.full())["accuracy"]
    return [full_accuracy - R.run(K.LayerPolicy.fixed([l]))["accuracy"]
            for l in range(model.config.num_hidden_layers)]


def sweep(model, inputs: EvalInputs, deltas, *, n_init: int = 4, n_recent: int = 8, w_last: int = 8,
          random_draws: int = 1, decoding: bool = True, seed: int = 0, runner: Runner | None = None) -> pd.DataFrame:
    """One row per (method, δ): full, StreamingLLM, SimLayerKV-prefilling (w_last rows),
    SimLayerKV-decoding, random layers with SimLayerKV-prefilling's count, the oracle with that count,
    and trimming each layer alone. Columns: method, delta, accuracy, kv_kept, n_lazy, reads_per_token."""
    R = runner or Runner(model, inputs, n_init=n_init, n_recent=n_recent)
    cols = ("accuracy", "kv_kept", "n_lazy", "reads_per_token")
    rows = []

    def add(method, delta, res):
        rows.append({"method": method, "delta": delta, **{k: res[k] for k in cols}})

    full = R.run(K.LayerPolicy.full())
    add("full cache", np.nan, full)
    add("StreamingLLM", np.nan, R.run(K.LayerPolicy.streaming()))
    L = model.config.num_hidden_layers
    costs = []
    for l in range(L):
        r = R.run(K.LayerPolicy.fixed([l]))
        costs.append(full["accuracy"] - r["accuracy"])
        add(f"layer {l} only", np.nan, r)
    for d in deltas:
        add("SimLayerKV", d, R.run(K.LayerPolicy.simlayerkv(d), w_last=w_last))
        if decoding:
            add("SimLayerKV-decoding", d, R.run(K.LayerPolicy.simlayerkv(d), variant="decoding"))
        rs = [R.run(K.LayerPolicy.random_same_count(d, seed=1000 * seed + j), w_last=w_last)
              for j in range(random_draws)]
        add("random layers", d, {k: float(np.mean([r[k] for r in rs])) for k in cols})
        add("oracle", d, R.run(K.LayerPolicy.oracle(costs, d), w_last=w_last))
    return pd.DataFrame(rows)

def validate(**params) -> None:
    """Check notebook parameters: ints ≥ 1 (``n_init`` ≥ 0), ``delta`` in [0, 1), ``lr`` > 0; a clear
    error names the parameter and what is allowed."""
    for name, v in params.items():
        if name in ("delta",):
            if not (isinstance(v, (int, float)) and 0 <= v < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {v!r}")
        elif name in ("lr",):
            if not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"{name} must be > 0, got {v!r}")
        elif name in ("n_init", "seed"):
            if not (isinstance(v, int) and v >= 0):
                raise ValueError(f"{name} must be an int >= 0, got {v!r}")
        elif not (isinstance(v, int) and v >= 1):
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")


def parse_deltas(text: str) -> list[float]:
    """``"0.3,0.5"`` → [0.3, 0.5]; each in [0, 1)."""
    try:
        out = [float(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise ValueError(f"deltas must be comma-separated numbers in [0, 1), got {text!r}") from e
    if not out or any(not 0 <= d < 1 for d in out):
        raise ValueError(f"deltas must be comma-separated numbers in [0, 1), got {text!r}")
    return out


def consistency(scores: torch.Tensor, delta: float, start: int, w: int) -> tuple[np.ndarray, torch.Tensor]:
    """Lazy sets along the generated rows: ``scores`` (N, L, T) per-row scores with the full cache; the
    set at row t uses the mean of the ``w`` rows ending at t. Returns, per input, the share of rows
    after ``start`` whose lazy set equals the set at row ``start`` (the decision row), and the sets
    (N, T', L) bool for rows start … T−1."""
    N, L, T = scores.shape
    sm = torch.stack([scores[..., t - w + 1:t + 1].mean(-1) for t in range(start, T)], 1)   # (N, T', L)
    lazy = sm > delta
    same = (lazy[:, 1:] == lazy[:, :1]).all(-1).float().mean(1)
    return same.numpy(), lazy
