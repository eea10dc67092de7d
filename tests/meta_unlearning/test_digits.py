"""lib.meta_unlearning.digits: the data file, the split, the detector and one short unlearning run."""
import pytest
import torch

from lib.meta_unlearning import digits as dg
from lib.meta_unlearning.unlearn import MetaConfig, relearn_attack, unlearn


def test_digits_file_has_1797_images_in_range():
    X, Y = dg.load_digits()
    assert X.shape == (1797, 64) and X.min() == -1 and X.max() == 1
    assert torch.bincount(Y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_pools_are_disjoint_and_labelled():
    task = dg.make_task(0)
    hrm_test, attack = set(task.idx("hrm_test").tolist()), set(task.idx("attack").tolist())
    assert hrm_test and attack and not hrm_test & attack
    assert not set(task.idx("hrm").tolist()) & (hrm_test | attack)
    assert (task.Y[task.idx("tgt")] == 9).all() and not ((task.Y[task.idx("irt")] == 8) | (task.Y[task.idx("irt")] == 9)).any()
    with pytest.raises(ValueError, match="must differ"):
        dg.make_task(0, u=3, r=3)
    with pytest.raises(ValueError, match="pool"):
        task.idx("retain")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detector_heldout_accuracy_at_least_095(seed):
    task = dg.make_task(seed)
    det = dg.fit_detector(task)
    assert det.accuracy(task.X[task.heldout], task.Y[task.heldout]) >= 0.95


def test_unlearn_and_attack_run_on_a_tiny_model():
    task = dg.make_task(0)
    model, sched, hist = dg.pretrain(task, steps=30, width=32)
    det = dg.fit_detector(task)
    m, _ = unlearn(model, sched, task, 8, steps=3, n=8, meta=MetaConfig(k_inner=2, inner_batch=8))
    assert any((p - q).abs().sum() > 0 for p, q in zip(m.parameters(), model.parameters()))
    curve = relearn_attack(m, sched, task, steps=4, every=2, batch_size=8,
                           evaluate=dg.evaluator(task, det, sched, n_focus=4, n_other=2))
    assert curve.step.tolist() == [0, 2, 4] and {"rate_u", "rate_rel", "rate_other"} <= set(curve.columns)
