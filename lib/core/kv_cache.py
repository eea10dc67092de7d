"""Layer-level KV-cache reduction on ``transformers`` models: lazy-layer scores, layer policies, per-layer
trimming of a ``DynamicCache`` with true position ids, and generation that counts the KV entries kept and
read per token (SimLayerKV, Zhang et al., arXiv 2410.13846; StreamingLLM, Xiao et al., arXiv 2309.17453).

- ``KERNEL`` (``"kv_rows"``): an attention function registered with ``transformers.AttentionInterface``;
  it runs ``torch``'s scaled-dot-product attention with a causal mask built from (q_len, k_len) (so it is
  right for caches of different lengths per layer; padding is not supported: one sequence at a time), and,
  inside ``record_rows``, stores the attention probabilities of the last ``w`` query rows of each layer.
  Hub models load with ``attn_implementation="kv_rows"``.
- ``lazy_scores``: the SimLayerKV score of each layer, the attention mass of the last ``w_last`` query
  rows on the first ``n_init`` keys plus the ``n_recent`` keys ending at the query (a union: the sets do
  not double-count when they overlap), averaged over heads and rows.
- ``LayerPolicy``: which layers to trim for one input (full, StreamingLLM on every layer, SimLayerKV(δ),
  random layers with SimLayerKV's count, a fixed list, the oracle "cheapest layers" with SimLayerKV's
  count).
- ``generate_with_policy``: a documented greedy/teacher-forced loop (``model.generate`` builds RoPE
  positions and masks from layer 0's cache length, wrong once layer 0 is trimmed), for the *prefilling*
  variant (decide from the last ``w_last`` prompt rows, trim before decoding) and the *decoding* variant
  (decide from the row of the first generated token, trim after that step: the released code's way).

This module imports no paper package (SimLayerKV chapter 04 uses it; any chapter can)."""
from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from lib.core.attention import module_records

KERNEL = "kv_rows"
POLICIES = ("full", "streaming", "simlayerkv", "random", "fixed", "oracle")
VARIANTS = ("prefilling", "decoding")


# ------------------------------------------------------------------------------------------ kernel
def _causal(q_len: int, k_len: int, device) -> torch.Tensor:
    """(q_len, k_len) bool: the queries are the last q_len of k_len positions."""
    i = torch.arange(q_len, device=device)[:, None] + (k_len - q_len)
    return torch.arange(k_len, device=device)[None, :] <= i


def kv_rows_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                      **kwargs) -> tuple[torch.Tensor, None]:
    """transformers' attention signature: ``query`` (B, H, Tq, D), ``key``/``value`` (B, H_kv, Tk, D)
    after RoPE → (B, Tq, H, D). The mask is rebuilt from (Tq, Tk), so per-layer trimmed caches work;
    ``attention_mask`` is ignored (no padding)."""
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        key, value = key.repeat_interleave(groups, 1), value.repeat_interleave(groups, 1)
    Tq, Tk = query.shape[-2], key.shape[-2]
    scale = query.shape[-1] ** -0.5 if scaling is None else scaling
    drop = dropout if module.training else 0.0
    if Tq == Tk:
        out = nn.functional.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scale,
                                                         dropout_p=drop)
    else:
        out = nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=_causal(Tq, Tk, query.device),
                                                         scale=scale, dropout_p=drop)
    record = getattr(module, "kv_rows_record", None)
    if record is not None:
        w = min(record["w"], Tq)
        q = query[..., Tq - w:, :].float()
        s = (q @ key.float().transpose(-1, -2)) * scale
        allowed = _causal(Tq, Tk, query.device)[Tq - w:]
        record["rows"] = torch.softmax(s.masked_fill(~allowed, float("-inf")), -1).detach()
    return out.transpose(1, 2).contiguous(), None


def register() -> None:
    """Register ``KERNEL`` with transformers (idempotent; done on import)."""
    from transformers import AttentionInterface
    AttentionInterface.register(KERNEL, kv_rows_attention)
    try:
        from transformers import AttentionMaskInterface
        from transformers.masking_utils import sdpa_mask
        AttentionMaskInterface.register(KERNEL, sdpa_mask)
    except ImportError:   # older transformers build no mask for custom kernels; ours ignores it anyway
        pass


