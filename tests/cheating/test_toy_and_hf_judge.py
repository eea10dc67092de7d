"""The toy world and judge (a few training steps), AlpacaEval's pipeline on it, and the hub-judge path with a
tiny model and tokenizer built from configs (no download)."""
import random
import string

import numpy as np
import pytest
import torch

from lib.cheating import attack, templates, toy, winrates as W
from lib.cheating.hf_judge import HFJudge
from lib.core import models
from lib.core.tokenizer import char_tokenizer


def test_world_answers():
    rng = random.Random(0)
    assert toy.solve("reverse", ("a", "1", "c")) == ["c", "1", "a"]
    for _ in range(200):
        inst = toy.instruction(rng)
        assert toy.bad_answer(inst, rng) != toy.solve(*inst)
    split = toy.make_split(50, seed=1)
    assert len(set(split.instructions)) == 50
    other = toy.make_split(20, seed=2, exclude=set(split.instructions))
    assert not set(other.instructions) & set(split.instructions)
    with pytest.raises(ValueError, match="template"):
        toy.prompt(("copy", ("a",)), [], [], template="x")


@pytest.fixture(scope="module")
def judge():
    j = toy.Judge(seed=0, d_model=32, n_layers=1, n_heads=2)
    j.train(steps=20, lr=1e-3, batch_size=8, seed=0)
    return j


def test_judge_batches_are_a_function_of_seed_and_step(judge):
    a, b = judge.batches(3, 4)(7), judge.batches(3, 4)(7)
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])


def test_judge_prefs_are_normalised_and_padding_invariant(judge):
    split = toy.make_split(6, seed=0)
    default, swapped = toy.null_prompts(split, ["a", "b"])
    lp = judge.log_prefs(default + swapped)
    assert torch.allclose(lp.exp().sum(1), torch.ones(len(lp)), atol=1e-5)
    alone = judge.log_prefs(default[:1])
    assert torch.allclose(alone[0], lp[0], atol=1e-5)


def test_toy_annotations_follow_alpaca_evals_switch(judge):
    split = toy.make_split(30, seed=0)
    response = ["}"] * 3 + toy.STRUCTURED
    ann = toy.annotations(judge, split, response)
    wr = toy.null_win_rates(judge, split, response)
    for k, row in ann.iterrows():
        i, r = split.instructions[k], split.references[k]
        p = toy.prompt(i, response, r) if row["is_switched"] else toy.prompt(i, r, response)
        p_m = judge.log_prefs([p])[0, 0].exp().item()
        assert W.unswitch(2 - p_m, row["is_switched"]) == pytest.approx(row["preference"], abs=1e-5)
    assert 0 <= wr["win_rate"] <= 100 and W.win_rate(ann["preference"])["n_total"] == 30


def test_search_on_the_toy_judge_does_not_increase_the_loss(judge):
    split = toy.make_split(4, seed=0)
    loss = toy.attack_loss(judge, split)
    res = attack.random_search(loss, ["}"] * 4, lambda rng: rng.choice(judge.vocab[1:]), 15, seed=0)
    assert res.history[-1] <= res.history[0] and loss(res.tokens) == pytest.approx(res.history[-1], abs=1e-5)
    assert res.tokens_at(0) == ["}"] * 4 and res.tokens_at(15) == res.tokens


def test_hf_judge_with_a_tiny_model_from_config():
    tok = char_tokenizer(string.printable + "…–’“”")
    tok.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}<assistant>{% endif %}")
    torch.manual_seed(0)
    model = models.tiny_llama(len(tok), d_model=16, n_layers=1, n_heads=2, max_len=4096)
    judge = HFJudge(model, tok, device="cpu", max_length=4096)
    lp = judge.log_prefs([[{"role": "user", "content": "hi"}], [{"role": "user", "content": "a longer one"}]])
    assert lp.shape == (2, 2) and torch.allclose(lp.exp().sum(1), torch.ones(2), atol=1e-5)
    # left padding: a conversation scores the same alone and in a batch
    alone = judge.log_prefs([[{"role": "user", "content": "hi"}]])
    assert torch.allclose(alone[0], lp[0], atol=1e-4)
    wr = judge.win_rates(["Say hi"], ["hi"], "x")
    assert 0 <= wr["win_rate"] <= 100
    loss = judge.attack_loss(["Say hi"], ["hi"], suffix="}")
    assert np.isfinite(loss(tok.encode("ab", add_special_tokens=False)))


