import pytest
import torch

from lib.smdm import misleading_prior as mp
from lib.core import models
from lib.smdm import mdm as smdm


def test_layout_popular_prior_and_options():
    t = mp.make_task(0, n_test=10, n_background=50, repeats=2)
    assert t.train.shape == (2 * 10 + 50, 6) and t.prompts.shape == (10, 4)
    answers = t.options["popular distractors"][:, 0]
    assert torch.equal(answers, t.options["rare distractors"][:, 0])
    assert not set(answers.tolist()) & set(t.popular)
    assert set(t.options["popular distractors"][:, 1:].flatten().tolist()) <= set(t.popular)
    assert not set(t.options["rare distractors"][:, 1:].flatten().tolist()) & set(t.popular)
    # every test person's sentence is in the training rows, `repeats` times
    rows = [tuple(r) for r in t.train.tolist()]
    for p, a in zip(t.prompts.tolist(), answers.tolist()):
        assert rows.count((*p, a, t.end_id)) == 2
    # the popular objects dominate the answer position
    counts = torch.bincount(t.train[:, 4], minlength=t.vocab_size)
    assert counts[t.popular].sum() == 50


def test_choice_accuracy_matches_the_option_scores():
    t = mp.make_task(1, n_test=8, n_background=20)
    torch.manual_seed(0)
    model = models.tiny_llama(t.vocab_size, d_model=16, n_layers=1, n_heads=2, is_causal=False).eval()
    for kind in t.options:
        for w in (0.0, 1.0):
            opts = t.options[kind]
            scores = torch.stack([smdm.conditional_logprob(model, t.prompts, opts[:, j:j + 1], t.mask_id,
                                                           suffix=torch.full((8, 1), t.end_id), cfg=w)
                                  for j in range(opts.shape[1])], 1)
            expected = (scores.argmax(1) == 0).float().mean().item()
            assert mp.choice_accuracy(model, t, kind, cfg=w) == pytest.approx(expected)
    with pytest.raises(ValueError, match="kind"):
        mp.choice_accuracy(model, t, "easy")


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="n_options"):
        mp.make_task(0, n_options=9)
    with pytest.raises(ValueError, match="repeats"):
        mp.make_task(0, repeats=0)
