"""Generation metrics in lib.core.lm_eval: generative perplexity, sample entropy, timing."""
import math

import numpy as np
import pytest
import torch

from lib.core import lm_eval, models


@pytest.fixture(scope="module")
def judge():
    torch.manual_seed(0)
    return models.tiny_llama(12, d_model=16, n_layers=1, n_heads=2).eval()


def nll_token_by_token(model, prompt, continuation):
    """-1/G Σ_g log p(c_g | prompt, c_<g), one forward pass per token on the growing prefix."""
    total, prefix = 0.0, prompt.tolist()
    with torch.no_grad():
        for token in continuation.tolist():
            logp = model(input_ids=torch.tensor([prefix])).logits[0, -1].log_softmax(-1)
            total -= logp[token].item()
            prefix.append(token)
    return total / len(continuation)


def test_continuation_nll_matches_a_token_by_token_computation(judge):
    g = torch.Generator().manual_seed(1)
    prompts, conts = torch.randint(0, 12, (5, 3), generator=g), torch.randint(0, 12, (5, 7), generator=g)
    got = lm_eval.continuation_nll(judge, prompts, conts, batch_size=2)
    want = [nll_token_by_token(judge, p, c) for p, c in zip(prompts, conts)]
    assert got.tolist() == pytest.approx(want, rel=1e-5)
    ppl = lm_eval.generative_perplexity(judge, prompts, conts)
    assert ppl == pytest.approx(math.exp(np.mean(want)), rel=1e-5)


def test_generative_perplexity_of_a_uniform_judge_is_the_vocabulary_size():
    m = models.tiny_llama(12, d_model=16, n_layers=1, n_heads=2)
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()                      # all logits 0: p = 1/12 for every token
    x = torch.randint(0, 12, (3, 9))
    assert lm_eval.generative_perplexity(m, x[:, :2], x[:, 2:]) == pytest.approx(12.0, rel=1e-5)


def test_continuation_nll_rejects_bad_shapes(judge):
    with pytest.raises(ValueError, match="at least one token"):
        lm_eval.continuation_nll(judge, torch.zeros(2, 0, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="same N"):
        lm_eval.continuation_nll(judge, torch.zeros(2, 1, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long))


def test_sample_entropy_of_known_sequences():
    assert lm_eval.sample_entropy([[5, 5, 5, 5]]) == 0.0
    assert lm_eval.sample_entropy([[0, 1, 0, 1]]) == pytest.approx(math.log(2))
    assert lm_eval.sample_entropy([[0, 1, 2, 3]]) == pytest.approx(math.log(4))
    p = np.array([3, 1]) / 4                                   # 7,7,7,2: frequencies 3/4 and 1/4
    h = -(p * np.log(p)).sum()
    assert lm_eval.sample_entropy(torch.tensor([[7, 7, 7, 2], [4, 4, 4, 4]])) == pytest.approx(h / 2)
    with pytest.raises(ValueError, match="non-empty"):
        lm_eval.sample_entropy([1, 2, 3])


def test_median_seconds_times_the_repeats_after_the_warmup():
    calls = []

    def fn():
        calls.append(len(calls))
        return len(calls)
    seconds, first = lm_eval.median_seconds(fn, repeats=3, warmup=2)
    assert len(calls) == 5 and first == 3 and seconds >= 0
    with pytest.raises(ValueError):
        lm_eval.median_seconds(fn, repeats=0)
