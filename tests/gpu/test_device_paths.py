"""On the CPU: the library paths that the chapters' ``gpu`` profiles reach put their inputs on the
model's device. A model on the ``meta`` device with a guard on its forward pass stands in for a GPU: a
path that hands the model a CPU tensor fails with ``DeviceMismatch`` (the meta device itself would not
complain). Meta tensors hold no data, so a path may stop later at a value read (``.item()``, a copy to
the CPU, a data-dependent op); everything up to there has been checked. The GPU itself is exercised by
``tests/gpu/test_smoke.py`` (``pytest -m gpu``)."""
import numpy as np
import pytest
import torch

from lib.attention_sink import sink
from lib.core import attention, lm_eval, models, train
from lib.sea import alignment as sea
from lib.smdm import mdm, misleading_prior as mp, reverse_curse as rc
from lib.vocab_scaling import laws as vs

META_LIMITS = ("Cannot copy out of meta tensor", "cannot be called on meta tensors",
               "register_meta function for torch.nonzero", "not an accelerator")


class DeviceMismatch(AssertionError):
    pass


def on_meta(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` moved to the meta device, its forward refusing tensors from anywhere else."""
    def guard(module, args, kwargs):
        for value in [*args, *kwargs.values()]:
            if isinstance(value, torch.Tensor) and value.device.type != "meta":
                raise DeviceMismatch(f"{type(module).__name__} got a tensor on {value.device}")
    model.to("meta").register_forward_pre_hook(guard, with_kwargs=True)
    return model


def device_safe(fn) -> None:
    """Run ``fn``; a device mismatch fails, a meta tensor's missing data ends the check early."""
    try:
        fn()
    except DeviceMismatch:
        raise
    except (RuntimeError, NotImplementedError) as e:
        if not any(s in str(e) for s in META_LIMITS):
            raise


def llama(vocab=24, **kw):
    torch.manual_seed(0)
    return models.tiny_llama(vocab, d_model=16, n_layers=1, n_heads=2, **kw)


def test_the_guard_catches_a_cpu_tensor():
    with pytest.raises(DeviceMismatch):
        device_safe(lambda: on_meta(llama())(input_ids=torch.zeros(1, 4, dtype=torch.long)))


@pytest.mark.parametrize("kw", [dict(), dict(temperature=1.0), dict(remasking="random", cfg=0.5)])
def test_smdm_generate_and_scoring_move_cpu_prompts_to_the_model(kw):
    model = on_meta(llama(is_causal=False))
    x = torch.randint(0, 23, (2, 5))
    device_safe(lambda: mdm.generate(model, x, 4, 23, steps=2, **kw))
    device_safe(lambda: mdm.conditional_logprob(model, x, x[:, :2], 23, suffix=x[:, :1], cfg=0.5))
    device_safe(lambda: mdm.elbo_loss(model, np.arange(64) % 23, 23, seq_len=8, n_mc=1, prefix=1))
    device_safe(lambda: mdm.conditional_elbo_exact(model, x, x[:, :3], 23))
    for scheme in mdm.MC_SCHEMES:
        device_safe(lambda: mdm.conditional_elbo_mc(model, x, x[:, :3], 23, n=2, scheme=scheme))
    device_safe(lambda: mdm.mdm_loss(model, {"input_ids": x.to("meta")}, 23, noise=train.SampleNoise(0, 0, 0, 2)))


def test_smdm_task_paths_on_meta():
    facts = rc.make_facts(0, n_p2d=2, n_d2p=2, n_both=2)
    mdm_model = on_meta(llama(facts.vocab_size, is_causal=False))
    prompts = next(iter(facts.queries.values()))[0]
    device_safe(lambda: rc.predictor("mdm", mdm_model, facts, cfg=0.5)(prompts))
    task = mp.make_task(0, n_test=4, n_background=8)
    device_safe(lambda: mp.choice_accuracy(on_meta(llama(task.vocab_size, is_causal=False)), task,
                                           next(iter(task.options)), cfg=0.5))


def test_lm_eval_attention_sink_and_vocab_paths_on_meta():
    tokens = np.arange(200) % 23
    causal = on_meta(llama())
    eager = on_meta(llama(attn_implementation="eager"))
    x = torch.randint(0, 23, (3, 8))
    device_safe(lambda: lm_eval.eval_loss(causal, tokens, seq_len=8))
    device_safe(lambda: lm_eval.continuation_nll(causal, x[:, :3], x[:, 3:].to("meta")))
    device_safe(lambda: attention.attention_maps(eager, x))
    device_safe(lambda: sink.measure(on_meta(sink.build_model(sink.SinkRun(d_model=16), 24)), x))
    held = vs.HeldOutBlocks(np.stack([tokens[:8], tokens[7:15]]), np.ones((2, 8), bool), np.array([0, 0]),
                            np.array([14]), np.array([14]), np.zeros(1))
    device_safe(lambda: vs.block_nll(causal, held))


def test_cpu_results_come_back_where_callers_expect_them():
    """On the CPU nothing moves; samples on another device are accepted by the scorers."""
    model = llama(is_causal=False).eval()
    x = torch.randint(0, 23, (2, 5))
    out = mdm.generate(model, x, 4, 23, steps=2)
    assert out.device == x.device and out.shape == (2, 4)
    assert lm_eval.sample_entropy(out) == lm_eval.sample_entropy(out.numpy())
    judge = llama().eval()
    torch.testing.assert_close(lm_eval.continuation_nll(judge, x, out), lm_eval.continuation_nll(judge, x, out.clone()))
    task = sea.make_taste_task(4, 3, 4, seed=0)
    lm = models.tiny_llama(task.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=16)
    assert sea.lm_respond(lm, task.eval_prompts(3), 2, 4).device.type == "cpu"


def _old_generate(model, prompt, gen_len, mask_id, *, steps, remasking, temperature, generator):
    """``mdm.generate`` as it was before it learnt devices (CPU draws, copied each step)."""
    b, plen = prompt.shape
    x = torch.cat([prompt, torch.full((b, gen_len), mask_id, dtype=prompt.dtype)], 1)
    for k in mdm.transfer_schedule(gen_len, steps):
        masked = x == mask_id
        logits = mdm.guided_logits(model, x, plen, mask_id, 0.0).double()
        logits[..., mask_id] = -torch.inf
        if temperature > 0:
            u = torch.rand(logits.shape, dtype=torch.float64, generator=generator).clamp_min(1e-300)
            x0 = (logits / temperature - torch.log(-torch.log(u)).to(logits.device)).argmax(-1)
        else:
            x0 = logits.argmax(-1)
        if remasking == "low_confidence":
            conf = logits.softmax(-1).gather(-1, x0[..., None])[..., 0]
        else:
            conf = torch.rand(x0.shape, dtype=torch.float64, generator=generator).to(x0.device)
        conf = conf.masked_fill(~masked, -1.0)
        reveal = conf.topk(k, dim=-1).indices
        x.scatter_(1, reveal, x0.gather(1, reveal))
    return x[:, plen:]


@torch.no_grad()
@pytest.mark.parametrize("remasking", ["low_confidence", "random"])
@pytest.mark.parametrize("seeded", [True, False])
def test_generate_draws_on_the_cpu_exactly_as_before(remasking, seeded):
    model = llama(is_causal=False).eval()
    x = torch.randint(0, 23, (3, 4))
    kw = dict(steps=4, remasking=remasking, temperature=0.9)

    def gen(f):
        torch.manual_seed(5)
        return f(model, x, 8, 23, generator=torch.Generator().manual_seed(1) if seeded else None, **kw)
    assert torch.equal(gen(mdm.generate), gen(_old_generate))


def test_mdm_loss_default_noise_is_the_global_rng_as_before():
    """The default MDM loss (and ``loss_fn("mdm", ...)``) draws t then the masks from the global RNG:
    the book's CPU runs are unchanged. ``sample_noise=True`` switches to per-sample streams."""
    model = llama(is_causal=False)
    x = torch.randint(0, 23, (4, 6))
    torch.manual_seed(3)
    loss = mdm.loss_fn("mdm", 23)(model, {"input_ids": x})
    torch.manual_seed(3)
    p = (1 - 1e-3) * torch.rand(4) + 1e-3
    masked = torch.rand(x.shape) < p[:, None]
    logits = model(input_ids=torch.where(masked, torch.full_like(x, 23), x)).logits
    ce = torch.nn.functional.cross_entropy(logits[masked], x[masked], reduction="none")
    assert torch.equal(loss, (ce / p[:, None].expand(4, 6)[masked]).sum() / 24)
    noisy = mdm.loss_fn("mdm", 23, sample_noise=True)
    a = noisy(model, {"input_ids": x}, noise=train.SampleNoise(0, 1, 0, 4))
    assert torch.equal(a, noisy(model, {"input_ids": x}, noise=train.SampleNoise(0, 1, 0, 4)))


def test_median_seconds_synchronises_only_when_cuda_is_in_use(monkeypatch):
    calls = []
    monkeypatch.setattr(lm_eval, "synchronize", lambda: calls.append(1))
    seconds, result = lm_eval.median_seconds(lambda: 7, repeats=2, warmup=0)
    assert result == 7 and seconds >= 0 and len(calls) == 4
    monkeypatch.undo()
    lm_eval.synchronize()        # a no-op without CUDA
