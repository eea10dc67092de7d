"""GPU smoke suite (``pytest -m gpu``; ``make gpu-smoke`` runs it with the chapters): for every chapter, the
library path its ``gpu`` profile takes, for a few steps, on CUDA. Hub models are replaced by tiny random
models of the same class built from configs (the GPU machine cannot download). Each test asserts finite
losses and the device the work ran on, and records a speed figure (``record_property("speed", ...)``,
collected into ``benchmarks/gpu_smoke_report.md``).

Skipped without CUDA. ``GPU_SMOKE_DEVICE=cpu`` runs the same on the CPU (the dry mode of
``benchmarks/gpu_smoke.py``, which CI exercises); ``GPU_SMOKE_STEPS`` sets the number of steps."""
import math
import os
import time

import numpy as np
import pytest
import torch

DEVICE = os.environ.get("GPU_SMOKE_DEVICE") or ("cuda" if torch.cuda.is_available() else None)
STEPS = int(os.environ.get("GPU_SMOKE_STEPS", "20" if DEVICE == "cuda" else "2"))

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(DEVICE is None, reason="needs CUDA (GPU_SMOKE_DEVICE=cpu runs it on the CPU)")]


@pytest.fixture(autouse=True)
def _device_matches_the_training_loop():
    """``lib.core.train`` trains on CUDA whenever it is available: the suite must run where the loop does."""
    if DEVICE == "cpu" and torch.cuda.is_available():
        pytest.skip("GPU_SMOKE_DEVICE=cpu on a CUDA machine: lib.core.train would still use the GPU")
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()


def on_device(model: torch.nn.Module) -> None:
    device = next(model.parameters()).device
    assert device.type == DEVICE, f"the model is on {device}, expected {DEVICE}"


def finite(*values) -> None:
    for v in values:
        arr = np.asarray(v, dtype=float)
        assert np.isfinite(arr).all(), f"non-finite values: {arr}"


def trained(history):
    """The training losses (the step-0 evaluation row has none)."""
    return history.loss[history.step > 0]


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


@pytest.fixture
def speed(record_property):
    """``speed(label, amount, seconds, unit)`` records e.g. "tokens/s 1.2e+05" for the report."""
    def record(label: str, amount: float, seconds: float, unit: str) -> float:
        rate = amount / max(seconds, 1e-9)
        record_property("speed", f"{label}: {rate:.3g} {unit}/s")
        print(f"{label}: {rate:.3g} {unit}/s")
        assert rate > 0
        return rate
    return record


def _timed_train(model, batches, cfg, **kw):
    from lib.core import train
    sync()
    t0 = time.perf_counter()
    history = train.train(model, batches, cfg, progress=False, **kw)
    sync()
    return history, time.perf_counter() - t0


def _tokens(n=20_000, vocab=64, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, n)


