"""Masked diffusion language models (Nie et al., "Scaling up Masked Diffusion Models on Text",
arXiv 2410.18514; code ML-GSAI/SMDM).

The model is a bidirectional Transformer with a ``[MASK]`` token (``tiny_llama(..., is_causal=False)``),
trained with the ELBO of eq. (4):

    -log p(x0) <= L = ∫_0^1 (1/t) E_{x_t ~ q(.|x0)} [ Σ_{i: x_t^i = m} -log p_θ(x0^i | x_t) ] dt,

and sampled by the reverse process with low-confidence (or random) remasking, optionally with
unsupervised classifier-free guidance (eq. 7), whose unconditional input masks the prompt."""
from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

Batch = dict[str, torch.Tensor]


def mask_tokens(x: torch.Tensor, p_mask: torch.Tensor, mask_id: int, *,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward process: each token of ``x`` (B, L) independently becomes ``mask_id`` with probability
    ``p_mask`` (B,). Returns (x_t, masked) with ``masked`` a (B, L) bool tensor."""
    masked = (torch.rand(x.shape, generator=generator) < p_mask.cpu()[:, None]).to(x.device)
    return torch.where(masked, torch.full_like(x, mask_id), x), masked


def mdm_loss(model: torch.nn.Module, batch: Batch, mask_id: int, *, eps: float = 1e-3) -> torch.Tensor:
    """One-sample Monte-Carlo estimate of the ELBO of eq. (4) in nats per token: draw t ~ U(0, 1) per
    sequence, mask with p = (1 - eps)·t + eps, cross-entropy on the masked tokens weighted by 1/p,
    normalised by B·L (so it compares with an ARM's per-token loss). ``batch["input_ids"]`` is (B, L)."""
    x = batch["input_ids"]
    b, length = x.shape
    p = (1 - eps) * torch.rand(b) + eps
    xt, masked = mask_tokens(x, p, mask_id)
    logits = model(input_ids=xt).logits
    ce = F.cross_entropy(logits[masked], x[masked], reduction="none")
    return (ce / p.to(x.device)[:, None].expand(b, length)[masked]).sum() / (b * length)


@torch.no_grad()
def elbo_exact(model: torch.nn.Module, x: torch.Tensor, mask_id: int) -> float:
    """The ELBO of eq. (4) for one short sequence ``x`` (L,), exactly, in nats (not per token): the
    integral over t weights every mask set M of size k by ∫ t^(k-1) (1-t)^(L-k) dt = (k-1)!(L-k)!/L!.
    Enumerates all 2^L - 1 mask sets, so L ≤ 12."""
    length = len(x)
    if length > 12:
        raise ValueError(f"elbo_exact enumerates 2^L mask sets; L must be <= 12, got {length}")
    total = 0.0
    for k in range(1, length + 1):
        weight = math.factorial(k - 1) * math.factorial(length - k) / math.factorial(length)
        for subset in itertools.combinations(range(length), k):
            xt = x.clone()
            xt[list(subset)] = mask_id
            logp = model(input_ids=xt[None]).logits[0].log_softmax(-1)
            total += weight * -sum(logp[i, x[i]].item() for i in subset)
    return total


def transfer_schedule(n_masked: int, steps: int) -> list[int]:
    """How many masked tokens each of ``steps`` reverse steps reveals: an exact integer split of
    ``n_masked`` (as LLaDA's get_num_transfer_tokens), so no step reveals 0 while masks remain."""
    if not 1 <= steps <= max(n_masked, 1):
        raise ValueError(f"steps must be in 1..{max(n_masked, 1)} (the number of masked tokens), got {steps}")
    base, extra = divmod(n_masked, steps)
    return [base + (i < extra) for i in range(steps)]


def guided_logits(model: torch.nn.Module, x: torch.Tensor, prompt_len: int, mask_id: int,
                  cfg: float) -> torch.Tensor:
    """Logits (B, L, V) with unsupervised classifier-free guidance, eq. (7):
    ℓ = ℓ_u + (1 + w)(ℓ_c - ℓ_u), where ℓ_u comes from the same input with the prompt masked.
    ``cfg`` = w = 0 gives the plain conditional logits."""
    if cfg == 0:
        return model(input_ids=x).logits
    unconditional = x.clone()
    unconditional[:, :prompt_len] = mask_id
    cond, uncond = model(input_ids=torch.cat([x, unconditional])).logits.chunk(2)
    return uncond + (1 + cfg) * (cond - uncond)


@torch.no_grad()
def generate(model: torch.nn.Module, prompt: torch.Tensor, gen_len: int, mask_id: int, *, steps: int,
             remasking: str = "low_confidence", temperature: float = 0.0, cfg: float = 0.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Reverse process from ``[prompt, MASK × gen_len]`` in ``steps`` steps; returns the generated
    tokens (B, gen_len). Each step predicts x0 at every masked position (Gumbel-max in float64 at
    ``temperature``; argmax at 0; never the mask) and reveals the scheduled number of them: the most confident
    (``"low_confidence"`` remasking) or random ones (``"random"``). Revealed tokens stay."""
    if remasking not in ("low_confidence", "random"):
        raise ValueError(f"remasking must be 'low_confidence' or 'random', got {remasking!r}")
    b, plen = prompt.shape
    x = torch.cat([prompt, torch.full((b, gen_len), mask_id, dtype=prompt.dtype, device=prompt.device)], 1)
    for k in transfer_schedule(gen_len, steps):
        masked = x == mask_id
        logits = guided_logits(model, x, plen, mask_id, cfg).double()
        logits[..., mask_id] = -torch.inf   # never predict the mask itself
        if temperature > 0:
            u = torch.rand(logits.shape, dtype=torch.float64, generator=generator).clamp_min(1e-300)
            x0 = (logits / temperature - torch.log(-torch.log(u)).to(logits.device)).argmax(-1)
        else:
            x0 = logits.argmax(-1)
        if remasking == "low_confidence":
            conf = logits.softmax(-1).gather(-1, x0[..., None])[..., 0]
        else:
            conf = torch.rand(x0.shape, dtype=torch.float64, generator=generator).to(x0.device)
        conf = conf.masked_fill(~masked, -1.0)
        reveal = conf.topk(k, dim=-1).indices
        x.scatter_(1, reveal, x0.gather(1, reveal))
    return x[:, plen:]
