"""Training FLOPs of a Llama-style decoder, counted term by term as in Chinchilla's appendix F (Hoffmann
et al., arXiv 2203.15556, Table A4): the matrix multiplies of the attention projections, the attention
scores and their weighted sum, the (SwiGLU) MLP and the LM head; embeddings are a lookup (0 FLOPs, as
in Kaplan et al.'s count; Chinchilla counts them as a matmul, 2·V·d, available as ``embedding_matmul``).
Training costs 3× the forward pass (backward = 2× forward). Softmax, norms and RoPE are O(T·d), left out
as in both papers. ``C ≈ 6·N·D`` is the large-model limit of this count; at tiny widths the LM head and
attention are a large share and ``6·N_nonemb·D`` under-counts them unevenly (``share`` says by how much).
Used by 03_smdm (IsoFLOP study) and 10_vocab_scaling; ``tests/core/test_flops.py`` checks the forward
count against torch's own ``FlopCounterMode`` on a real ``transformers`` Llama."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlopCount:
    """Forward FLOPs per token of each term (a multiply-add = 2 FLOPs) for one sequence length."""
    attention_proj: float    # Q, K, V and output projections, all layers
    attention_scores: float  # Q·Kᵀ and softmax·V, all layers (mean over the positions of a causal sequence)
    mlp: float               # the feed-forward blocks, all layers
    head: float              # the LM head (logits over the vocabulary)
    embedding: float         # 0 for a lookup; 2·V·d with ``embedding_matmul``

    @property
    def forward(self) -> float:
        """Forward FLOPs per token."""
        return self.attention_proj + self.attention_scores + self.mlp + self.head + self.embedding

    @property
    def training(self) -> float:
        """Forward + backward FLOPs per token (3× forward)."""
        return 3 * self.forward

    def share(self) -> dict[str, float]:
        """Each term's share of the forward FLOPs."""
        f = self.forward
        return {k: getattr(self, k) / f for k in
                ("attention_proj", "attention_scores", "mlp", "head", "embedding")}


def llama_flops(*, d_model: int, n_layers: int, vocab_size: int, seq_len: int, d_ff: int | None = None,
                n_heads: int | None = None, n_kv_heads: int | None = None, glu: bool = True,
                causal: bool = True, embedding_matmul: bool = False) -> FlopCount:
    """Per-token forward FLOPs of a Llama block stack at sequence length ``seq_len``.

    ``d_ff`` defaults to ``lib.core.models.tiny_llama``'s (8/3·d rounded up to 16); ``glu`` counts three
    MLP matrices (SwiGLU) instead of two; ``n_kv_heads < n_heads`` (grouped-query attention) shrinks the
    K and V projections; ``causal`` averages the attention span over positions, (T + 1)/2 keys per query
    (``False``: every query sees T keys, e.g. a bidirectional masked-diffusion model)."""
    for name, value in {"d_model": d_model, "n_layers": n_layers, "vocab_size": vocab_size,
                        "seq_len": seq_len}.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    d_ff = d_ff or 16 * -(-(8 * d_model // 3) // 16)
    n_heads = n_heads or 1
    n_kv_heads = n_kv_heads or n_heads
    if n_heads % n_kv_heads or d_model % n_heads:
        raise ValueError(f"n_heads ({n_heads}) must divide d_model ({d_model}) and be a multiple of "
                         f"n_kv_heads ({n_kv_heads})")
    d_kv = d_model // n_heads * n_kv_heads
    span = (seq_len + 1) / 2 if causal else seq_len
    return FlopCount(
        attention_proj=n_layers * 2 * (2 * d_model * d_model + 2 * d_model * d_kv),
        attention_scores=n_layers * 2 * 2 * span * d_model,
        mlp=n_layers * 2 * (3 if glu else 2) * d_model * d_ff,
        head=2 * d_model * vocab_size,
        embedding=2 * d_model * vocab_size if embedding_matmul else 0.0,
    )


def training_flops(count: FlopCount, tokens: float) -> float:
    """Training FLOPs for ``tokens`` tokens (3 × forward per token)."""
    if tokens < 0:
        raise ValueError(f"tokens must be >= 0, got {tokens!r}")
    return count.training * tokens
