import numpy as np
import pytest
import torch

from lib.core import lm_eval, models


def test_unigram_loss_is_the_entropy_on_the_training_text():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 200_000)
    p = (np.bincount(x, minlength=5) + 1) / (len(x) + 5)
    assert lm_eval.unigram_loss(x, x, 5) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-3)


def test_bigram_beats_unigram_on_a_markov_chain():
    x = np.tile([0, 1, 2, 3], 1000)
    assert lm_eval.bigram_loss(x, x, 4) < 0.01 < lm_eval.unigram_loss(x, x, 4)


def test_eval_loss_equals_the_mean_over_windows():
    torch.manual_seed(0)
    m = models.tiny_llama(10, d_model=16, n_layers=1, n_heads=2)
    tokens = np.random.default_rng(0).integers(0, 10, 100)
    windows = torch.as_tensor(tokens[:96]).view(6, 16)
    with torch.no_grad():
        direct = np.mean([m(input_ids=w[None], labels=w[None]).loss.item() for w in windows])
    assert lm_eval.eval_loss(m, tokens, seq_len=16, batch_size=4) == pytest.approx(direct, rel=1e-5)
    with pytest.raises(ValueError, match="seq_len"):
        lm_eval.eval_loss(m, tokens[:5], seq_len=16)
