"""The task that gives a tiny model lazy layers: typed values hidden in Bigram-Backcopy filler with a fixed
first token (BOS), then questions "which value of type t was in the context?".

    [BOS] <filler from lib.core.bigram_backcopy, with n_types typed values inserted> ASK_a v_a ASK_b v_b …

Bigram-Backcopy makes most heads idle at most positions (they only act after a trigger symbol), so with a
fixed BOS they grow an attention sink (Gu et al., arXiv 2410.10781); a layer that does no retrieval then
looks "lazy" to SimLayerKV's test (its attention sits on the first and the recent tokens), while the
retrieval layer must reach back to the typed values. Design: ``../shared/research/kv_sink.md`` A4-bis."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from lib.core.bigram_backcopy import BigramBackcopy
from lib.core.models import tiny_llama
from lib.core.train import TrainConfig, step_generator, train
from lib.core import kv_cache

EVAL_SEED = 999_001   # held-out inputs: the same for every training seed


@dataclass(frozen=True)
class TypedValues:
    """``n_types`` value types with ``values_per_type`` tokens each, hidden at random positions
    (≥ ``min_pos``) in ``fill_len`` filler tokens over ``n_symbols`` Bigram-Backcopy symbols; then
    one question per type in random order. Token ids: symbols, typed values, ASK tokens, BOS."""
    n_symbols: int = 32
    n_triggers: int = 3
    n_types: int = 3
    values_per_type: int = 8
    fill_len: int = 48
    min_pos: int = 5
    chain_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_symbols", "n_types", "values_per_type", "fill_len", "min_pos"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.fill_len - 4 - self.min_pos < self.n_types:
            raise ValueError(f"fill_len {self.fill_len} leaves no room for {self.n_types} values after min_pos")

    @cached_property
    def filler(self) -> BigramBackcopy:
        return BigramBackcopy(self.n_symbols, self.n_triggers, fixed_position=0, seed=self.chain_seed)

    @property
    def value0(self) -> int:
        return self.n_symbols + 1          # id n_symbols is the chain's (unused) fixed token

    @property
    def ask0(self) -> int:
        return self.value0 + self.n_types * self.values_per_type

    @property
    def bos_id(self) -> int:
        return self.ask0 + self.n_types

    @property
    def vocab_size(self) -> int:
        return self.bos_id + 1

    @property
    def seq_len(self) -> int:
        return 1 + self.fill_len + 3 * self.n_types

    @property
    def prompt_len(self) -> int:
        """Tokens up to and including the first question (the decision point)."""
        return 1 + self.fill_len + self.n_types + 1

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` sequences (n, seq_len) and the positions (n, n_types) of their answer tokens."""
        fill = self.filler.sample(n, self.fill_len, rng).numpy()
        first_vals = self.value0 + np.arange(self.n_types) * self.values_per_type
        n_pos = self.fill_len - 4 - self.min_pos
        seqs, answers = [], []
        for b in range(n):
            # the same draws as rng.choice(np.arange(min_pos, fill_len - 4), ...): choice indexes the array
            pos = np.sort(self.min_pos + rng.choice(n_pos, self.n_types, replace=False))
            vals = first_vals + rng.integers(self.values_per_type, size=self.n_types)
            order = rng.permutation(self.n_types)
            seq = [self.bos_id] + fill[b].tolist()
            for p, t in sorted(zip(pos.tolist(), order.tolist()), reverse=True):
                seq.insert(p, int(vals[t]))
            ans = []
            for t in rng.permutation(self.n_types).tolist():
                seq.append(self.ask0 + t)
                ans.append(len(seq))
                seq.append(int(vals[t]))
            seqs.append(seq)
            answers.append(ans)
        return torch.from_numpy(np.array(seqs, dtype=np.int64)), torch.from_numpy(np.array(answers, dtype=np.int64))

    def eval_set(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Held-out inputs, the same for every training seed."""
        return self.sample(n, np.random.default_rng(EVAL_SEED))

    def batches(self, batch_size: int, seed: int, answer_weight: float):
        """``batches(step)`` for ``lib.core.train``: token ids and per-target loss weights (answers
        weigh ``answer_weight``); a function of (seed, step) alone."""
        def batch(step: int) -> dict[str, torch.Tensor]:
            g = step_generator(seed, step)
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=g)))
            x, ans = self.sample(batch_size, rng)
            w = torch.ones(x.shape[0], x.shape[1] - 1)
            w.scatter_(1, ans - 1, answer_weight)
            return {"input_ids": x, "weights": w}
        return batch


def weighted_lm_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Next-token cross-entropy with per-target weights (answers count more)."""
    x, w = batch["input_ids"], batch["weights"]
    logits = model(input_ids=x).logits[:, :-1]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                           reduction="none").view_as(w)
    return (ce * w).sum() / w.sum()


def build_model(task: TypedValues, *, d_model: int = 32, n_layers: int = 2, n_heads: int = 2,
                seed: int = 0) -> torch.nn.Module:
    """The task model: a tiny Llama (untied embeddings, FFN 4·d) with ``lib.core.kv_cache``'s kernel."""
    torch.manual_seed(seed)
    return tiny_llama(task.vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads, d_ff=4 * d_model,
                      max_len=max(256, task.seq_len), tie_embeddings=False, attn_implementation=kv_cache.KERNEL)


def train_task_model(task: TypedValues, *, seed: int, steps: int = 2500, batch_size: int = 32, lr: float = 1e-2,
                     answer_weight: float = 3.0, d_model: int = 32, n_layers: int = 2, n_heads: int = 2,
                     progress: bool = False):
    """Train the task model (AdamW, 50 warm-up steps, then the constant large learning rate that sinks
    need); a pure function of its arguments. Returns (model in eval mode, history DataFrame)."""
    model = build_model(task, d_model=d_model, n_layers=n_layers, n_heads=n_heads, seed=seed)
    cfg = TrainConfig(steps=steps, lr=lr, warmup=50, min_lr_ratio=1.0)
    hist = train(model, task.batches(batch_size, seed, answer_weight), cfg, loss_fn=weighted_lm_loss,
                 progress=progress)
    return model.eval(), hist
