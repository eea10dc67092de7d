"""Attention variants as ``transformers`` attention functions, and the attention-sink metrics.

Variants (Gu et al., "When Attention Sink Emerges in Language Models", arXiv 2410.10781, Sec. 7 and
Tables 4 and 6), registered with ``transformers.AttentionInterface`` under the names in ``VARIANTS`` so
that any Llama built with ``attn_implementation=<name>`` uses them:

- ``sink_softmax``: softmax(q·kᵀ/√d) over the causal keys (the usual attention);
- ``sink_sigmoid``: sigmoid(q·kᵀ/√d) on the causal keys, rows *not* normalised;
- ``sink_sigmoid_norm``: the same, each row divided by its sum.

``add_kv_bias`` adds the paper's key/value biases to a built model: a learnable key k* prepended (after
RoPE) to every head's keys with a zero (K bias) or learnable (KV bias) value v*, or a learnable v*
added to the attention output (V bias).

Metrics (Sec. 3.2): the importance score α_k of key k, the sink rate Sink_k^ε, and the key/value
norms and cos(q_t, k_1) of Sec. 3.1 / Fig. 2. This module imports no paper module: the later SimLayerKV
chapter reuses it."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

VARIANTS: dict[str, str] = {"softmax": "sink_softmax", "sigmoid": "sink_sigmoid",
                            "sigmoid_norm": "sink_sigmoid_norm"}
EPSILON = 0.3   # the paper's threshold on α_k


# ----------------------------------------------------------------------------------------- kernels
def causal_allowed(q_len: int, k_len: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(q_len, k_len) bool, True where query i may see key j: the queries are the last ``q_len`` of
    the ``k_len`` positions (prefill or decoding with a cache)."""
    if q_len > k_len:
        raise ValueError(f"q_len ({q_len}) cannot exceed k_len ({k_len})")
    i = torch.arange(q_len, device=device)[:, None] + (k_len - q_len)
    return torch.arange(k_len, device=device)[None, :] <= i


def _allowed(attention_mask: torch.Tensor | None, q_len: int, k_len: int, device) -> torch.Tensor:
    """The boolean keep-mask from what transformers passes: None (we build the causal mask), a bool
    mask (True = attend) or an additive float mask (0 = attend)."""
    if attention_mask is None:
        return causal_allowed(q_len, k_len, device)
    mask = attention_mask[..., -k_len:]
    if mask.dtype == torch.bool:
        return mask
    return mask > torch.finfo(mask.dtype).min / 2


