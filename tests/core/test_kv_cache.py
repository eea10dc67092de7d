"""lib.core.kv_cache: cached decoding equals a full forward, trimming keeps exactly first + recent entries
at their true positions, short prompts are never trimmed or duplicated, the policies and the scores."""
import pytest
import torch

from lib.core import kv_cache as K
from lib.core.models import tiny_llama

torch.set_num_threads(1)


def _model(n_layers=3, seed=0, kernel=K.KERNEL, **kw):
    torch.manual_seed(seed)
    return tiny_llama(50, d_model=32, n_layers=n_layers, n_heads=4, attn_implementation=kernel, **kw).eval()


def test_kernel_matches_transformers_eager_attention():
    eager = _model(kernel="eager")
    ours = _model()
    ours.load_state_dict(eager.state_dict())
    x = torch.randint(0, 50, (2, 17))
    assert torch.allclose(eager(input_ids=x).logits, ours(input_ids=x).logits, atol=1e-5)


def test_cached_decoding_with_nothing_dropped_equals_full_forward():
    m = _model()
    x = torch.randint(0, 50, (1, 30))
    g = K.generate_with_policy(m, x[:, :12], K.LayerPolicy.full(), n_init=2, n_recent=4,
                               teacher_forcing=x[0, 12:])
    full = m(input_ids=x).logits[0, 11:29]
    assert g.logits.shape == full.shape
    assert (g.logits - full).abs().max().item() <= 1e-5
    assert g.kv_kept == 1.0


def test_greedy_loop_matches_model_generate():
    m = _model()
    x = torch.randint(0, 50, (1, 10))
    g = K.generate_with_policy(m, x, K.LayerPolicy.full(), max_new_tokens=8)
    ref = m.generate(x, max_new_tokens=8, do_sample=False, pad_token_id=0)[0, 10:]
    assert torch.equal(g.tokens, ref)


def test_trimmed_layers_hold_first_and_recent_entries_at_their_true_positions():
    from transformers import DynamicCache
    m = _model()
    x = torch.randint(0, 50, (1, 20))
    cache = DynamicCache(config=m.config)
    m(input_ids=x, cache=cache, use_cache=True)
    keys_before = K.cache_kv(cache, 1)[0].clone()
    assert K.trim_layer(cache, 1, 3, 5)
    k, v = K.cache_kv(cache, 1)
    assert k.shape[-2] == v.shape[-2] == 8
    assert torch.equal(k, torch.cat([keys_before[..., :3, :], keys_before[..., -5:, :]], -2))
    assert K.layer_lengths(cache, 3) == [20, 8, 20]


def test_decoding_after_trimming_layer0_uses_true_positions():
    """With layer 0 trimmed, the next logits equal a reference that keeps layer 0's full cache but masks
    the dropped keys (positions from the token count, not from layer 0's length)."""
    from transformers import DynamicCache
    m = _model()
    x = torch.randint(0, 50, (1, 21))
    g = K.generate_with_policy(m, x[:, :20], K.LayerPolicy.fixed([0]), n_init=2, n_recent=6,
                               teacher_forcing=x[0, 20:21].repeat(2))
    # reference: full cache, but the token at position 20 only sees keys {0,1} ∪ {14..20} in layer 0
    keep = torch.zeros(21, dtype=torch.bool)
    keep[:2] = True
    keep[14:] = True
    cache = DynamicCache(config=m.config)
    m(input_ids=x[:, :20], cache=cache, use_cache=True)
    k, v = K.cache_kv(cache, 0)
    K.set_cache_kv(cache, 0, k[..., keep[:20], :], v[..., keep[:20], :])
    ref = m(input_ids=x[:, 20:21], position_ids=torch.tensor([[20]]), cache=cache, use_cache=True).logits[0, -1]
    assert (g.logits[1] - ref).abs().max().item() <= 1e-5
    # and it differs from what a wrong position (layer 0's length, 8) would give
    cache2 = DynamicCache(config=m.config)
    m(input_ids=x[:, :20], cache=cache2, use_cache=True)
    K.trim_layer(cache2, 0, 2, 6)
    wrong = m(input_ids=x[:, 20:21], position_ids=torch.tensor([[8]]), cache=cache2, use_cache=True).logits[0, -1]
    assert (g.logits[1] - wrong).abs().max().item() > 1e-4


def test_short_prompts_are_never_trimmed_or_duplicated():
    m = _model()
    x = torch.randint(0, 50, (1, 9))
    g = K.generate_with_policy(m, x, K.LayerPolicy.streaming(), n_init=4, n_recent=5, max_new_tokens=1)
    assert g.lengths == [9, 9, 9]
    ref = K.generate_with_policy(m, x, K.LayerPolicy.full(), n_init=4, n_recent=5, max_new_tokens=1)
    assert torch.equal(g.logits, ref.logits)


