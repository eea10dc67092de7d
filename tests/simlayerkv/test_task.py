"""The typed-values task, the evaluation path and the LongBench helpers of chapter 04_simlayerkv."""
import hashlib

import numpy as np
import pytest
import torch

from lib.core import kv_cache as K
from lib.simlayerkv import experiments as E
from lib.simlayerkv.longbench import qa_f1, templates, truncate_middle
from lib.simlayerkv.task import TypedValues, build_model

torch.set_num_threads(1)


def test_each_question_is_answered_by_the_unique_value_of_its_type_in_the_context():
    task = TypedValues()
    x, ans = task.sample(16, np.random.default_rng(0))
    assert x.shape == (16, task.seq_len) and (x[:, 0] == task.bos_id).all()
    for b in range(16):
        ctx = x[b, :task.prompt_len - 1]
        for a in ans[b].tolist():
            t = int(x[b, a - 1]) - task.ask0
            assert 0 <= t < task.n_types
            lo = task.value0 + t * task.values_per_type
            in_ctx = [int(v) for v in ctx if lo <= v < lo + task.values_per_type]
            assert in_ctx == [int(x[b, a])]


def test_batches_are_a_function_of_seed_and_step():
    b = TypedValues().batches(4, seed=3, answer_weight=3.0)
    assert torch.equal(b(7)["input_ids"], b(7)["input_ids"])
    assert not torch.equal(b(7)["input_ids"], b(8)["input_ids"])
    assert (b(7)["weights"] == 3.0).sum() == 4 * 3


def test_data_stream_is_pinned():
    """A training batch and the held-out inputs are the tokens the recorded runs used (digests taken
    before the sampler was sped up): a faster sampler must make the same draws in the same order."""
    def digest(t: torch.Tensor) -> str:
        return hashlib.sha256(t.numpy().tobytes()).hexdigest()[:16]
    task = TypedValues()
    assert digest(task.batches(64, seed=3, answer_weight=3.0)(7)["input_ids"]) == "92fdd95ba9aba4b5"
    x, ans = task.eval_set(96)
    assert (digest(x), digest(ans)) == ("f6c3a30060f076af", "76698077d613ba7a")


def test_evaluation_counts_only_answers_after_the_decision():
    task = TypedValues()
    inp = E.eval_inputs(task, 4)
    assert (inp.answer_idx >= 2).all()          # decoding variant decides after the first two predictions
    m = build_model(task, seed=0).eval()
    r = E.run_policy(m, inp, K.LayerPolicy.full())
    assert r["kv_kept"] == 1.0 and r["n_lazy"] == 0
    s = E.run_policy(m, inp, K.LayerPolicy.streaming(), n_init=4, n_recent=8)
    full_len = task.seq_len - 1
    assert s["kv_kept"] == pytest.approx((4 + 8) / full_len)


def test_qa_f1_matches_longbench_examples():
    assert qa_f1("The Eiffel Tower", "eiffel tower") == 1.0
    assert qa_f1("Paris France", "Paris") == pytest.approx(2 / 3)
    assert qa_f1("", "x") == 0.0
    assert truncate_middle(list(range(10)), 4) == [0, 1, 8, 9]


def test_longbench_templates_load_from_the_registry():
    prompts, maxlen = templates()
    assert "{context}" in prompts["qasper"] and maxlen["hotpotqa"] == 32


def test_runner_matches_direct_generation():
    """The memoised Runner gives the same per-input outcome as running each policy through
    generate_with_policy itself (both variants)."""
    task = TypedValues()
    inp = E.eval_inputs(task, 6)
    torch.manual_seed(1)
    m = build_model(task, seed=1).eval()
    for variant in ("prefilling", "decoding"):
        sc = E.Runner(m, inp).scores(variant, 8)
        delta = float(sc.median())
        pol = K.LayerPolicy.simlayerkv(delta)
        res = E.Runner(m, inp).run(pol, variant=variant)
        for b in range(len(inp)):
            g = K.generate_with_policy(m, inp.prompts[b:b + 1], pol, n_init=4, n_recent=8, w_last=8, variant=variant,
                                       teacher_forcing=inp.conts[b])
            assert tuple(g.lazy) == res["lazy"][b]
            idx = inp.answer_idx[b]
            acc = (g.logits[idx].argmax(-1) == inp.conts[b, idx]).float().mean().item()
            assert acc == res["correct"][b]