register()


@contextlib.contextmanager
def record_rows(model: nn.Module, w: int) -> Iterator[list[dict]]:
    """Within the block, every forward pass of a ``KERNEL`` model stores, per layer, ``rows``: the
    attention probabilities (B, H, min(w, Tq), Tk) of its last ``w`` query rows. Yields the per-layer dicts."""
    if getattr(model.config, "_attn_implementation", None) != KERNEL:
        raise ValueError(f"record_rows needs attn_implementation={KERNEL!r}, "
                         f"the model uses {model.config._attn_implementation!r}")
    if w < 1:
        raise ValueError(f"w must be >= 1, got {w}")
    with module_records(model, "kv_rows_record", lambda: {"w": w, "rows": None}) as records:
        yield records


# ------------------------------------------------------------------------------------------ scores
def lazy_mask(t: int, k_len: int, n_init: int, n_recent: int, device="cpu") -> torch.Tensor:
    """(k_len,) bool: the first ``n_init`` keys ∪ the ``n_recent`` keys ending at query position ``t``."""
    j = torch.arange(k_len, device=device)
    return (j < n_init) | ((j > t - n_recent) & (j <= t))


def lazy_scores(rows: Sequence[torch.Tensor], n_init: int = 4, n_recent: int = 1024, *,
                reduce: bool = True) -> torch.Tensor:
    """SimLayerKV's lazy score per layer. ``rows[l]`` (B, H, W, Tk): attention probabilities of the last
    W queries (absolute positions Tk−W … Tk−1). Returns (B, L), the mass on first ∪ recent keys averaged
    over heads and the W rows, or (B, L, W) per row with ``reduce=False``."""
    _check_window(n_init, n_recent)
    out = []
    for A in rows:
        if A is None or A.ndim != 4:
            raise ValueError("rows must be per-layer (B, H, W, Tk) tensors (run the forward inside record_rows)")
        W, Tk = A.shape[-2:]
        mask = torch.stack([lazy_mask(Tk - W + i, Tk, n_init, n_recent, A.device) for i in range(W)])
        mass = (A * mask).sum(-1).mean(1)           # (B, W)
        out.append(mass.mean(-1) if reduce else mass)
    return torch.stack(out, 1)


def _check_window(n_init: int, n_recent: int) -> None:
    if not (isinstance(n_init, int) and n_init >= 0):
        raise ValueError(f"n_init must be an int >= 0, got {n_init!r}")
    if not (isinstance(n_recent, int) and n_recent >= 1):
        raise ValueError(f"n_recent must be an int >= 1, got {n_recent!r}")