def test_keep_window_keeps_exactly_n_init_plus_n_recent_while_decoding():
    m = _model()
    x = torch.randint(0, 50, (1, 16))
    g = K.generate_with_policy(m, x, K.LayerPolicy.fixed([2]), n_init=2, n_recent=3, max_new_tokens=6)
    assert g.lengths == [21, 21, 5]
    g2 = K.generate_with_policy(m, x, K.LayerPolicy.fixed([2]), n_init=2, n_recent=3, max_new_tokens=6,
                                keep_window=False)
    assert g2.lengths == [21, 21, 5 + 5]
    # entries read per decoded token: full layers grow by one, the trimmed layer reads 5 + the new token
    assert g.reads[0] == 17 + 17 + 6


def test_lazy_scores_union_does_not_double_count():
    A = torch.full((1, 1, 1, 6), 1 / 6)          # uniform row of the last query over 6 keys
    s = K.lazy_scores([A], n_init=4, n_recent=4)  # union covers all 6 keys
    assert s.item() == pytest.approx(1.0)
    s = K.lazy_scores([A], n_init=1, n_recent=2)  # keys {0} ∪ {4, 5}
    assert s.item() == pytest.approx(0.5)


def test_lazy_scores_from_recorded_rows_match_attention_probabilities():
    eager = _model(kernel="eager")
    ours = _model()
    ours.load_state_dict(eager.state_dict())
    x = torch.randint(0, 50, (1, 12))
    attn = eager(input_ids=x, output_attentions=True).attentions
    with K.record_rows(ours, 3) as rec:
        ours(input_ids=x)
    for l in range(3):
        assert torch.allclose(rec[l]["rows"], attn[l][:, :, -3:].float(), atol=1e-5)
    s = K.lazy_scores([r["rows"] for r in rec], n_init=1, n_recent=2)
    by_hand = []
    for l in range(3):
        rows = attn[l][0, :, -3:]                 # (H, 3, 12) queries at 9, 10, 11
        m = [rows[:, i, [0, 8 + i, 9 + i]].sum(-1).mean() for i in range(3)]
        by_hand.append(torch.stack(m).mean())
    assert torch.allclose(s[0], torch.stack(by_hand), atol=1e-5)


def test_policies_choose_as_documented():
    s = torch.tensor([0.9, 0.2, 0.7, 0.1])
    assert K.LayerPolicy.full().choose(s, 4) == []
    assert K.LayerPolicy.streaming().choose(None, 4) == [0, 1, 2, 3]
    assert K.LayerPolicy.simlayerkv(0.5).choose(s, 4) == [0, 2]
    assert len(K.LayerPolicy.random_same_count(0.5, seed=1).choose(s, 4)) == 2
    assert K.LayerPolicy.oracle([0.3, 0.0, 0.5, 0.1], 0.5).choose(s, 4) == [1, 3]
    assert K.LayerPolicy.fixed([3, 1]).choose(None, 4) == [1, 3]
    with pytest.raises(ValueError, match="policy kind"):
        K.LayerPolicy("nope")
    with pytest.raises(ValueError, match="out of range"):
        K.LayerPolicy.fixed([7]).choose(None, 4)


def test_decoding_variant_decides_on_first_generated_token():
    m = _model()
    x = torch.randint(0, 50, (1, 20))
    g = K.generate_with_policy(m, x, K.LayerPolicy.simlayerkv(-1.0), n_init=2, n_recent=4, variant="decoding",
                               max_new_tokens=4)
    assert g.lazy == [0, 1, 2] and g.decided_at == 2
    ref = K.generate_with_policy(m, x, K.LayerPolicy.full(), max_new_tokens=4)
    assert torch.allclose(g.logits[:2], ref.logits[:2], atol=1e-6)   # full cache until the decision
    assert g.scores.shape == (3,)


def test_analytic_kept_fraction():
    assert K.analytic_kept_fraction(0.5, 100, 4, 16) == pytest.approx(0.5 + 0.5 * 0.2)
    assert K.analytic_kept_fraction(1.0, 10, 4, 16) == 1.0


def test_bad_arguments_are_named():
    m = _model()
    x = torch.randint(0, 50, (1, 5))
    with pytest.raises(ValueError, match="variant"):
        K.generate_with_policy(m, x, K.LayerPolicy.full(), variant="x")
    with pytest.raises(ValueError, match="n_recent"):
        K.generate_with_policy(m, x, K.LayerPolicy.full(), n_recent=0)
    with pytest.raises(ValueError, match="one sequence"):
        K.generate_with_policy(m, torch.zeros(2, 5, dtype=torch.long), K.LayerPolicy.full())


def test_kvpress_comparison_absent_reason():
    """kvpress (NVIDIA's SimLayerKVPress) requires transformers>=4.56,<5.3; the book pins 5.24, so the
    cross-check cannot run beside our transformers. This test documents that and fails if it changes."""
    import transformers
    try:
        import kvpress  # noqa: F401
    except ImportError:
        pytest.skip(f"kvpress is not installable beside transformers {transformers.__version__} "
                    "(kvpress 0.5.5 pins transformers<5.3)")
    pytest.fail("kvpress is importable: add the SimLayerKVPress comparison")
