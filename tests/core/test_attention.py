"""lib.core.attention: the registered attention variants and the sink metrics."""
import pytest
import torch

from lib.core import attention as A
from lib.core import models


def _model(impl, *, n_layers=2, n_heads=2, seed=0):
    torch.manual_seed(seed)
    return models.tiny_llama(40, d_model=32, n_layers=n_layers, n_heads=n_heads, attn_implementation=impl)


def _ids(B=3, T=12, seed=1):
    return torch.randint(0, 40, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("reference", ["eager", "sdpa"])
def test_softmax_variant_matches_transformers_attention(reference):
    model, x = _model(reference), _ids()
    with torch.no_grad():
        ref = model(input_ids=x).logits
        model.config._attn_implementation = A.VARIANTS["softmax"]
        ours = model(input_ids=x).logits
    assert torch.allclose(ours, ref, atol=1e-6)


def test_softmax_variant_maps_match_eager_attention_weights():
    model, x = _model("eager"), _ids()
    ref = A.attention_maps(model, x)
    model.config._attn_implementation = A.VARIANTS["softmax"]
    ours = A.attention_maps(model, x)
    assert ours.shape == (3, 2, 2, 12, 12)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_softmax_variant_with_padding_mask_matches_eager():
    model, x = _model("eager"), _ids()
    mask = torch.ones_like(x)
    mask[0, :4] = 0                                    # left padding in the first sequence
    with torch.no_grad():
        ref = model(input_ids=x, attention_mask=mask).logits
        model.config._attn_implementation = A.VARIANTS["softmax"]
        ours = model(input_ids=x, attention_mask=mask).logits
    assert torch.allclose(ours[:, 4:], ref[:, 4:], atol=1e-6)


def test_softmax_variant_decodes_with_a_cache_like_a_full_forward():
    model = _model(A.VARIANTS["softmax"])
    x = _ids(B=1, T=10)
    with torch.no_grad():
        full = model(input_ids=x).logits[:, -1]
        out = model(input_ids=x[:, :-1], use_cache=True)
        step = model(input_ids=x[:, -1:], cache=out.past_key_values).logits[:, -1]
    assert torch.allclose(step, full, atol=1e-5)


def test_sigmoid_variants_match_the_direct_formula():
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 5, 5)
    allowed = A.causal_allowed(5, 5)
    w, proxy = A.attention_weights(scores, allowed, "sigmoid")
    direct = torch.sigmoid(scores) * torch.tril(torch.ones(5, 5))
    assert torch.allclose(w, direct)
    assert torch.allclose(proxy, direct / direct.sum(-1, keepdim=True), atol=1e-6)
    wn, proxy_n = A.attention_weights(scores, allowed, "sigmoid_norm")
    assert torch.allclose(wn, proxy, atol=1e-6) and torch.allclose(proxy_n, proxy)
    assert not torch.allclose(w.sum(-1), torch.ones(2, 3, 5))          # rows are not normalised


def test_sigmoid_variant_in_a_model_returns_proxy_maps():
    model, x = _model(A.VARIANTS["sigmoid"]), _ids()
    maps = A.attention_maps(model, x)
    assert torch.allclose(maps.sum(-1), torch.ones(maps.shape[:-1]), atol=1e-5)
    assert torch.all(maps.triu(1) == 0)


def test_causal_allowed_for_decoding_queries():
    assert A.causal_allowed(2, 4).tolist() == [[True, True, True, False], [True, True, True, True]]
    with pytest.raises(ValueError):
        A.causal_allowed(5, 4)


