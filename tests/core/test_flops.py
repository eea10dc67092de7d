"""lib.core.flops: the term-by-term FLOP count against torch's FlopCounterMode on a real Llama."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from lib.core import flops, models


@pytest.mark.parametrize("d_model, n_layers, n_heads, vocab, seq", [(32, 2, 4, 97, 16), (48, 1, 2, 300, 33)])
def test_forward_flops_match_torch_flop_counter(d_model, n_layers, n_heads, vocab, seq):
    """torch counts every matmul of the forward pass (projections, SDPA, MLP, head); a non-causal count
    (T keys per query) is what SDPA computes, masked or not."""
    torch.manual_seed(0)
    model = models.tiny_llama(vocab, d_model=d_model, n_layers=n_layers, n_heads=n_heads, max_len=64,
                              attn_implementation="eager").eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(input_ids=torch.randint(vocab, (2, seq)))
    ours = flops.llama_flops(d_model=d_model, n_layers=n_layers, vocab_size=vocab, seq_len=seq,
                             n_heads=n_heads, causal=False)
    assert counter.get_total_flops() == pytest.approx(ours.forward * 2 * seq, rel=1e-9)


def test_large_model_limit_is_six_n_d():
    """At a GPT-3 13B-like shape the count is within 6 % of 6·N·D (N without embeddings, GLU-free MLP 4d):
    the attention scores (3 %) and the head (2 %) are what 6·N·D leaves out."""
    d, layers, vocab, seq = 5120, 40, 50257, 2048
    c = flops.llama_flops(d_model=d, n_layers=layers, vocab_size=vocab, seq_len=seq, d_ff=4 * d, glu=False,
                          n_heads=40)
    n_nonemb = layers * 12 * d * d
    assert 1.0 < c.training / (6 * n_nonemb) < 1.06


def test_head_is_a_large_share_of_tiny_models_and_shares_sum_to_one():
    c = flops.llama_flops(d_model=16, n_layers=2, vocab_size=512, seq_len=64, n_heads=2)
    share = c.share()
    assert sum(share.values()) == pytest.approx(1.0) and share["head"] > 0.4


def test_grouped_query_attention_and_causal_span():
    full = flops.llama_flops(d_model=64, n_layers=1, vocab_size=10, seq_len=9, n_heads=8)
    gqa = flops.llama_flops(d_model=64, n_layers=1, vocab_size=10, seq_len=9, n_heads=8, n_kv_heads=2)
    assert gqa.attention_proj == 2 * (2 * 64 * 64 + 2 * 64 * 16) < full.attention_proj
    assert full.attention_scores == 2 * 2 * 5 * 64     # (9 + 1) / 2 keys per query on average
    assert flops.training_flops(full, 10) == 30 * full.forward


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="d_model must be a positive int"):
        flops.llama_flops(d_model=0, n_layers=1, vocab_size=2, seq_len=2)
    with pytest.raises(ValueError, match="n_heads"):
        flops.llama_flops(d_model=10, n_layers=1, vocab_size=2, seq_len=2, n_heads=3)
    with pytest.raises(ValueError, match="tokens"):
        flops.training_flops(flops.llama_flops(d_model=4, n_layers=1, vocab_size=2, seq_len=2), -1)
