"""MT-Bench and Arena-Hard scoring, the judge templates, the fake-client judge and the random search."""
import math
import random
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib.cheating import attack, benchmarks as B, templates, winrates as W
from lib.cheating.client import OpenAIJudge


def test_parse_rating_and_verdict_follow_the_official_regexes():
    assert B.parse_rating("... Rating: [[9.5]]") == 9.5
    assert B.parse_rating("I give it [7]") == 7.0
    assert B.parse_rating("no rating") == -1.0
    assert B.parse_verdict("My final verdict is: [[B>>A]]") == "B>>A"
    assert B.parse_verdict("[[A>B]] ... or [[B>A]]") is None


def test_mt_bench_score_drops_unparsed_and_averages_turns():
    df = pd.DataFrame({"model": ["x"] * 4, "turn": [1, 1, 2, 2], "score": [10.0, 8.0, 9.0, -1.0]})
    out = B.mt_bench_score(df).loc["x"]
    assert out["turn_1"] == 9.0 and out["turn_2"] == 9.0 and out["score"] == 9.0


def test_bradley_terry_against_one_baseline_is_the_weighted_win_share():
    # two players: the MLE win probability is (2·wins + ties) / (2·battles), wins weighted 3 for >>
    games = [("A>>B", "A>B"), ("B>A", "B>A"), ("A=B", "A>>B"), ("B>>A", None)]
    battles = B.battles_from_games("null", games)
    wins = (battles["winner"] == "model_b").sum() * 2 + (battles["winner"] == "tie").sum()
    expected = 100 * wins / (2 * len(battles))
    score = B.win_rate_vs(B.bradley_terry(battles))["null"]
    assert score == pytest.approx(expected, abs=1e-6)
    assert B.bradley_terry(battles)["gpt-4-0314"] == pytest.approx(1000.0)


def test_arena_hard_bootstrap_interval_contains_the_score():
    rng = random.Random(0)
    games = [(rng.choice(["B>A", "B>>A", "A>B"]), rng.choice(["A>B", "A>>B", "B>A"])) for _ in range(60)]
    out = B.arena_hard_score(B.battles_from_games("m", games), n_bootstrap=20).loc["m"]
    assert out["lower"] <= out["score"] <= out["upper"]


def test_structured_response_is_the_tail_of_the_released_null_response():
    response = templates.null_model_response()
    assert response.endswith(templates.STRUCTURED_ALPACA_EVAL) and len(response) == 872


def test_alpaca_eval_template_has_its_slots_and_messages():
    text = templates.alpaca_eval_template()
    for slot in ("{instruction}", "{output_1}", "{output_2}"):
        assert text.count(slot) == 1
    msgs = templates.alpaca_eval_messages("Say hi", "hi", "hello")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert '"model_identifier": "m",\n        "output": """hi"""' in msgs[1]["content"]
    assert templates.arena_hard_config()["baseline_model"] == "gpt-4-0314"
    assert "[[rating]]" in templates.mt_bench_messages("q", "a")[1]["content"]


class FakeClient:
    """Stands in for openai.OpenAI: returns canned log-probs and records the requests."""

    def __init__(self, logprobs):
        self.logprobs, self.requests = logprobs, []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **kwargs):
        self.requests.append(kwargs)
        top = [SimpleNamespace(token=t, logprob=v) for t, v in self.logprobs(kwargs["messages"]).items()]
        return SimpleNamespace(choices=[SimpleNamespace(logprobs=SimpleNamespace(
            content=[SimpleNamespace(token=top[0].token, logprob=top[0].logprob, top_logprobs=top)]))])


def test_openai_judge_with_a_fake_client_gives_alpaca_evals_preference():
    client = FakeClient(lambda messages: {"M": math.log(0.8), "m": math.log(0.2), "The": -9.0})
    judge = OpenAIJudge(client=client)
    assert judge.alpaca_eval_preference("i", "a", "b") == pytest.approx(1.8)
    req = client.requests[-1]
    assert req["max_tokens"] == 1 and req["logprobs"] is True and req["top_logprobs"] == 20
    inst = "What is 2+2?"
    want = 3 - 1.8 if W.is_switched(inst) else 1.8
    assert judge.alpaca_eval_annotation(inst, "4", "four") == pytest.approx(want)


def test_openai_judge_attack_loss_uses_both_positions_and_skips_missing_targets():
    def logprobs(messages):   # the null response wins as M when it comes second, and m is never listed
        return {"M": math.log(0.9), "x": math.log(0.1)}
    loss = OpenAIJudge(client=FakeClient(logprobs)).attack_loss(["i1", "i2"], ["r1", "r2"])
    assert loss("NULL") == pytest.approx(-math.log(0.9))


def test_random_search_is_greedy_seeded_and_finds_a_planted_optimum():
    target = [3, 1, 4, 1, 5]

    def loss(tokens):
        return sum(a != b for a, b in zip(tokens, target))
    r1 = attack.random_search(loss, [0] * 5, lambda rng: rng.randrange(8), 400, seed=1)
    r2 = attack.random_search(loss, [0] * 5, lambda rng: rng.randrange(8), 400, seed=1)
    assert r1.tokens == target and r1.history == r2.history
    assert all(b <= a for a, b in zip(r1.history, r1.history[1:]))


def test_random_search_curriculum_resets_the_best_loss():
    calls = []

    def loss(tokens, n):
        calls.append(n)
        return float(n)
    r = attack.random_search(loss, [0, 0], lambda rng: rng.randrange(1000), 40,
                             n_prompts=lambda s: attack.curriculum(s, every=16, stop=4))
    assert sorted(set(calls)) == [2, 3, 4] and r.history[-1] == 4.0
