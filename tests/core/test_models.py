import pytest
import torch

from lib.core import models


def test_tiny_llama_is_a_causal_lm_that_generates():
    torch.manual_seed(0)
    m = models.tiny_llama(50, d_model=32, n_layers=2, n_heads=4, max_len=64)
    x = torch.randint(0, 50, (2, 10))
    out = m(input_ids=x, labels=x)
    assert out.logits.shape == (2, 10, 50)
    assert abs(out.loss.item() - torch.log(torch.tensor(50.0)).item()) < 0.5   # near uniform at init
    assert m.generate(input_ids=x[:, :3], max_new_tokens=4, do_sample=False).shape == (2, 7)


def test_causal_mask_future_tokens_do_not_change_the_past():
    torch.manual_seed(0)
    m = models.tiny_llama(30, d_model=32, n_layers=2, n_heads=2).eval()
    x = torch.randint(0, 30, (1, 8))
    y = x.clone()
    y[0, 5:] = (y[0, 5:] + 1) % 30
    with torch.no_grad():
        torch.testing.assert_close(m(input_ids=x).logits[0, :5], m(input_ids=y).logits[0, :5])


def test_eager_attention_returns_weights():
    m = models.tiny_llama(20, d_model=16, n_layers=2, n_heads=2, attn_implementation="eager")
    att = m(input_ids=torch.zeros(1, 6, dtype=torch.long), output_attentions=True).attentions
    assert len(att) == 2 and att[0].shape == (1, 2, 6, 6)
    torch.testing.assert_close(att[0].sum(-1), torch.ones(1, 2, 6))


def test_parameter_counts():
    m = models.tiny_llama(100, d_model=32, n_layers=1, n_heads=2, d_ff=64)
    per_layer = 4 * 32 * 32 + 3 * 32 * 64 + 2 * 32      # attention, SwiGLU, two RMSNorms
    assert models.n_params(m, non_embedding=True) == per_layer + 32    # + the final norm
    assert models.n_params(m) == per_layer + 32 + 100 * 32              # tied embeddings counted once


@pytest.mark.parametrize("kwargs, message", [(dict(vocab_size=0), "vocab_size"),
                                             (dict(vocab_size=10, d_model=30, n_heads=4), "divisible")])
def test_bad_sizes_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.tiny_llama(**kwargs)


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_is_causal_false_gives_bidirectional_attention(impl):
    torch.manual_seed(0)
    m = models.tiny_llama(30, d_model=32, n_layers=2, n_heads=2, is_causal=False,
                          attn_implementation=impl).eval()
    x = torch.randint(0, 30, (1, 8))
    y = x.clone()
    y[0, 5:] = (y[0, 5:] + 1) % 30
    with torch.no_grad():
        assert (m(input_ids=x).logits[0, :5] - m(input_ids=y).logits[0, :5]).abs().max() > 1e-3


def test_bidirectional_copy_keeps_the_weights_and_adds_a_token():
    torch.manual_seed(0)
    arm = models.tiny_llama(20, d_model=16, n_layers=2, n_heads=2, rope_theta=100.0)
    mdm = models.bidirectional_copy(arm, new_tokens=1)
    assert mdm.config.vocab_size == 21 and mdm.config.is_causal is False
    assert mdm.config.rope_parameters == arm.config.rope_parameters
    torch.testing.assert_close(mdm.model.embed_tokens.weight[:20], arm.model.embed_tokens.weight)
    assert mdm.lm_head.weight is mdm.model.embed_tokens.weight          # still tied
    for name, p in arm.named_parameters():
        if "embed_tokens" not in name:
            torch.testing.assert_close(dict(mdm.named_parameters())[name], p)
    x = torch.randint(0, 20, (1, 8))
    y = x.clone()
    y[0, 6] = (y[0, 6] + 1) % 20
    with torch.no_grad():                  # a later token now changes earlier positions
        assert not torch.allclose(mdm(input_ids=x).logits[0, :5], mdm(input_ids=y).logits[0, :5])
        torch.testing.assert_close(arm(input_ids=x).logits[0, :5], arm(input_ids=y).logits[0, :5])
