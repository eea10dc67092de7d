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
    single-process loss curve, for the LM loss and for the MDM loss with per-sample noise (each rank
    draws the noise of its own samples; had both ranks drawn the same noise, the curves would differ)."""
    out = tmp_path / "ddp.json"
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(paths.ROOT / "tests"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    str(paths.ROOT / "tests" / "core" / "ddp_train.py"), str(out)], check=True, env=env, timeout=300,
                   capture_output=True)
    ddp = json.loads(out.read_text())
    np.testing.assert_allclose(ddp["lm"], tiny_run(), rtol=1e-4)
    np.testing.assert_allclose(ddp["mdm"], tiny_run(loss="mdm"), rtol=1e-4)


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


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _tiny(steps=5, loss="lm", **cfg):
    """A tiny LM (or MDM) run on a batch of 8; returns (losses, final parameters)."""
    from lib.smdm import mdm
    torch.manual_seed(0)
    tokens = np.random.default_rng(1).integers(0, 40, 4000)
    model = models.tiny_llama(41, d_model=32, n_layers=1, n_heads=2, is_causal=loss == "lm")
    loss_fn = train.lm_loss if loss == "lm" else mdm.loss_fn("mdm", 40, sample_noise=True)
    h = train.train(model, train.lm_batches(tokens, 8, 16, seed=3), train.TrainConfig(steps=steps, lr=1e-2, **cfg),
                    loss_fn=loss_fn, progress=False)
    return h.loss.to_numpy(), _params(model)


@pytest.mark.parametrize("loss, k", [("lm", 4), ("lm", 8), ("mdm", 2)])
def test_accumulated_micro_batches_equal_one_full_batch(loss, k):
    """k micro-batches of B/k, gradients accumulated, give the step of one batch of B (float tolerance);
    the MDM's per-sample noise does not depend on how the batch is split."""
    full_loss, full_w = _tiny(loss=loss)
    acc_loss, acc_w = _tiny(loss=loss, grad_accum=k)
    np.testing.assert_allclose(acc_loss, full_loss, rtol=1e-5)
    torch.testing.assert_close(acc_w, full_w, rtol=1e-4, atol=1e-6)


def test_grad_accum_must_divide_the_batch():
    with pytest.raises(ValueError, match="grad_accum=3"):
        _tiny(steps=1, grad_accum=3)


def test_default_loop_is_unchanged_by_the_new_options():
    """float32 and grad_accum=1 are the defaults, and take the plain path (bit-identical)."""
    cfg = train.TrainConfig(steps=3)
    assert cfg.precision == "float32" and cfg.grad_accum == 1
    a, wa = _tiny(steps=3)
    b, wb = _tiny(steps=3, precision="float32", grad_accum=1)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(wa, wb)


def test_bf16_autocast_runs_on_the_cpu_and_keeps_float32_weights():
    loss32, w32 = _tiny(steps=4)
    loss16, w16 = _tiny(steps=4, precision="bf16")
    assert np.isfinite(loss16).all() and w16.dtype == torch.float32
    assert not np.array_equal(loss16, loss32)                     # autocast was on
    np.testing.assert_allclose(loss16, loss32, rtol=0.05)         # and the run is the same run
    loss_acc, _ = _tiny(steps=4, precision="bf16", grad_accum=2)
    assert np.isfinite(loss_acc).all()


@pytest.mark.parametrize("bad", [dict(precision="fp16"), dict(grad_accum=0)])
def test_config_rejects_bad_precision_and_accumulation(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        train.TrainConfig(**({"steps": 10} | bad))


def test_sample_noise_depends_on_seed_step_and_global_sample_index_only():
    whole = train.SampleNoise(seed=1, step=5, start=0, n=8)
    first, second = train.SampleNoise(1, 5, 0, 4), train.SampleNoise(1, 5, 4, 4)
    a = torch.cat([whole.rand(), whole.rand(3).flatten()])
    b = torch.cat([first.rand(), second.rand(), first.rand(3).flatten(), second.rand(3).flatten()])
    assert torch.equal(a, b)                                       # 1 process == 2 ranks, in order
    assert not torch.equal(train.SampleNoise(1, 5, 0, 4).rand(), train.SampleNoise(1, 5, 4, 4).rand())
    assert not torch.equal(train.SampleNoise(1, 6, 0, 4).rand(), train.SampleNoise(1, 5, 0, 4).rand())
    assert not torch.equal(train.SampleNoise(2, 5, 0, 4).rand(), train.SampleNoise(1, 5, 0, 4).rand())


def test_only_losses_that_take_noise_receive_it():
    seen = []

    def with_noise(model, batch, noise):
        seen.append((noise.seed, noise.step, noise.start, len(noise)))
        return train.lm_loss(model, batch)

    torch.manual_seed(0)
    model = models.tiny_llama(40, d_model=16, n_layers=1, n_heads=2)
    train.train(model, train.lm_batches(np.arange(400) % 40, 4, 8, seed=7), train.TrainConfig(steps=2, grad_accum=2),
                loss_fn=with_noise, progress=False)
    assert seen == [(7, 0, 0, 2), (7, 0, 2, 2), (7, 1, 0, 2), (7, 1, 2, 2)]


def test_checkpoint_saves_the_final_step_and_a_finished_run_resumes_to_its_end(tmp_path):
    tokens = np.random.default_rng(1).integers(0, 40, 4000)

    def run(steps=5, seed=3, d_model=32, data=tokens):
        torch.manual_seed(0)
        model = models.tiny_llama(40, d_model=d_model, n_layers=1, n_heads=2)
        h = train.train(model, train.lm_batches(data, 4, 16, seed=seed),
                        train.TrainConfig(steps=steps, lr=1e-2, checkpoint_every=2),
                        checkpoint_dir=tmp_path / "ckpt", progress=False)
        return h, _params(model)

    h, w = run()
    meta = json.loads((tmp_path / "ckpt" / "meta.json").read_text())
    assert meta["step"] == 5 and meta["fingerprint"]["seed"] == 3
    assert meta["fingerprint"]["model"]["class"].endswith("LlamaForCausalLM")
    assert meta["fingerprint"]["data"]["seq_len"] == 16 and len(meta["fingerprint"]["data"]["tokens_sha256"]) == 64
    again, w_again = run()                       # nothing left to do: the history and the final weights
    assert again.step.tolist() == h.step.tolist() and torch.equal(w_again, w)
    for change, what in [(dict(seed=4), "seed"), (dict(d_model=16), "model"), (dict(data=tokens[::-1].copy()), "data")]:
        with pytest.raises(ValueError, match=f"another run: its {what}"):
            run(**change)
