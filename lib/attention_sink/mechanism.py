"""The no-op mechanism of Gu et al. (arXiv 2410.10781), Sec. 3.1 / Fig. 2 and Sec. 7: a head that has
nothing to do parks its attention on the sink token, whose key the queries point to and whose value is
small, so the head adds (almost) nothing to the residual stream; after a trigger of Bigram-Backcopy the
same head looks back and copies.

``no_op`` measures this on a trained model in one pass: the copy accuracy after triggers (the model
learned the back-copy, not only the bigram), the norm of each head's write to the residual stream at idle
and at trigger positions, ‖k‖ and ‖v‖ of the sink token relative to the other tokens, and cos(q, k_sink)
against cos(q, k_other)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from lib.core import attention
from lib.core.bigram_backcopy import BigramBackcopy


def trigger_queries(task: BigramBackcopy, input_ids: torch.Tensor) -> torch.Tensor:
    """(B, T) bool, True at the query positions t that hold a trigger symbol and whose next token is a
    copy: x[t+1] = x[t−1]. Only positions after the fixed token (the chain is contiguous there) whose
    previous token is a chain token and that have a next token count. ``input_ids`` (B, T)."""
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be (B, T), got shape {tuple(input_ids.shape)}")
    T = input_ids.shape[1]
    t = torch.arange(T, device=input_ids.device)
    ok = (t - 1 > task.fixed_position - 1) & (t + 1 < T)
    is_trigger = torch.isin(input_ids, torch.as_tensor(task.triggers, device=input_ids.device))
    return is_trigger & ok


def idle_queries(task: BigramBackcopy, input_ids: torch.Tensor) -> torch.Tensor:
    """(B, T) bool, True at the positions after the fixed token that hold no trigger symbol (nothing
    to copy: the next token follows the bigram chain). ``input_ids`` (B, T)."""
    t = torch.arange(input_ids.shape[1], device=input_ids.device)
    is_trigger = torch.isin(input_ids, torch.as_tensor(task.triggers, device=input_ids.device))
    return ~is_trigger & (t > task.fixed_position - 1)


@dataclass(frozen=True)
class Mechanism:
    """What ``no_op`` measures. ``copy_acc``: argmax accuracy on the copied tokens; ``out_idle`` /
    ``out_trigger``: mean norm of the attention block's output (all heads, after W_O) at idle / trigger
    positions, averaged over layers; ``heads``: one row per (layer, head) with ``alpha_sink`` (the sink
    token's importance score α), ``out_idle`` / ``out_trigger`` (the head's own write W_O,h·o_h),
    ``k_ratio`` / ``v_ratio`` (‖k‖, ‖v‖ of the sink token over the median of the other tokens', norms
    averaged over sequences), ``cos_sink`` (mean cos(q_t, k_sink) over the queries after the sink) and
    ``cos_rest`` (mean cos(q_t, k_j) over the earlier non-sink keys j < t)."""
    copy_acc: float
    out_idle: float
    out_trigger: float
    heads: pd.DataFrame


@torch.no_grad()
def no_op(model: torch.nn.Module, input_ids: torch.Tensor, task: BigramBackcopy) -> Mechanism:
    """The no-op mechanism of a model trained on ``task`` (a ``lib.core.attention.VARIANTS`` Llama,
    optionally with key/value biases), measured on ``input_ids`` (B, T) from ``task``; the sink token is
    the task's fixed token (position 1 when it has none)."""
    p = max(task.fixed_position, 1) - 1                       # 0-based position of the sink token
    trig, idle = trigger_queries(task, input_ids), idle_queries(task, input_ids)
    if not trig.any():
        raise ValueError("input_ids hold no trigger followed by a copy: use more or longer sequences")
    device = next(model.parameters()).device
    x = input_ids.to(device)
    mods = attention.attention_modules(model)
    inputs: list[torch.Tensor] = []
    hooks = [m.o_proj.register_forward_pre_hook(lambda mod, args: inputs.append(args[0].detach()))
             for m in mods]
    was_training = model.training
    model.eval()
    try:
        with attention.record_attention(model) as rec:
            out = model(input_ids=x, output_attentions=True)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    trig, idle = trig.to(device), idle.to(device)
    pred = out.logits[:, :-1].argmax(-1)
    copy_acc = (pred == x[:, 1:])[trig[:, :-1]].float().mean().item()

    rows, layer_idle, layer_trig = [], [], []
    for layer, (m, o_in, r, attn) in enumerate(zip(mods, inputs, rec, out.attentions)):
        B, T, _ = o_in.shape
        H, D = r["query"].shape[1], r["query"].shape[-1]
        block = m.o_proj(o_in).norm(dim=-1)                   # B, T
        layer_idle.append(block[idle].mean().item())
        layer_trig.append(block[trig].mean().item())
        w_o = m.o_proj.weight.view(-1, H, D)                  # d_model, H, D
        write = torch.einsum("bthd,mhd->bthm", o_in.view(B, T, H, D), w_o).norm(dim=-1)   # B, T, H
        alpha = attention.importance_scores(attn.float())[..., p].mean(0)               # H
        q, k, v = r["query"], r["key"], r["value"]            # B, H, T, D
        knorm, vnorm = k.norm(dim=-1).mean(0), v.norm(dim=-1).mean(0)                   # H, T
        rest = [j for j in range(p + 1, T)]
        cos = torch.nn.functional.cosine_similarity(q[:, :, :, None], k[:, :, None], dim=-1).mean(0)  # H, T, T
        t_idx, j_idx = torch.arange(T, device=device)[:, None], torch.arange(T, device=device)[None]
        earlier = (j_idx < t_idx) & (j_idx > p)               # non-sink keys before the query
        for h in range(H):
            rows.append({"layer": layer, "head": h, "alpha_sink": alpha[h].item(),
                         "out_idle": write[..., h][idle].mean().item(),
                         "out_trigger": write[..., h][trig].mean().item(),
                         "k_ratio": (knorm[h, p] / knorm[h, rest].median()).item(),
                         "v_ratio": (vnorm[h, p] / vnorm[h, rest].median()).item(),
                         "cos_sink": cos[h, p + 1:, p].mean().item(),
                         "cos_rest": cos[h][earlier].mean().item()})
    return Mechanism(copy_acc=copy_acc, out_idle=sum(layer_idle) / len(layer_idle),
                     out_trigger=sum(layer_trig) / len(layer_trig), heads=pd.DataFrame(rows))