def attention_weights(scores: torch.Tensor, allowed: torch.Tensor, variant: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights applied to the values, and row-normalised (proxy) probabilities for the metrics.

    ``scores`` (..., Tq, Tk) = q·kᵀ/√d; ``allowed`` (..., Tq, Tk) bool, broadcastable. For softmax both
    are the softmax; for sigmoid without normalisation the proxy divides each row by its sum, as the
    paper's inference code does."""
    if variant == "softmax":
        s = scores.float()
        # the most negative float, not -inf: a fully masked (padding) row becomes uniform, not NaN
        w = torch.softmax(s.masked_fill(~allowed, torch.finfo(s.dtype).min), dim=-1).to(scores.dtype)
        return w, w
    if variant in ("sigmoid", "sigmoid_norm"):
        w = torch.sigmoid(scores) * allowed
        proxy = w / (w.sum(-1, keepdim=True) + 1e-8)
        return (proxy if variant == "sigmoid_norm" else w), proxy
    raise ValueError(f"unknown attention variant {variant!r}; known: {', '.join(VARIANTS)}")


def _repeat_kv(x: torch.Tensor, n: int) -> torch.Tensor:
    return x if n == 1 else x.repeat_interleave(n, dim=1)


def sink_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                   *, variant: str = "softmax", **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """One attention call in transformers' kernel signature: ``query`` (B, H, Tq, D), ``key``/``value``
    (B, H_kv, Tk, D) after RoPE → output (B, Tq, H, D) and the row-normalised weights (B, H, Tq, Tk)
    over the real keys (returned as ``attentions`` with ``output_attentions=True``).

    With ``module.k_bias`` (H, D) the learnable key k* is prepended as key 0, visible to every query,
    with value ``module.v_bias`` (H, D) or zero; with only ``module.v_bias`` it is added to the output."""
    key = _repeat_kv(key, getattr(module, "num_key_value_groups", 1))
    value = _repeat_kv(value, getattr(module, "num_key_value_groups", 1))
    B, H, Tq, D = query.shape
    Tk = key.shape[-2]
    scaling = D ** -0.5 if scaling is None else scaling
    allowed = _allowed(attention_mask, Tq, Tk, query.device)
    k_bias, v_bias = getattr(module, "k_bias", None), getattr(module, "v_bias", None)
    if k_bias is not None:
        key = torch.cat([k_bias.to(key.dtype)[None, :, None, :].expand(B, H, 1, D), key], dim=2)
        slot = (v_bias.to(value.dtype)[None, :, None, :].expand(B, H, 1, D) if v_bias is not None
                else value.new_zeros(B, H, 1, D))
        value = torch.cat([slot, value], dim=2)
        allowed = torch.cat([allowed.new_ones(*allowed.shape[:-1], 1), allowed], dim=-1)
    scores = (query @ key.transpose(-1, -2)) * scaling
    weights, probs = attention_weights(scores, allowed, variant)
    if dropout and module.training:
        weights = nn.functional.dropout(weights, p=dropout)
    out = weights @ value
    if v_bias is not None and k_bias is None:
        out = out + v_bias.to(out.dtype)[None, :, None, :]
    record = getattr(module, "attention_record", None)
    if record is not None:
        record["bias"] = probs[..., 0].detach() if k_bias is not None else None
        record.update(query=query.detach(), key=key[..., int(k_bias is not None):, :].detach(),
                      value=value[..., int(k_bias is not None):, :].detach())
    if k_bias is not None:
        probs = probs[..., 1:]
    return out.transpose(1, 2).contiguous(), probs


def _make_kernel(variant: str):
    def kernel(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        return sink_attention(module, query, key, value, attention_mask, scaling, dropout, variant=variant)
    kernel.__name__ = f"sink_attention_{variant}"
    return kernel


def register() -> None:
    """Register the variants (names in ``VARIANTS``) with transformers; idempotent, done on import.
    With ``AttentionMaskInterface`` we pass transformers' boolean (sdpa) masks, so padding masks work."""
    from transformers import AttentionInterface
    try:
        from transformers import AttentionMaskInterface
        from transformers.masking_utils import sdpa_mask
    except ImportError:   # older transformers: the kernel builds the causal mask itself
        AttentionMaskInterface = None
    for variant, name in VARIANTS.items():
        AttentionInterface.register(name, _make_kernel(variant))
        if AttentionMaskInterface is not None:
            AttentionMaskInterface.register(name, sdpa_mask)


register()


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """The self-attention modules of a model, in layer order (those with ``layer_idx``)."""
    mods = [m for m in model.modules() if hasattr(m, "layer_idx") and hasattr(m, "scaling")]
    if not mods:
        raise ValueError("no attention modules (with layer_idx and scaling) found in the model")
    return sorted(mods, key=lambda m: m.layer_idx)


def add_kv_bias(model: nn.Module, *, key: bool = True, value: bool = False, std: float = 0.02) -> nn.Module:
    """Give every attention module of ``model`` the paper's biases (Table 4), as new parameters
    initialised N(0, std²), one per head, in place; returns the model.

    ``key=True, value=False``: learnable k*, zero v* ("K biases"); ``key=True, value=True``: learnable
    k* and v* ("KV biases"); ``key=False, value=True``: v* added to the attention output ("V biases").
    Only the ``VARIANTS`` kernels read them."""
    if not (key or value):
        raise ValueError("add_kv_bias needs key=True or value=True")
    impl = getattr(getattr(model, "config", None), "_attn_implementation", None)
    if impl not in VARIANTS.values():
        raise ValueError(f"kv biases need one of the attention variants {list(VARIANTS.values())}, "
                         f"the model uses {impl!r}")
    for m in attention_modules(model):
        H, D = model.config.num_attention_heads, m.head_dim
        p = next(m.parameters())
        if key:
            m.k_bias = nn.Parameter(std * torch.randn(H, D, dtype=p.dtype, device=p.device))
        if value:
            m.v_bias = nn.Parameter(std * torch.randn(H, D, dtype=p.dtype, device=p.device))
    return model


@contextlib.contextmanager
def record_attention(model: nn.Module) -> Iterator[list[dict[str, torch.Tensor | None]]]:
    """Within the block, each forward pass of a model using a ``VARIANTS`` kernel stores, per layer,
    ``query`` (B, H, Tq, D), ``key``/``value`` (B, H, Tk, D) after RoPE and ``bias``, the attention
    (B, H, Tq) on the key bias (None without one). Yields the list of per-layer dicts."""
    with module_records(model, "attention_record", dict) as records:
        yield records


@contextlib.contextmanager
def module_records(model: nn.Module, attr: str, make: Callable[[], dict]) -> Iterator[list[dict]]:
    """Within the block, every attention module of ``model`` (``attention_modules``) holds a fresh dict
    ``make()`` as attribute ``attr``, for its kernel to fill; yields the dicts in layer order and resets
    the attribute to None on exit."""
    mods = attention_modules(model)
    records = [make() for _ in mods]
    for m, r in zip(mods, records):
        setattr(m, attr, r)
    try:
        yield records
    finally:
        for m in mods:
            setattr(m, attr, None)


@torch.no_grad()
def attention_maps(model: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """Attention probabilities (B, L, H, T, T) for ``input_ids`` (B, T) via ``output_attentions``:
    works for the ``VARIANTS`` kernels (proxy scores for sigmoid) and for ``eager`` models (hub models:
    load them with ``attn_implementation="eager"``). ``input_ids`` may be on any device (they are moved
    to the model's); the maps come back on the device of ``input_ids``."""
    impl = getattr(model.config, "_attn_implementation", None)
    if impl not in (*VARIANTS.values(), "eager"):
        raise ValueError(f"attention maps need attn_implementation 'eager' or one of {list(VARIANTS.values())}, "
                         f"got {impl!r}")
    out = model(input_ids=input_ids.to(next(model.parameters()).device), output_attentions=True)
    return torch.stack([a.float() for a in out.attentions], dim=1).to(input_ids.device)


# ----------------------------------------------------------------------------------------- metrics
def importance_scores(attn: torch.Tensor) -> torch.Tensor:
    """α_k = 1/(T−k+1) Σ_{t≥k} A_{t,k}: the mean attention key k receives from the queries that can
    see it (incl. itself). ``attn`` (..., T, T) causal, rows summing to 1 → (..., T)."""
    if attn.ndim < 2 or attn.shape[-1] != attn.shape[-2]:
        raise ValueError(f"attention maps must be (..., T, T), got {tuple(attn.shape)}")
    T = attn.shape[-1]
    seen_by = torch.arange(T, 0, -1, dtype=attn.dtype, device=attn.device)   # T − k + 1 (k 1-based)
    return attn.sum(-2) / seen_by


def first_token_attention(attn: torch.Tensor) -> torch.Tensor:
    """α₁, the importance score of the first token: ``attn`` (..., T, T) → (...)."""
    return importance_scores(attn)[..., 0]


def sink_rate(attn: torch.Tensor, eps: float = EPSILON, k: int = 1) -> float:
    """Sink_k^ε in %: the share of (sequence, layer, head) maps whose importance score α_k exceeds
    ``eps`` (paper: ε = 0.3, T = 64, 100 sequences). ``attn`` (..., T, T), e.g. (B, L, H, T, T); ``k``
    is 1-based."""
    if not 1 <= k <= attn.shape[-1]:
        raise ValueError(f"k must be in 1..{attn.shape[-1]}, got {k}")
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1), got {eps}")
    return 100.0 * (importance_scores(attn)[..., k - 1] > eps).float().mean().item()


def sink_rates(attn: torch.Tensor, eps: float = EPSILON) -> torch.Tensor:
    """Sink_k^ε in % for every key position k = 1..T: ``attn`` (..., T, T) → (T,)."""
    alpha = importance_scores(attn)
    return 100.0 * (alpha > eps).float().reshape(-1, alpha.shape[-1]).mean(0)


def sink_rate_after_first(attn: torch.Tensor, eps: float = EPSILON, min_queries: int = 1) -> float:
    """The largest Sink_k^ε (%) over the key positions k ≥ 2 that at least ``min_queries`` queries see
    (the last keys' scores rest on a handful of queries and pass ε trivially): ``attn`` (..., T, T)."""
    rates = sink_rates(attn, eps)
    return rates[1:max(2, len(rates) - min_queries + 1)].max().item()


def bias_sink_rate(bias_attn: torch.Tensor, eps: float = EPSILON) -> float:
    """Sink*^ε in % for a key bias: ``bias_attn`` (..., T) is the attention each query puts on k*,
    which all T queries see, so its importance score is the mean over queries."""
    return 100.0 * (bias_attn.mean(-1) > eps).float().mean().item()


def token_norms(x: torch.Tensor) -> torch.Tensor:
    """ℓ2 norm of each token's vector: ``x`` (..., T, D) → (..., T) (keys, values, hidden states)."""
    return x.norm(dim=-1)


def first_key_cosine(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """cos(q_t, k_1) for every query t: ``query`` (..., T, D), ``key`` (..., T, D) → (..., T); the
    paper's Fig. 2 shows it is large for the sink token although ‖k_1‖ is small."""
    return torch.nn.functional.cosine_similarity(query, key[..., :1, :], dim=-1)
