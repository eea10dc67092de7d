"""Tiny language models as real ``transformers`` models, built from configs (no download), or the
paper-scale ones from the hub by name (on a GPU). ``generate()``, KV caches and attention outputs work
as a researcher expects.

Variants later chapters need hook in through the config: ``attn_implementation`` picks the attention
function (``"eager"`` returns attention weights; a custom function registered with
``transformers.AttentionInterface.register(name, fn)`` gives other normalisations or key/value biases),
and ``is_causal=False`` in ``config_overrides`` marks a bidirectional (masked-diffusion) model."""
from __future__ import annotations

from typing import Any

import torch
from transformers import (AutoModelForCausalLM, AutoModelForSequenceClassification, LlamaConfig, LlamaForCausalLM,
                          PreTrainedModel)


def tiny_llama(vocab_size: int, *, d_model: int = 64, n_layers: int = 2, n_heads: int = 4,
               d_ff: int | None = None, max_len: int = 256, attn_implementation: str = "sdpa",
               tie_embeddings: bool = True, **config_overrides: Any) -> LlamaForCausalLM:
    """A Llama (RMSNorm, RoPE, SwiGLU) with ``n_layers`` blocks of width ``d_model``, randomly
    initialised from the current torch seed. ``d_ff`` defaults to the Llama ratio, 8/3·d_model
    rounded up to a multiple of 16."""
    for name, value in {"vocab_size": vocab_size, "d_model": d_model, "n_layers": n_layers,
                        "n_heads": n_heads, "max_len": max_len}.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if d_model % n_heads:
        raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
    d_ff = d_ff or 16 * -(-(8 * d_model // 3) // 16)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=d_model, intermediate_size=d_ff,
                         num_hidden_layers=n_layers, num_attention_heads=n_heads,
                         num_key_value_heads=n_heads, max_position_embeddings=max_len,
                         tie_word_embeddings=tie_embeddings, bos_token_id=None, eos_token_id=None,
                         pad_token_id=None, **config_overrides)
    config._attn_implementation = attn_implementation
    return LlamaForCausalLM(config)


def from_pretrained(name: str, *, dtype: torch.dtype | str = "auto", **kwargs: Any) -> PreTrainedModel:
    """A hub model by name (e.g. ``"TinyLlama/TinyLlama_v1.1"``) for the ``gpu`` profiles; it needs
    the network or a local hub cache, so tests never call it."""
    return AutoModelForCausalLM.from_pretrained(name, dtype=dtype, **kwargs)


def reward_model_from_pretrained(name: str, *, dtype: torch.dtype | str = "auto", **kwargs: Any) -> PreTrainedModel:
    """A hub reward model by name (a sequence classifier with one output, the reward; e.g.
    ``"Skywork/Skywork-Reward-Llama-3.1-8B"``); like ``from_pretrained`` it needs the hub."""
    return AutoModelForSequenceClassification.from_pretrained(name, num_labels=1, dtype=dtype, **kwargs)


def n_params(model: torch.nn.Module, *, non_embedding: bool = False) -> int:
    """Number of parameters; with ``non_embedding`` the input/output embeddings are left out
    (counted once if tied)."""
    total = sum(p.numel() for p in model.parameters())
    if not non_embedding:
        return total
    emb = {id(p): p.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding)
           for p in m.parameters()}
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None:
        emb.update({id(p): p.numel() for p in head.parameters()})
    return total - sum(emb.values())


def bidirectional_copy(model: LlamaForCausalLM, *, new_tokens: int = 1) -> LlamaForCausalLM:
    """A bidirectional (``is_causal=False``) copy of a ``tiny_llama`` with ``new_tokens`` extra
    vocabulary entries (e.g. a ``[MASK]`` token, id = the old vocabulary size): every weight is copied,
    the new embedding rows keep a fresh initialisation. This starts a masked-diffusion model from a
    trained autoregressive one (the adaptation route of Gong et al., arXiv 2410.17891)."""
    if new_tokens < 0:
        raise ValueError(f"new_tokens must be >= 0, got {new_tokens}")
    config = model.config.to_dict() | {"vocab_size": model.config.vocab_size + new_tokens, "is_causal": False}
    config = type(model.config).from_dict(config)
    config._attn_implementation = model.config._attn_implementation
    copy = LlamaForCausalLM(config).to(next(model.parameters()).device)
    state = model.state_dict()
    for name, fresh in copy.state_dict().items():
        if state[name].shape != fresh.shape:          # the (tied) embedding and output head
            state[name] = torch.cat([state[name], fresh[state[name].shape[0]:]])
    copy.load_state_dict(state)
    return copy