# ------------------------------------------------------------------------------------------ 00_intro
@pytest.mark.parametrize("options", [dict(), dict(precision="bf16", grad_accum=2)], ids=["float32", "bf16-accum2"])
def test_00_intro_tiny_llama_trains_evaluates_and_samples(options, speed):
    from lib.core import lm_eval, models, train
    torch.manual_seed(0)
    model = models.tiny_llama(64, d_model=128, n_layers=4, n_heads=4, max_len=128)
    tokens = _tokens()
    cfg = train.TrainConfig(steps=STEPS, lr=1e-3, eval_every=max(1, STEPS // 2), **options)
    history, seconds = _timed_train(model, train.lm_batches(tokens, 16, 128, 0), cfg,
                                    evaluate=lambda m: {"val_loss": lm_eval.eval_loss(m, tokens[:4096], seq_len=128)})
    finite(trained(history), history.val_loss.dropna())
    on_device(model)
    speed("train", STEPS * 16 * 128, seconds, "tokens")
    ids = torch.as_tensor(tokens[:8])[None].to(next(model.parameters()).device)
    out = model.generate(input_ids=ids, max_new_tokens=16, do_sample=True, top_k=50, pad_token_id=0)
    assert out.shape == (1, 24) and out.device.type == DEVICE


# ------------------------------------------------------------------------------------------ 01_dft
def test_01_dft_direct_minimisation_runs_on_jax(speed):
    """The chapter is JAX, not torch: this records the backend JAX picked (the pinned jaxlib is CPU-only;
    a CUDA jaxlib is needed for the DFT to run on the GPU)."""
    import jax
    from lib.dft import basis, crystal, minimize, upf
    si = crystal.builtin("si")
    pseudo, _ = upf.load("Si", "coulomb")
    bs = basis.make_basis(si, {"Si": pseudo}, 4.0, crystal.kgrid(si, (1, 1, 1)))
    t0 = time.perf_counter()
    res = minimize.minimize(bs, 16, 0.01, max(STEPS, 2), seed=0, xc="lda_x", log_every=max(STEPS, 2), verbose=False)
    finite(res.free_energy)
    speed("Adam steps", max(STEPS, 2), time.perf_counter() - t0, "steps")
    backend = jax.default_backend()
    if DEVICE == "cuda" and backend != "gpu":
        pytest.xfail(f"JAX runs on {backend}: install a CUDA jaxlib to put the DFT chapter on the GPU")


# ------------------------------------------------------------------------------------------ 02_sea
def test_02_sea_tldr_path_with_tiny_stand_ins_for_the_hub_models(speed):
    """Notebook 3's gpu profile: the text setting (Pythia policy → tiny GPT-NeoX, Skywork reward model →
    tiny Llama sequence classifier), online DPO and SEA rounds on the device."""
    from tests.sea.test_text import REF_KEY, _table
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, LlamaConfig, LlamaForSequenceClassification
    from lib.core import tokenizer
    from lib.sea import alignment as sea, text as sea_text
    data = {"train": _table(32), "test": _table(8, offset=100)}
    text = "".join(list(data["train"]["prompt"]) + list(data["test"]["prompt"]) + list(data["test"][REF_KEY]))
    tok, rm_tok = tokenizer.char_tokenizer(text), tokenizer.char_tokenizer(text)
    rm_tok.add_special_tokens({"pad_token": "<pad>"})
    torch.manual_seed(0)
    policy = GPTNeoXForCausalLM(GPTNeoXConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2,
                                              num_attention_heads=4, intermediate_size=128, max_position_embeddings=256,
                                              rotary_pct=0.25, eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id))
    rm = LlamaForSequenceClassification(LlamaConfig(vocab_size=len(rm_tok), hidden_size=32, intermediate_size=64,
                                                    num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                                    max_position_embeddings=256, num_labels=1,
                                                    pad_token_id=rm_tok.pad_token_id))
    env, sft = sea_text.make_text_env(policy, data, REF_KEY, rm, policy_tokenizer=tok, oracle_tokenizer=rm_tok,
                                      response_len=8, gen_batch=16, device=DEVICE)
    on_device(sft)
    on_device(env.oracle.model)
    cfg = sea.LMAlignConfig(rounds=2, batch=4, n_samples=4, n_heads=3, eval_every=1, n_eval=8, micro_batch=2)
    for agent in ("online", "sea"):
        sync()
        t0 = time.perf_counter()
        curve = sea.run_lm_alignment(env, sft, agent, cfg, seed=0)
        sync()
        finite(curve.win_rate)
        speed(f"{agent} rounds", cfg.rounds, time.perf_counter() - t0, "rounds")


# ------------------------------------------------------------------------------------------ 03_smdm
def test_03_smdm_mdm_training_sampling_and_scoring(speed):
    from lib.core import lm_eval, models, train
    from lib.smdm import mdm, misleading_prior as mp, reverse_curse as rc
    facts = rc.make_facts(0)
    size = dict(d_model=64, n_layers=2, n_heads=4, batch_size=32, lr=1e-3)
    t0 = time.perf_counter()
    model, history = mdm.train_model("mdm", facts, seed=0, steps=STEPS, **size)
    finite(trained(history))
    on_device(model)
    speed("MDM train", STEPS, time.perf_counter() - t0, "steps")
    acc = rc.accuracy(rc.predictor("mdm", model, facts, cfg=0.8), facts)
    finite(list(acc.values()))
    arm, _ = mdm.train_model("arm", facts, seed=0, steps=STEPS, **size)
    finite(list(rc.accuracy(rc.predictor("arm", arm, facts), facts).values()))
    task = mp.make_task(0, n_test=8, n_background=32)
    chooser, _ = mdm.train_model("mdm", task, seed=0, steps=STEPS, **size)
    finite(mp.choice_accuracy(chooser, task, "popular distractors", cfg=1.0))

    # 05_speed_quality: sampling on the device, timed (synchronised), scored by a judge
    prompts = facts.train[:16, :3]                       # CPU prompts, as the notebook passes them
    for remasking in ("random", "low_confidence"):
        g = torch.Generator().manual_seed(0)             # a CPU generator: draws move to the device
        seconds, samples = lm_eval.median_seconds(
            lambda: mdm.generate(model, prompts, 4, facts.mask_id, steps=4, remasking=remasking,
                                 temperature=1.0, generator=g), repeats=2)
        assert samples.device.type == DEVICE and samples.shape == (16, 4)
        speed(f"generate ({remasking})", 16 * 4, seconds, "tokens")
    judge = arm
    finite(lm_eval.generative_perplexity(judge, prompts, samples), lm_eval.sample_entropy(samples))

    # a bf16, accumulated MDM run with per-sample noise; the validation ELBO
    torch.manual_seed(0)
    m = models.tiny_llama(facts.vocab_size, d_model=64, n_layers=2, n_heads=4, is_causal=False)
    h, _ = _timed_train(m, train.row_batches(facts.train, 32, 0),
                        train.TrainConfig(steps=STEPS, precision="bf16", grad_accum=2),
                        loss_fn=mdm.loss_fn("mdm", facts.mask_id, sample_noise=True))
    finite(trained(h), mdm.elbo_loss(m, facts.train.flatten().numpy(), facts.mask_id, seq_len=7, n_mc=2))
    on_device(m)


def test_03_smdm_budget_run(speed):
    from lib.smdm import mdm
    tokens = _tokens(30_000, vocab=63)
    per_step = mdm.flops_per_token(d_model=64, n_layers=2, n_heads=4, vocab_size=64, seq_len=64).training * 16 * 64
    t0 = time.perf_counter()
    for kind in mdm.KINDS:
        row = mdm.budget_run(kind, tokens, tokens[:4096], 64, d_model=64, n_layers=2, n_heads=4,
                             budget=per_step * max(1, STEPS // 2), seq_len=64, batch_size=16, lr=1e-3, seed=0,
                             n_mc=2, shifted={"shift": tokens[-4096:]})
        finite(row["val_loss"], row["shift_loss"])
    speed("budget runs", 2, time.perf_counter() - t0, "runs")


# ------------------------------------------------------------------------------------------ 06_attention_sink
def test_06_attention_sink_training_and_the_metric(speed):
    from transformers import GPT2Config, GPT2LMHeadModel
    from lib.core import attention, models, train
    from lib.attention_sink import sink
    t0 = time.perf_counter()
    model, hist = sink.train_and_measure(sink.SinkRun(steps=STEPS, eval_every=max(1, STEPS // 2), cooldown=2,
                                                      kv_bias="key"))
    finite(hist.val_loss, hist.alpha1, hist.sink1)
    on_device(model)
    speed("sink run", STEPS + 2, time.perf_counter() - t0, "steps")
    for variant in ("sigmoid", "sigmoid_norm"):
        m, h = sink.train_and_measure(sink.SinkRun(steps=2, eval_every=2, variant=variant))
        finite(h.val_loss)
    # notebook 1's hub model (gpt2) → a tiny GPT-2 from its config, eager attention, on the device
    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=100, n_positions=64,
                                      attn_implementation="eager")).to(DEVICE).eval()
    probe = torch.randint(0, 100, (8, 64))
    maps = attention.attention_maps(gpt2, probe)
    assert maps.shape == (8, 2, 2, 64, 64) and maps.device == probe.device
    finite(attention.sink_rate(maps, 0.3))
    # notebook 4: a natural-text run with the metric as its evaluation (CPU probe, device model)
    tokens = _tokens(vocab=40)
    probe = sink.probe_windows(tokens, 16, 64, 40)
    torch.manual_seed(0)
    lm = models.tiny_llama(41, d_model=64, n_layers=2, n_heads=4, max_len=128,
                           attn_implementation=attention.VARIANTS["softmax"], tie_embeddings=False)
    batches = sink.prepend_bos(train.lm_batches(tokens, 16, 63, 0), 40)
    h, seconds = _timed_train(lm, batches, train.TrainConfig(steps=STEPS, eval_every=STEPS),
                              evaluate=lambda m: sink.measure(m, probe))
    finite(trained(h), h.val_loss.dropna(), h.sink1.dropna())
    speed("natural-text train", STEPS * 16 * 64, seconds, "tokens")


# ------------------------------------------------------------------------------------------ 10_vocab_scaling
def test_10_vocab_scaling_isoflop_run(speed):
    from lib.vocab_scaling import laws as vs
    tokens = _tokens(30_000, vocab=256)
    wins = np.stack([tokens[i * 63:i * 63 + 64] for i in range(64)])        # 8 blocks of 8 windows
    held = vs.HeldOutBlocks(wins, np.ones_like(wins, dtype=bool), np.arange(64) // 8, np.full(8, 4 * 8 * 63),
                            np.full(8, 8 * 63), np.zeros(8))
    steps = max(STEPS, 2)
    fpt = vs.tiny_llama_flops_per_token(d_model=64, n_layers=2, vocab_size=256, seq_len=64, head_dim=16)
    t0 = time.perf_counter()
    row, nll = vs.train_to_budget(tokens, held, vocab_size=256, d_model=64, budget=fpt * 16 * 64 * steps,
                                  batch_size=16, seq_len=64, lr=2e-3, seed=0)
    finite(nll, [row["bpc"]])
    assert row["steps"] == steps and nll.shape == (8,)
    speed("IsoFLOP run", row["tokens"], time.perf_counter() - t0, "tokens")
    if DEVICE == "cuda":
        assert torch.cuda.max_memory_allocated() > 0      # the run used the GPU