# ------------------------------------------------------------------------------------------ policies
@dataclass(frozen=True)
class LayerPolicy:
    """Which layers of one input to trim to first ``n_init`` + last ``n_recent`` entries.

    ``full``: none; ``streaming``: all; ``simlayerkv``: layers with lazy score > ``delta``; ``random``:
    as many random layers as SimLayerKV(``delta``) picks for that input (draws from ``seed``); ``fixed``:
    ``layers``; ``oracle``: SimLayerKV's count of the layers with the smallest ``costs`` (the measured
    cost of trimming each layer alone)."""
    kind: str
    delta: float = 0.5
    layers: tuple[int, ...] = ()
    costs: tuple[float, ...] = ()
    seed: int = 0
    _rng: random.Random = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in POLICIES:
            raise ValueError(f"policy kind must be one of {POLICIES}, got {self.kind!r}")
        if self.kind == "oracle" and not self.costs:
            raise ValueError("the oracle policy needs costs (one per layer)")
        object.__setattr__(self, "_rng", random.Random(self.seed))

    @classmethod
    def full(cls) -> LayerPolicy:
        return cls("full")

    @classmethod
    def streaming(cls) -> LayerPolicy:
        return cls("streaming")

    @classmethod
    def simlayerkv(cls, delta: float) -> LayerPolicy:
        return cls("simlayerkv", delta=delta)

    @classmethod
    def random_same_count(cls, delta: float, seed: int = 0) -> LayerPolicy:
        return cls("random", delta=delta, seed=seed)

    @classmethod
    def fixed(cls, layers: Sequence[int]) -> LayerPolicy:
        return cls("fixed", layers=tuple(int(x) for x in layers))

    @classmethod
    def oracle(cls, costs: Sequence[float], delta: float) -> LayerPolicy:
        return cls("oracle", delta=delta, costs=tuple(float(c) for c in costs))

    @property
    def needs_scores(self) -> bool:
        return self.kind in ("simlayerkv", "random", "oracle")

    def choose(self, scores: torch.Tensor | None, n_layers: int) -> list[int]:
        """The layers to trim, given this input's lazy scores (L,)."""
        if self.kind == "full":
            return []
        if self.kind == "streaming":
            return list(range(n_layers))
        if self.kind == "fixed":
            bad = [x for x in self.layers if not 0 <= x < n_layers]
            if bad:
                raise ValueError(f"layers {bad} out of range 0..{n_layers - 1}")
            return sorted(set(self.layers))
        if scores is None:
            raise ValueError(f"policy {self.kind!r} needs lazy scores")
        lazy = [l for l in range(n_layers) if float(scores[l]) > self.delta]
        if self.kind == "simlayerkv":
            return lazy
        if self.kind == "random":
            return sorted(self._rng.sample(range(n_layers), len(lazy)))
        order = sorted(range(n_layers), key=lambda l: self.costs[l])
        return sorted(order[:len(lazy)])

    def label(self) -> str:
        return {"full": "full", "streaming": "StreamingLLM", "simlayerkv": f"SimLayerKV δ={self.delta:g}",
                "random": f"random (count of δ={self.delta:g})", "fixed": f"layers {list(self.layers)}",
                "oracle": f"oracle (count of δ={self.delta:g})"}[self.kind]


