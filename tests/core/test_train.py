import subprocess
import sys

import json
import numpy as np
import pytest
import torch

from lib.core import models, train
from lib.book import paths

from tests.core.ddp_train import run as tiny_run


def _run(tmp_path=None, stop_at=None, steps=12):
    torch.manual_seed(0)
    tokens = np.random.default_rng(1).integers(0, 40, 4000)
    model = models.tiny_llama(40, d_model=32, n_layers=1, n_heads=2)
    cfg = train.TrainConfig(steps=steps, lr=1e-2, eval_every=4, checkpoint_every=4 if tmp_path else 0)
    return train.train(model, train.lm_batches(tokens, 4, 16, seed=3), cfg,
                       evaluate=lambda m: {"w": float(next(m.parameters()).sum())},
                       checkpoint_dir=tmp_path, stop_at=stop_at, progress=False)


def test_loss_falls_and_history_has_eval_rows():
    h = _run(steps=30)
    assert list(h.columns) == ["step", "loss", "lr", "w"]
    assert h.step.tolist() == list(range(0, 31))
    assert h.loss.iloc[-5:].mean() < h.loss.iloc[1:6].mean()
    assert h.w.notna().sum() == len(range(0, 31, 4)) + 1   # steps 0, 4, ..., 28 and the last


def test_resume_gives_the_same_curve(tmp_path):
    whole = _run()
    first = _run(tmp_path / "ckpt", stop_at=6)
    assert first.step.iloc[-1] == 6 and (tmp_path / "ckpt" / "meta.json").exists()
    resumed = _run(tmp_path / "ckpt")
    assert resumed.step.tolist() == whole.step.tolist()
    np.testing.assert_array_equal(resumed.loss.to_numpy(), whole.loss.to_numpy())
    np.testing.assert_array_equal(resumed.w.to_numpy(), whole.w.to_numpy())


def test_resume_refuses_another_config(tmp_path):
    _run(tmp_path / "ckpt", stop_at=4)
    with pytest.raises(ValueError, match="another config"):
        _run(tmp_path / "ckpt", steps=20)


def test_batches_depend_only_on_seed_and_step():
    tokens = np.arange(1000)
    a, b = train.lm_batches(tokens, 4, 8, seed=1), train.lm_batches(tokens, 4, 8, seed=1)
    assert torch.equal(a(7)["input_ids"], b(7)["input_ids"])
    assert not torch.equal(a(7)["input_ids"], a(8)["input_ids"])
    with pytest.raises(ValueError, match="seq_len"):
        train.lm_batches(np.arange(5), 2, 8, seed=0)


@pytest.mark.parametrize("bad", [dict(steps=0), dict(lr=0.0), dict(warmup=-1)])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        train.TrainConfig(**({"steps": 10} | bad))


def test_schedule_warms_up_then_decays_to_the_floor():
    f = train.lr_lambda(train.TrainConfig(steps=100, warmup=10, min_lr_ratio=0.1))
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(55) < f(20) and f(100) == pytest.approx(0.1)


def test_two_gloo_processes_match_one(tmp_path):
    """DDP on 2 CPU processes (torchrun + Accelerate, gloo) with the same global batch gives the
    single-process loss curve."""
    out = tmp_path / "ddp.json"
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(paths.ROOT / "tests"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    str(paths.ROOT / "tests" / "core" / "ddp_train.py"), str(out)], check=True, env=env, timeout=300,
                   capture_output=True)
    np.testing.assert_allclose(json.loads(out.read_text()), tiny_run(), rtol=1e-4)


def test_row_batches_draw_whole_rows_reproducibly():
    rows = torch.arange(20).view(5, 4)
    a = train.row_batches(rows, 8, seed=0)
    assert torch.equal(a(3)["input_ids"], train.row_batches(rows, 8, seed=0)(3)["input_ids"])
    assert all(r.tolist() in rows.tolist() for r in a(3)["input_ids"])
    with pytest.raises(ValueError, match="rows"):
        train.row_batches(torch.zeros(0, 4), 2, seed=0)


def test_precision_left_behind_by_an_earlier_trainer_is_not_inherited():
    """A transformers/TRL Trainer leaves a bf16 AcceleratorState in the process; our loop must still
    train in float32 (the same curve as in a fresh process)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    fresh = _run().loss.to_numpy()
    AcceleratorState._reset_state()
    Accelerator(cpu=True, mixed_precision="bf16")      # what a Trainer with bf16 leaves behind
    np.testing.assert_array_equal(_run().loss.to_numpy(), fresh)