def test_toy_search_helper_and_templates(judge):
    split = toy.make_split(3, seed=0)
    res = toy.search(judge, split, n_tokens=3, steps=5, seed=1)
    loss = toy.attack_loss(judge, split)
    assert loss(toy.null_response(res.tokens)) == pytest.approx(res.history[-1], abs=1e-5)
    assert toy.null_response(["x"], structured=False) == ["x"] and toy.null_response([])[-1] == toy.Q
    with pytest.raises(ValueError, match="n_tokens"):
        toy.search(judge, split, n_tokens=0)
    head, mid, tail = toy.template_parts(split.instructions[0], "paraphrase")
    assert toy.prompt(split.instructions[0], ["a"], ["b"], "paraphrase") == head + ["a"] + mid + ["b"] + tail
    with pytest.raises(ValueError, match="templates"):
        judge.train(steps=1, templates=("official", "other"))
    b = judge.batches(0, 16, ("official", "paraphrase"))(0)
    words = {judge.vocab[i] for i in b["input_ids"].flatten().tolist()}
    assert {"Instruction", "Task"} <= words   # both templates appear in a batch
    assert 0 <= toy.clean_accuracy(judge, split, template="paraphrase") <= 1


def test_hf_judge_search_over_token_ids():
    tok = char_tokenizer(string.printable + "…–’“”")
    tok.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}<assistant>{% endif %}")
    torch.manual_seed(0)
    judge = HFJudge(models.tiny_llama(len(tok), d_model=16, n_layers=1, n_heads=2, max_len=4096), tok, device="cpu")
    res = judge.search(["Say hi"], ["hi"], n_tokens=4, steps=3, seed=0)
    assert len(res.tokens) == 4 and res.history[-1] <= res.history[0]
    assert all(0 <= t < tok.vocab_size for t in res.tokens)
    text = judge.response(res.tokens)
    assert text.endswith(templates.STRUCTURED_ALPACA_EVAL)
    loss = judge.attack_loss(["Say hi"], ["hi"], suffix=templates.STRUCTURED_ALPACA_EVAL)
    assert loss(res.tokens) == pytest.approx(res.history[-1], abs=1e-4)
    with pytest.raises(ValueError, match="n_tokens"):
        judge.search(["Say hi"], ["hi"], n_tokens=0)


def test_train_judge_stops_at_the_target_or_after_max_rounds():
    val = toy.make_split(5, seed=3)
    kw = dict(validation=val, extra_steps=1, d_model=16, n_layers=1, n_heads=2)
    _, acc = toy.train_judge(0, 2, target=0.0, max_rounds=3, **kw)
    assert len(acc) == 1
    j, acc = toy.train_judge(0, 2, target=1.01, max_rounds=3, **kw)
    assert len(acc) == 3 and all(0 <= a <= 1 for a in acc)
    _, more = toy.train_judge(1, 1, target=1.01, max_rounds=1, templates=toy.TEMPLATES, judge=j, validation=val)
    assert len(more) == 1
    with pytest.raises(ValueError, match="max_rounds"):
        toy.train_judge(0, 1, validation=val, max_rounds=0)


def test_judge_uses_gpt2s_tanh_gelu():
    """The judge's fused activation is GPT-2's "gelu_new" formula (a speed-up, not another model)."""
    from transformers.activations import ACT2FN
    j = toy.Judge(seed=0, d_model=32, n_layers=1, n_heads=2)
    assert j.model.config.activation_function == "gelu_pytorch_tanh" and not j.model.config.use_cache
    x = torch.linspace(-8, 8, 10_001)
    assert torch.allclose(ACT2FN["gelu_pytorch_tanh"](x), ACT2FN["gelu_new"](x), atol=1e-6, rtol=0)