def test_zero_key_bias_equals_softmax_over_one_extra_slot():
    """k* = 0 gives the bias slot the score 0 and a zero value: out = Σ_j e^{s_j} v_j / (1 + Σ_j e^{s_j})."""
    model, x = _model(A.VARIANTS["softmax"], n_layers=1), _ids(B=2, T=6)
    A.add_kv_bias(model, key=True, value=False)
    attn = A.attention_modules(model)[0]
    with torch.no_grad():
        attn.k_bias.zero_()
    torch.manual_seed(3)
    q, k, v = (torch.randn(2, 2, 6, 16) for _ in range(3))
    out, probs = A.sink_attention(attn, q, k, v, None, scaling=0.25)
    s = (q @ k.transpose(-1, -2) * 0.25).masked_fill(~A.causal_allowed(6, 6), float("-inf")).exp()
    expected = (s @ v) / (1 + s.sum(-1, keepdim=True))
    assert torch.allclose(out.transpose(1, 2), expected, atol=1e-6)
    assert torch.allclose(probs.sum(-1) + 1 / (1 + s.sum(-1)), torch.ones(2, 2, 6), atol=1e-6)


def test_kv_bias_variants_add_parameters_and_record_the_bias_column():
    model, x = _model(A.VARIANTS["softmax"]), _ids()
    A.add_kv_bias(model, key=True, value=True)
    names = {n for n, _ in model.named_parameters()}
    assert {"model.layers.0.self_attn.k_bias", "model.layers.1.self_attn.v_bias"} <= names
    with A.record_attention(model) as rec:
        model(input_ids=x)
    assert rec[0]["bias"].shape == (3, 2, 12) and rec[1]["key"].shape == (3, 2, 12, 16)
    assert all(getattr(m, "attention_record") is None for m in A.attention_modules(model))


def test_value_bias_only_is_added_to_the_output():
    model = _model(A.VARIANTS["softmax"], n_layers=1)
    A.add_kv_bias(model, key=False, value=True)
    attn = A.attention_modules(model)[0]
    q, k, v = (torch.randn(1, 2, 4, 16) for _ in range(3))
    with_bias, _ = A.sink_attention(attn, q, k, v, None)
    v_bias = attn.v_bias.detach().clone()
    del attn.v_bias
    plain, _ = A.sink_attention(attn, q, k, v, None)
    assert torch.allclose(with_bias - plain, v_bias[None, None].expand_as(plain), atol=1e-6)


def test_kv_bias_errors():
    with pytest.raises(ValueError, match="key=True or value=True"):
        A.add_kv_bias(_model(A.VARIANTS["softmax"]), key=False, value=False)
    with pytest.raises(ValueError, match="attention variants"):
        A.add_kv_bias(_model("sdpa"))


def test_attention_maps_refuse_sdpa():
    with pytest.raises(ValueError, match="eager"):
        A.attention_maps(_model("sdpa"), _ids())


def test_unknown_variant_is_an_error():
    with pytest.raises(ValueError, match="unknown attention variant"):
        A.attention_weights(torch.zeros(2, 2), A.causal_allowed(2, 2), "relu")


def _sink_map(T=4):
    """Every query puts all its attention on the first token."""
    a = torch.zeros(T, T)
    a[:, 0] = 1.0
    return a


def test_importance_scores_of_known_maps():
    T = 4
    uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]
    alpha = A.importance_scores(uniform)
    # α_1 = (1 + 1/2 + 1/3 + 1/4)/4; the last key is seen only by itself with weight 1/T
    assert alpha[0].item() == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    assert alpha[-1].item() == pytest.approx(1 / 4)
    assert A.importance_scores(_sink_map()).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert A.first_token_attention(torch.eye(T)).item() == pytest.approx(1 / T)


def test_sink_rate_counts_maps_above_epsilon():
    T = 4
    uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]
    maps = torch.stack([_sink_map(), uniform, torch.eye(T), _sink_map()])    # α₁ = 1, 0.52, 0.25, 1
    assert A.sink_rate(maps) == pytest.approx(75.0)
    assert A.sink_rate(maps, eps=0.6) == pytest.approx(50.0)
    assert A.sink_rate(maps, k=2) == pytest.approx(50.0)              # α₂: 0, 0.36, 0.33, 0
    assert A.sink_rates(maps).tolist()[0] == pytest.approx(75.0)
    assert A.sink_rates(maps).shape == (T,)


