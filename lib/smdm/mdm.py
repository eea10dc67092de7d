"""Masked diffusion language models (Nie et al., "Scaling up Masked Diffusion Models on Text",
arXiv 2410.18514; code ML-GSAI/SMDM).

The model is a bidirectional Transformer with a ``[MASK]`` token (``tiny_llama(..., is_causal=False)``),
trained with the ELBO of eq. (4):

    -log p(x0) <= L = ∫_0^1 (1/t) E_{x_t ~ q(.|x0)} [ Σ_{i: x_t^i = m} -log p_θ(x0^i | x_t) ] dt,

and sampled by the reverse process with low-confidence (or random) remasking, optionally with
unsupervised classifier-free guidance (eq. 7), whose unconditional input masks the prompt."""
from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

Batch = dict[str, torch.Tensor]
KINDS = ("arm", "mdm")
MASK = "[MASK]"


def mask_tokens(x: torch.Tensor, p_mask: torch.Tensor, mask_id: int, *,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward process: each token of ``x`` (B, L) independently becomes ``mask_id`` with probability
    ``p_mask`` (B,). Returns (x_t, masked) with ``masked`` a (B, L) bool tensor."""
    masked = (torch.rand(x.shape, generator=generator) < p_mask.cpu()[:, None]).to(x.device)
    return torch.where(masked, torch.full_like(x, mask_id), x), masked


def mdm_loss(model: torch.nn.Module, batch: Batch, mask_id: int, *, eps: float = 1e-3,
             generator: torch.Generator | None = None, noise=None, prefix: int = 0) -> torch.Tensor:
    """One-sample Monte-Carlo estimate of the ELBO of eq. (4) in nats per token: draw t ~ U(0, 1) per
    sequence, mask with p = (1 - eps)·t + eps, cross-entropy on the masked tokens weighted by 1/p,
    normalised by B·L (so it compares with an ARM's per-token loss). ``batch["input_ids"]`` is (B, L).
    With ``prefix`` = k the first k tokens stay clean and unscored (the bound on -log p(x_{>k} | x_{≤k})),
    normalised by B·(L - k): with k = 1 it scores the same L - 1 tokens per window as an ARM does.

    The noise (t and the masks) comes from ``generator`` (default: the global CPU RNG), or, with
    ``noise`` (a ``lib.core.train.SampleNoise`` over the B samples, which ``train`` supplies), from each
    sample's own stream: then it is a function of (seed, step, global sample index), the same on any
    number of processes or micro-batches, and different on every rank."""
    x = batch["input_ids"]
    b, length = x.shape
    if not 0 <= prefix < length:
        raise ValueError(f"prefix must be in 0..{length - 1} (the sequence length minus one), got {prefix}")
    if noise is not None:
        if len(noise) != b:
            raise ValueError(f"noise covers {len(noise)} samples, the batch has {b}")
        p = (1 - eps) * noise.rand() + eps
        masked = (noise.rand(length) < p[:, None]).to(x.device)
    else:
        p = (1 - eps) * torch.rand(b, generator=generator) + eps
        masked = mask_tokens(x, p, mask_id, generator=generator)[1]
    if prefix:
        masked[:, :prefix] = False
    xt = torch.where(masked, torch.full_like(x, mask_id), x)
    logits = model(input_ids=xt).logits
    ce = F.cross_entropy(logits[masked], x[masked], reduction="none")
    return (ce / p.to(x.device)[:, None].expand(b, length)[masked]).sum() / (b * (length - prefix))


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
def conditional_logprob(model: torch.nn.Module, prompt: torch.Tensor, option: torch.Tensor, mask_id: int, *,
                        suffix: torch.Tensor | None = None, cfg: float = 0.0) -> torch.Tensor:
    """log p(option | prompt, suffix) (B,) by the chain rule, unmasking the option's tokens left to
    right: ``[prompt, MASK × K, suffix]``, then token j is scored with positions < j revealed. With
    ``cfg`` = w > 0 each factor uses the guided distribution of eq. (7) (unconditional input: the
    prompt masked), renormalised over the vocabulary without the mask token. Shapes: prompt (B, P),
    option (B, K), suffix (B, S), moved to the model's device; the result is on the model's device."""
    device = _device(model)
    prompt, option = prompt.to(device), option.to(device)
    suffix = suffix.to(device) if suffix is not None else None
    b, plen = prompt.shape
    k = option.shape[1]
    parts = [prompt, torch.full((b, k), mask_id, dtype=prompt.dtype, device=prompt.device)]
    x = torch.cat(parts + ([suffix] if suffix is not None else []), 1)
    total = torch.zeros(b, dtype=torch.float64, device=prompt.device)
    for j in range(k):
        logits = guided_logits(model, x, plen, mask_id, cfg).double()
        logits[..., mask_id] = -torch.inf
        logp = logits[:, plen + j].log_softmax(-1)
        total += logp.gather(1, option[:, j:j + 1])[:, 0]
        x[:, plen + j] = option[:, j]
    return total


def _answer_nll(model: torch.nn.Module, prompt: torch.Tensor, answer: torch.Tensor, masked: torch.Tensor,
                mask_id: int, chunk: int = 512) -> torch.Tensor:
    """Σ over masked answer positions of -log p_θ(answer^i | prompt, answer with ``masked`` hidden),
    for R noised copies of each of B rows: prompt (B, P), answer (B, K), masked (B, R, K) bool -> (B, R).
    Forward passes in chunks of ``chunk`` sequences."""
    b, r, k = masked.shape
    ans = answer[:, None].expand(b, r, k).reshape(b * r, k)
    xt = torch.cat([prompt[:, None].expand(b, r, prompt.shape[1]).reshape(b * r, -1),
                    torch.where(masked.reshape(b * r, k), mask_id, ans)], -1)
    nll = torch.cat([-model(input_ids=x).logits[:, -k:].double().log_softmax(-1).gather(-1, a[..., None])[..., 0]
                     for x, a in zip(xt.split(chunk), ans.split(chunk))]).view(b, r, k)
    return torch.where(masked, nll, 0.0).sum(-1)


@torch.no_grad()
def conditional_elbo_exact(model: torch.nn.Module, prompt: torch.Tensor, answer: torch.Tensor,
                           mask_id: int) -> torch.Tensor:
    """The ELBO bound on -log p(answer | prompt) in nats, exactly: eq. (4) with only the answer noised,
    whose integral over t weights each of the 2^K - 1 non-empty mask sets of the K answer positions by
    (k-1)!(K-k)!/K!. Shapes: prompt (B, P), answer (B, K) with K ≤ 12 -> (B,) float64."""
    b, k = answer.shape
    if not 1 <= k <= 12:
        raise ValueError(f"answer length K must be in 1..12 (2^K mask sets are enumerated), got {k}")
    device = _device(model)
    subsets = [s for n in range(1, k + 1) for s in itertools.combinations(range(k), n)]
    masked = torch.zeros(len(subsets), k, dtype=torch.bool)
    for j, s in enumerate(subsets):
        masked[j, list(s)] = True
    n = masked.sum(-1)
    weight = torch.tensor([math.factorial(c - 1) * math.factorial(k - c) / math.factorial(k) for c in n.tolist()],
                          dtype=torch.float64, device=device)
    nll = _answer_nll(model, prompt.to(device), answer.to(device), masked.to(device).expand(b, -1, -1), mask_id)
    return (nll * weight).sum(-1)


MC_SCHEMES = ("t", "stratified_t", "stratified_count")


def stratified_counts(u: torch.Tensor, n: int, k: int) -> torch.Tensor:
    """Numbers of masked tokens for ``n`` draws from one start ``u`` ~ U(0, 1) per row (B, 1):
    k_j = floor(((u + j/n) mod 1)·K) + 1, so each k_j is uniform on 1..K and the n of a row are spread
    evenly. (The harness rounds ``linspace(k0, ...)`` instead; its ties, rounded half to even, make some
    counts more frequent than others and bias the estimate.) Returns (B, n) int64."""
    return (((u + torch.arange(n, dtype=u.dtype) / n) % 1.0) * k).floor().long().clamp_max(k - 1) + 1


@torch.no_grad()
def conditional_elbo_mc(model: torch.nn.Module, prompt: torch.Tensor, answer: torch.Tensor, mask_id: int, *,
                        n: int, scheme: str = "t", generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` one-sample Monte-Carlo estimates of ``conditional_elbo_exact`` per row (nats), shape (B, n).
    Every scheme is unbiased; they differ in how the mask set is drawn:

    - ``"t"`` (the training loss): t_j ~ U(0, 1), each answer token masked with probability t_j, the
      masked tokens' NLL weighted by 1/t_j (a weight without bound: the variance diverges like ∫ dt/t);
    - ``"stratified_t"``: the same with t_j = (u + j/n) mod 1, one u ~ U(0, 1) per row (how our notes
      describe SMDM's ``evaluate_diff.py``);
    - ``"stratified_count"`` (as the lm-eval harness of LLaDA, the authors' follow-up, ``_forward_process``): exactly
      k_j of the K answer tokens masked, the k_j evenly spread over 1..K from a random start
      (``stratified_counts``), the set uniform among those of that size, weighted by K/k_j (at most K).

    The stratified draws of one row are dependent: measure the variance of their mean over repeated
    calls. Noise is drawn on the CPU from ``generator``."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if scheme not in MC_SCHEMES:
        raise ValueError(f"scheme must be one of {MC_SCHEMES}, got {scheme!r}")
    b, k = answer.shape
    if scheme == "stratified_count":
        count = stratified_counts(torch.rand(b, 1, generator=generator, dtype=torch.float64), n, k)
        rank = torch.rand(b, n, k, generator=generator).argsort(-1).argsort(-1)           # a random permutation
        masked = rank < count[..., None]
        weight = k / count.double()
    else:
        u = torch.rand(b, 1 if scheme == "stratified_t" else n, generator=generator, dtype=torch.float64)
        t = (u + torch.arange(n) / n) % 1.0 if scheme == "stratified_t" else u
        masked = torch.rand(b, n, k, generator=generator, dtype=torch.float64) < t[..., None]
        weight = 1 / t.clamp_min(1e-12)
    device = _device(model)
    nll = _answer_nll(model, prompt.to(device), answer.to(device), masked.to(device), mask_id)
    return nll * weight.to(device)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _on(device: torch.device, generator: torch.Generator | None) -> torch.Generator | None:
    """A generator that draws on ``device``: ``generator`` itself when it lives there (so CPU runs draw
    exactly as before), else a generator on ``device`` seeded once from it (deterministic, no copies)."""
    if generator is None or generator.device.type == device.type:
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device=device).manual_seed(seed)


@torch.no_grad()
def generate(model: torch.nn.Module, prompt: torch.Tensor, gen_len: int, mask_id: int, *, steps: int,
             remasking: str = "low_confidence", temperature: float = 0.0, cfg: float = 0.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Reverse process from ``[prompt, MASK × gen_len]`` in ``steps`` steps; returns the generated
    tokens (B, gen_len). Each step predicts x0 at every masked position (Gumbel-max in float64 at
    ``temperature``; argmax at 0; never the mask) and reveals the scheduled number of them: the most confident
    (``"low_confidence"`` remasking) or random ones (``"random"``). Revealed tokens stay.

    Runs on the model's device: the prompt is moved there, the result (like ``transformers``'
    ``generate``) stays there, and the sampling noise is drawn there (from ``generator`` when it lives on
    that device, else from a device generator seeded once from it; without one, from the device's
    global RNG). On the CPU the draws are those of earlier versions."""
    if remasking not in ("low_confidence", "random"):
        raise ValueError(f"remasking must be 'low_confidence' or 'random', got {remasking!r}")
    device = _device(model)
    prompt = prompt.to(device)
    generator = _on(device, generator)
    b, plen = prompt.shape
    x = torch.cat([prompt, torch.full((b, gen_len), mask_id, dtype=prompt.dtype, device=prompt.device)], 1)
    for k in transfer_schedule(gen_len, steps):
        masked = x == mask_id
        logits = guided_logits(model, x, plen, mask_id, cfg).double()
        logits[..., mask_id] = -torch.inf   # never predict the mask itself
        if temperature > 0:
            u = torch.rand(logits.shape, dtype=torch.float64, generator=generator, device=device).clamp_min(1e-300)
            x0 = (logits / temperature - torch.log(-torch.log(u))).argmax(-1)
        else:
            x0 = logits.argmax(-1)
        if remasking == "low_confidence":
            conf = logits.softmax(-1).gather(-1, x0[..., None])[..., 0]
        else:
            conf = torch.rand(x0.shape, dtype=torch.float64, generator=generator, device=device)
        conf = conf.masked_fill(~masked, -1.0)
        reveal = conf.topk(k, dim=-1).indices
        x.scatter_(1, reveal, x0.gather(1, reveal))
    return x[:, plen:]


@torch.no_grad()
def elbo_loss(model: torch.nn.Module, tokens: np.ndarray, mask_id: int, *, seq_len: int,
              n_mc: int = 8, seed: int = 0, batch_size: int = 32, max_tokens: int = 65_536,
              prefix: int = 0) -> float:
    """Validation ELBO (nats/token) of an MDM on consecutive windows of ``seq_len`` tokens covering the
    first ``max_tokens`` of ``tokens``: the mean of ``n_mc`` Monte-Carlo passes of ``mdm_loss`` with
    noise from ``seed`` (deterministic). An upper bound on the NLL per token, to compare with an
    ARM's cross-entropy (which is exact). ``prefix`` = 1 scores tokens 2..L of each window given the
    first, the tokens ``lib.core.lm_eval.eval_loss`` scores for an ARM on the same windows."""
    n = min(len(tokens), max_tokens) // seq_len
    if n == 0:
        raise ValueError(f"need at least seq_len={seq_len} tokens, got {len(tokens)}")
    device = next(model.parameters()).device
    windows = torch.as_tensor(np.asarray(tokens[:n * seq_len], dtype=np.int64)).view(n, seq_len)
    g = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    total = sum(mdm_loss(model, {"input_ids": chunk.to(device)}, mask_id, generator=g, prefix=prefix).item()
                * len(chunk)
                for _ in range(n_mc) for chunk in windows.split(batch_size))
    model.train(was_training)
    return total / (n * n_mc)


def loss_fn(kind: str, mask_id: int, *, sample_noise: bool = False) -> Callable[..., torch.Tensor]:
    """The training loss of an ARM (next-token cross-entropy) or an MDM (the ELBO, eq. 4). The MDM's
    noise comes from the global RNG (the default, as the book's CPU runs were made), or with
    ``sample_noise`` from the ``SampleNoise`` that ``lib.core.train.train`` supplies: a function of (seed,
    step, global sample index), so ranks under DDP draw different noise and any number of processes
    or micro-batches gives the same run."""
    from lib.core import train
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "arm":
        return train.lm_loss
    if sample_noise:
        return lambda m, b, noise: mdm_loss(m, b, mask_id, noise=noise)
    return lambda m, b: mdm_loss(m, b, mask_id)


class Corpus(Protocol):
    """Whole training sequences for ``train_model``: ``train`` (N, L) token ids; ``vocab_size`` counts
    the ``[MASK]`` token, whose id is ``mask_id``."""
    @property
    def train(self) -> torch.Tensor: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def mask_id(self) -> int: ...


@dataclass(frozen=True)
class WordCorpus:
    """A ``Corpus`` over a word vocabulary that contains ``MASK``: ``train`` (N, L) word ids."""
    vocab: list[str]
    train: torch.Tensor

    @property
    def mask_id(self) -> int:
        return self.vocab.index(MASK)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def decode(self, ids: torch.Tensor) -> str:
        return " ".join(self.vocab[i] for i in ids.tolist())


def train_model(kind: str, corpus: Corpus, *, seed: int, steps: int, d_model: int, n_layers: int,
                n_heads: int, batch_size: int, lr: float,
                init: torch.nn.Module | None = None) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train an ARM (``kind="arm"``: causal, next-token loss) or an MDM (``"mdm"``: bidirectional, the
    ELBO loss) of the same size on the same sequences with the same loop (AdamW, warm-up, cosine);
    returns (model in eval mode, history). With ``init`` (e.g. a model pretrained by ``train_on_tokens``
    on the same vocabulary) a copy of it is trained instead of a fresh model (fine-tuning; ``init``
    itself is left unchanged and the size arguments must match it)."""
    from lib.core import models, train
    loss = loss_fn(kind, corpus.mask_id)
    torch.manual_seed(seed)
    if init is None:
        model = models.tiny_llama(corpus.vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                                  max_len=2 * corpus.train.shape[1], is_causal=kind == "arm",
                                  tie_embeddings=False)
    else:
        c = init.config
        got = dict(vocab_size=c.vocab_size, d_model=c.hidden_size, n_layers=c.num_hidden_layers,
                   n_heads=c.num_attention_heads, causal=getattr(c, "is_causal", True))
        want = dict(vocab_size=corpus.vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                    causal=kind == "arm")
        if got != want:
            raise ValueError(f"init must be a {kind} model of the given size and the corpus's vocabulary "
                             f"{want}, got {got}")
        model = copy.deepcopy(init)
    history = train.train(model, train.row_batches(corpus.train, batch_size, seed),
                          train.TrainConfig(steps=steps, lr=lr, warmup=min(100, steps // 10)), loss_fn=loss)
    return model.eval(), history


def flops_per_token(*, d_model: int, n_layers: int, n_heads: int, vocab_size: int, seq_len: int):
    """Forward FLOPs per token (a ``lib.core.flops.FlopCount``) of ``lib.core.models.tiny_llama`` as an ARM
    or an MDM of this shape: attention projections, attention scores over all ``seq_len`` keys (what
    SDPA computes and Kaplan et al. and Chinchilla count for causal models too, so both families cost
    the same per token), the SwiGLU MLP and the untied LM head over all ``vocab_size`` outputs (the
    ``[MASK]`` row included); the input embedding is a lookup (0 FLOPs)."""
    from lib.core import flops
    if d_model % n_heads:
        raise ValueError(f"n_heads ({n_heads}) must divide d_model ({d_model})")
    return flops.llama_flops(d_model=d_model, n_layers=n_layers, vocab_size=vocab_size, seq_len=seq_len,
                             n_heads=n_heads, causal=False)


def train_on_tokens(kind: str, train_tokens: np.ndarray, vocab_size: int, *, d_model: int, n_layers: int,
                    n_heads: int, steps: int, seq_len: int, batch_size: int, lr: float, seed: int,
                    min_lr_ratio: float = 0.1) -> torch.nn.Module:
    """An ARM or an MDM (the same ``tiny_llama``, untied head; the MDM bidirectional with ``[MASK]`` = id
    ``vocab_size - 1``) trained for ``steps`` on random windows of ``seq_len`` tokens of ``train_tokens``
    (1-D ids): AdamW, 10 % warm-up, cosine decay to ``min_lr_ratio``·lr at the last step. Returns the model
    in eval mode."""
    from lib.core import models, train
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    torch.manual_seed(seed)
    model = models.tiny_llama(vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                              max_len=seq_len, is_causal=kind == "arm", tie_embeddings=False)
    train.train(model, train.lm_batches(train_tokens, batch_size, seq_len, seed),
                train.TrainConfig(steps=steps, lr=lr, warmup=max(1, steps // 10), min_lr_ratio=min_lr_ratio),
                loss_fn=loss_fn(kind, vocab_size - 1), progress=False)
    return model.eval()


def heldout_loss(kind: str, model: torch.nn.Module, tokens: np.ndarray, *, seq_len: int, n_mc: int = 8,
                 seed: int = 0, max_tokens: int = 65_536) -> float:
    """Held-out loss (nats/token) of an ARM or an MDM (``[MASK]`` = its last id) on windows of ``seq_len``
    of the first ``max_tokens`` of ``tokens``, scoring tokens 2..L of each window given the first: the ARM's
    cross-entropy, the MDM's ELBO (``n_mc`` passes with noise from ``seed``, ``prefix=1``)."""
    from lib.core import lm_eval
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "arm":
        return lm_eval.eval_loss(model, tokens, seq_len=seq_len, max_tokens=max_tokens)
    return elbo_loss(model, tokens, model.config.vocab_size - 1, seq_len=seq_len, n_mc=n_mc, seed=seed,
                     max_tokens=max_tokens, prefix=1)


def budget_run(kind: str, train_tokens: np.ndarray, valid_tokens: np.ndarray, vocab_size: int, *,
               d_model: int, n_layers: int, n_heads: int, budget: float, seq_len: int, batch_size: int,
               lr: float, seed: int, n_mc: int = 8, min_lr_ratio: float = 0.1,
               shifted: dict[str, np.ndarray] | None = None) -> dict:
    """Train one ARM or MDM (the same ``tiny_llama``; the MDM bidirectional, ``[MASK]`` = id
    ``vocab_size - 1``) for ``budget`` training FLOPs (3 × ``flops_per_token`` × tokens, rounded to
    whole steps) with a 10 % warm-up and a cosine decay to ``min_lr_ratio``·lr that ends at the budget
    (the paper's schedule, 4e-4 → 4e-5, on every IsoFLOP run). Then evaluate on ``valid_tokens`` cut
    into windows of ``seq_len``, scoring tokens 2..L of each window given the first for both families:
    the ARM's cross-entropy and the MDM's ELBO (``n_mc`` passes, ``prefix=1``), in nats/token. Returns a
    row: kind, d_model, n_params (non-embedding), head_share (the LM head's share of the FLOPs),
    budget, flops (actual), tokens, steps, val_loss, and ``<name>_loss`` for each token array in
    ``shifted`` (held-out text of another distribution, scored the same way)."""
    from lib.core import models
    if not budget > 0:
        raise ValueError(f"budget must be > 0 FLOPs, got {budget!r}")
    count = flops_per_token(d_model=d_model, n_layers=n_layers, n_heads=n_heads, vocab_size=vocab_size,
                            seq_len=seq_len)
    tokens_per_step = batch_size * seq_len
    steps = max(1, round(budget / (count.training * tokens_per_step)))
    model = train_on_tokens(kind, train_tokens, vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                            steps=steps, seq_len=seq_len, batch_size=batch_size, lr=lr, seed=seed,
                            min_lr_ratio=min_lr_ratio)

    def evaluate(tokens: np.ndarray) -> float:
        return heldout_loss(kind, model, tokens, seq_len=seq_len, n_mc=n_mc, seed=seed)

    row = dict(kind=kind, d_model=d_model, n_params=models.n_params(model, non_embedding=True),
               head_share=count.head / count.forward, budget=budget, flops=count.training * steps * tokens_per_step,
               tokens=steps * tokens_per_step, steps=steps, val_loss=evaluate(valid_tokens))
    row.update({f"{name}_loss": evaluate(tokens) for name, tokens in (shifted or {}).items()})
    return row