# ------------------------------------------------------------------------------------------ cache
def cache_kv(cache, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys and values (B, H_kv, T, D) of one layer (transformers 5.x ``layers[i]``, 4.x ``key_cache[i]``)."""
    if hasattr(cache, "layers"):
        return cache.layers[layer].keys, cache.layers[layer].values
    return cache.key_cache[layer], cache.value_cache[layer]


def set_cache_kv(cache, layer: int, keys: torch.Tensor, values: torch.Tensor) -> None:
    if hasattr(cache, "layers"):
        cache.layers[layer].keys, cache.layers[layer].values = keys, values
    else:
        cache.key_cache[layer], cache.value_cache[layer] = keys, values


def layer_lengths(cache, n_layers: int) -> list[int]:
    """Entries (tokens) held per layer."""
    return [int(cache_kv(cache, l)[0].shape[-2]) for l in range(n_layers)]


def trim_layer(cache, layer: int, n_init: int, n_recent: int) -> bool:
    """Keep the first ``n_init`` and the last ``n_recent`` entries of ``layer``; a cache of at most
    n_init + n_recent entries is left alone (nothing duplicated). Keys keep their RoPE positions.
    Returns whether it trimmed."""
    _check_window(n_init, n_recent)
    k, v = cache_kv(cache, layer)
    if k.shape[-2] <= n_init + n_recent:
        return False
    set_cache_kv(cache, layer, torch.cat([k[..., :n_init, :], k[..., -n_recent:, :]], -2),
                 torch.cat([v[..., :n_init, :], v[..., -n_recent:, :]], -2))
    return True


def kv_bytes(cache, n_layers: int) -> int:
    """Bytes of keys and values held."""
    return sum(t.numel() * t.element_size() for l in range(n_layers) for t in cache_kv(cache, l))


def analytic_kept_fraction(r: float, n: int, n_init: int, n_recent: int) -> float:
    """Share of a full cache kept when a fraction ``r`` of layers is trimmed at context length ``n``:
    (1 − r) + r·min(n, n_init + n_recent)/n."""
    return (1 - r) + r * min(n, n_init + n_recent) / n


# ------------------------------------------------------------------------------------------ generation
@dataclass
class Generation:
    """One input through ``generate_with_policy``."""
    tokens: torch.Tensor           # (n_new,) the tokens fed/generated after the prompt
    logits: torch.Tensor           # (n_new, V): logits[i] predicts tokens[i]
    scores: torch.Tensor | None    # (L,) lazy scores the decision used (None: not needed)
    lazy: list[int]                # trimmed layers
    decided_at: int                # index into logits of the first prediction made with trimmed caches
    lengths: list[int]             # entries held per layer at the end
    reads: list[int]               # KV entries read (all layers) by each forward after the prompt
    seen: int                      # tokens seen (prompt + fed)

    @property
    def kv_kept(self) -> float:
        """Entries held at the end / entries of the full cache."""
        return sum(self.lengths) / (len(self.lengths) * self.seen)


def _forward(model, ids: torch.Tensor, cache, start: int):
    pos = torch.arange(start, start + ids.shape[1], device=ids.device)[None]
    return model(input_ids=ids, position_ids=pos, cache=cache, use_cache=True, logits_to_keep=1)


@torch.no_grad()
def generate_with_policy(model: nn.Module, input_ids: torch.Tensor, policy: LayerPolicy, *, n_init: int = 4,
                         n_recent: int = 1024, w_last: int = 1, variant: str = "prefilling",
                         max_new_tokens: int = 1, teacher_forcing: torch.Tensor | None = None,
                         keep_window: bool = True, eos_token_id: int | None = None) -> Generation:
    """Greedy (or teacher-forced) generation for one prompt ``input_ids`` (1, T) with per-layer trimming.

    The loop: prefill with the full cache; *prefilling* variant: score the layers on the last ``w_last``
    prompt rows and trim the chosen layers before decoding; *decoding* variant: feed the first generated
    token with the full cache, score on its row and trim after that step (the first two predictions use
    the full cache). Every forward gets ``position_ids`` from the true token count, never from a cache
    length. With ``keep_window`` trimmed layers stay a first + recent window while decoding (the paper's
    description); without it they grow again (the released code). ``teacher_forcing`` (n,) feeds those
    tokens instead of the argmax (then ``max_new_tokens`` = n)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if input_ids.ndim != 2 or input_ids.shape[0] != 1:
        raise ValueError(f"input_ids must be (1, T) (one sequence at a time), got {tuple(input_ids.shape)}")
    if not (isinstance(w_last, int) and w_last >= 1):
        raise ValueError(f"w_last must be an int >= 1, got {w_last!r}")
    _check_window(n_init, n_recent)
    if teacher_forcing is not None:
        teacher_forcing = teacher_forcing.reshape(-1)
        max_new_tokens = len(teacher_forcing)
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    from transformers import DynamicCache
    L = model.config.num_hidden_layers
    cache = DynamicCache(config=model.config)
    T = input_ids.shape[1]
    scores, lazy, decided_at = None, [], max_new_tokens

    def decide(records) -> None:
        nonlocal scores, lazy
        if records is not None:
            scores = lazy_scores([r["rows"] for r in records], n_init, n_recent)[0]
        lazy = policy.choose(scores, L)
        for l in lazy:
            trim_layer(cache, l, n_init, n_recent)

    want_rows = policy.needs_scores
    ctx = record_rows(model, w_last) if (want_rows and variant == "prefilling") else contextlib.nullcontext()
    with ctx as rec:
        out = _forward(model, input_ids, cache, 0)
    if variant == "prefilling":
        decide(rec)
        decided_at = 0
    logits, tokens, reads = [out.logits[0, -1]], [], []
    for i in range(max_new_tokens):
        tok = teacher_forcing[i] if teacher_forcing is not None else logits[-1].argmax()
        tokens.append(tok.reshape(()))
        if i == max_new_tokens - 1 or (eos_token_id is not None and int(tok) == eos_token_id):
            break
        first_decode = variant == "decoding" and i == 0
        ctx = record_rows(model, 1) if (first_decode and want_rows) else contextlib.nullcontext()
        reads.append(sum(n + 1 for n in layer_lengths(cache, L)))
        with ctx as rec:
            out = _forward(model, tok.reshape(1, 1).to(input_ids.device), cache, T + i)
        if first_decode:
            decide(rec)
            decided_at = 2
        elif keep_window:
            for l in lazy:
                trim_layer(cache, l, n_init, n_recent)
        logits.append(out.logits[0, -1])
    return Generation(torch.stack(tokens), torch.stack(logits), scores, lazy, min(decided_at, len(logits)),
                      layer_lengths(cache, L), reads, T + len(tokens) - 1)