def test_sink_rate_matches_the_official_formula():
    """sail-sg/Attention-Sink eval_sink_open_source.py: score_k = Σ_i A[..., i, k] / (T − k) (0-based),
    then the fraction over (samples, layers, heads) with score > ε, × 100."""
    torch.manual_seed(0)
    N, L, H, T = 5, 3, 4, 16
    logits = torch.randn(N, L, H, T, T) * 3
    attn = torch.softmax(logits.masked_fill(~A.causal_allowed(T, T), float("-inf")), -1)
    official = attn.sum(-2) / torch.tensor([T - k for k in range(T)], dtype=attn.dtype)
    expected = 100 * (official > 0.3).float().mean(dim=(0, 1, 2))
    assert torch.allclose(A.sink_rates(attn), expected)
    assert A.sink_rate(attn, k=3) == pytest.approx(expected[2].item())


def test_metric_errors():
    with pytest.raises(ValueError, match=r"\(\.\.\., T, T\)"):
        A.importance_scores(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="k must be"):
        A.sink_rate(torch.eye(4), k=0)
    with pytest.raises(ValueError, match="eps"):
        A.sink_rate(torch.eye(4), eps=1.5)


def test_bias_sink_rate_and_geometry():
    bias = torch.tensor([[0.9, 0.8, 0.7], [0.1, 0.2, 0.0]])
    assert A.bias_sink_rate(bias) == pytest.approx(50.0)
    x = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    assert A.token_norms(x).tolist() == [5.0, 1.0]
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    k = torch.tensor([[2.0, 0.0], [5.0, 5.0], [1.0, 1.0]])
    assert A.first_key_cosine(q, k).tolist() == pytest.approx([1.0, 0.0, -1.0])


@pytest.mark.parametrize("arch", ["gpt2", "gpt_neox"])
def test_attention_maps_of_eager_hub_architectures(arch):
    """The gpu profile measures GPT-2 and Pythia (GPT-NeoX) loaded with attn_implementation="eager"."""
    from transformers import AutoConfig, AutoModelForCausalLM
    kw = dict(n_layer=2, n_head=2, n_embd=32, vocab_size=50) if arch == "gpt2" else \
        dict(num_hidden_layers=2, num_attention_heads=2, hidden_size=32, intermediate_size=64, vocab_size=50)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(arch, **kw), attn_implementation="eager")
    maps = A.attention_maps(model.eval(), _ids(B=2, T=8))
    assert maps.shape == (2, 2, 2, 8, 8)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 2, 2, 8), atol=1e-5)
    assert 0 <= A.sink_rate(maps) <= 100


def test_sink_rates_equal_the_official_formula_on_random_maps():
    # sail-sg/Attention-Sink, eval_sink_open_source.py: score of key k = column sum / number of queries that
    # see it (T - k for 0-based k); Sink_k = share of (sequence, layer, head) with score > eps
    g = torch.Generator().manual_seed(0)
    T = 12
    logits = torch.randn(3, 2, 4, T, T, generator=g) * 3
    maps = logits.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), -torch.inf).softmax(-1)
    official = maps.sum(-2) / torch.tensor([T - k for k in range(T)], dtype=maps.dtype)
    for eps in (0.1, 0.3):
        expected = 100 * (official > eps).float().reshape(-1, T).mean(0)
        torch.testing.assert_close(A.sink_rates(maps, eps), expected)
        assert A.sink_rate(maps, eps) == pytest.approx(expected[0].item())


def test_sink_rate_after_first_skips_the_first_key_and_the_keys_few_queries_see():
    T = 8
    maps = torch.zeros(1, 1, 1, T, T)
    maps[..., :, 0] = 1.0                      # every query on key 1: Sink_1 = 100
    maps[..., T - 1, T - 1] = 1.0              # the last key, seen by one query, passes ε trivially
    maps[..., T - 1, 0] = 0.0
    assert A.sink_rate_after_first(maps) == 100.0
    assert A.sink_rate_after_first(maps, min_queries=2) == 0.0
