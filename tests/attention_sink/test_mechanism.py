"""lib.attention_sink.mechanism: trigger/idle positions and the no-op measurements."""
import numpy as np
import pytest
import torch

from lib.attention_sink import mechanism as M
from lib.attention_sink import sink as S


@pytest.mark.parametrize("k", [0, 1, 3])
def test_trigger_queries_mark_the_copies(k):
    task = S.BigramBackcopy(fixed_position=k)
    x = task.sample(300, 32, np.random.default_rng(0))
    trig, idle = M.trigger_queries(task, x), M.idle_queries(task, x)
    assert trig.any() and idle.any() and not (trig & idle).any()
    b, t = trig.nonzero(as_tuple=True)
    assert (x[b, t + 1] == x[b, t - 1]).all()                    # the next token copies the previous one
    assert (t - 1 > k - 1).all() and (t + 1 < 32).all()
    if k:
        assert not trig[:, k - 1].any() and not idle[:, :k].any()
    in_triggers = torch.isin(x, torch.as_tensor(task.triggers))
    assert not in_triggers[idle].any()


def _model(variant="softmax", kv_bias="none", seed=0):
    run = S.SinkRun(variant=variant, kv_bias=kv_bias, n_layers=2, n_heads=2, seed=seed)
    return S.build_model(run, S.BigramBackcopy().vocab_size)


@pytest.mark.parametrize("variant,kv_bias", [("softmax", "none"), ("sigmoid", "none"), ("softmax", "key")])
def test_no_op_shapes_and_ranges(variant, kv_bias):
    task = S.BigramBackcopy()
    r = M.no_op(_model(variant, kv_bias), task.eval_set(8, 32), task)
    assert 0 <= r.copy_acc <= 1 and r.out_idle > 0 and r.out_trigger > 0
    assert list(r.heads[["layer", "head"]].itertuples(index=False, name=None)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert (r.heads[["k_ratio", "v_ratio", "out_idle", "out_trigger"]] > 0).all().all()
    assert r.heads[["cos_sink", "cos_rest"]].abs().le(1).all().all()
    assert (r.heads.alpha_sink.between(0, 1)).all()


def test_head_writes_scale_with_the_values_and_vanish_without_w_o():
    task = S.BigramBackcopy()
    x = task.eval_set(8, 32)
    model = _model()
    before = M.no_op(model, x, task)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.v_proj.weight.mul_(2.0)
    after = M.no_op(model, x, task)
    # softmax attention does not depend on V: writes, ratios and the first layer's geometry scale or stay
    first = lambda r: r.heads[r.heads.layer == 0].reset_index(drop=True)
    np.testing.assert_allclose(first(after).out_idle, 2 * first(before).out_idle, rtol=1e-4)
    np.testing.assert_allclose(first(after).v_ratio, first(before).v_ratio, rtol=1e-4)
    np.testing.assert_allclose(first(after).cos_sink, first(before).cos_sink, rtol=1e-4)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
    zero = M.no_op(model, x, task)
    assert zero.out_idle == 0 and zero.out_trigger == 0 and (zero.heads.out_idle == 0).all()


def test_copy_accuracy_of_a_model_that_copies():
    """A model whose output at a trigger is the token before it scores 1 on the copies."""
    task = S.BigramBackcopy()
    x = task.eval_set(8, 32)
    model = _model()

    def copy_logits(module, args, output):
        ids = module._ids
        prev = torch.roll(ids, 1, dims=1)
        output.logits = torch.nn.functional.one_hot(prev, task.vocab_size).float()
        return output
    model._ids = x
    hook = model.register_forward_hook(copy_logits)
    try:
        r = M.no_op(model, x, task)
    finally:
        hook.remove()
    assert r.copy_acc == 1.0


def test_no_op_errors():
    task = S.BigramBackcopy()
    with pytest.raises(ValueError, match="trigger"):
        M.no_op(_model(), torch.full((2, 16), 5), S.BigramBackcopy(n_triggers=0))
    with pytest.raises(ValueError, match="input_ids"):
        M.trigger_queries(task, torch.zeros(16, dtype=torch.long))


def test_table2_weight_decays_have_paper_values():
    from lib.attention_sink.paper import PAPER, WEIGHT_DECAYS
    assert sorted(WEIGHT_DECAYS) == [0.0, 0.1, 0.5, 1.0, 2.0, 5.0]
    for suffix in WEIGHT_DECAYS.values():
        assert PAPER[f"wd_{suffix}_sink1"].unit == "%" and PAPER[f"wd_{suffix}_loss"].value > 3
    assert PAPER["wd_0p1_sink1"].value == PAPER["default_sink1"].value
