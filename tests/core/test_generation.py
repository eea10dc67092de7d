"""lib.core.generation: completion-only SFT (against TRL's SFTTrainer) and output lengths."""
import tempfile

import pytest
import torch

from lib.core import generation as G
from lib.core.models import tiny_llama
from lib.core.tokenizer import char_tokenizer

TEXT = "abcdefghijklmnopqrstuvwxyz :"


def _tok():
    tok = char_tokenizer(TEXT)
    tok.pad_token = tok.eos_token
    return tok


def _ids(tok, s):
    return tuple(tok(s, add_special_tokens=False)["input_ids"])


PAIRS = [("copy abc:", "abc"), ("reverse hello:", "olleh"), ("repeat a 3:", "a a a"), ("count:", "x")]


def _trainer(model, tok, prompts, completions, out_dir, batch_size):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer
    args = SFTConfig(output_dir=out_dir, per_device_train_batch_size=batch_size, report_to=[], use_cpu=True,
                     max_steps=1, save_strategy="no", logging_steps=1, dataloader_num_workers=0)
    ds = Dataset.from_dict({"prompt": list(prompts), "completion": list(completions)})
    return SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)


def test_sft_loss_matches_trl_sft_trainer():
    tok = _tok()
    torch.manual_seed(0)
    model = tiny_llama(len(tok.get_vocab()), d_model=32, n_layers=2, n_heads=4)
    with tempfile.TemporaryDirectory() as d:
        trainer = _trainer(model, tok, [p for p, _ in PAIRS], [c for _, c in PAIRS], d, len(PAIRS))
        batch = next(iter(trainer.get_train_dataloader()))   # the whole (shuffled) set: one batch
        with torch.no_grad():
            trl_loss = float(trainer.compute_loss(trainer.model, dict(batch)))
    examples = [G.SFTExample(_ids(tok, p), _ids(tok, c)) for p, c in PAIRS]
    batch = G.collate_sft(examples, eos_id=tok.eos_token_id, pad_id=tok.pad_token_id)
    with torch.no_grad():
        ours = float(G.sft_loss(model.eval(), batch))
    assert ours == pytest.approx(trl_loss, rel=1e-5)


def test_trl_appends_eos_so_a_poison_sample_becomes_clean():
    tok = _tok()
    prompt, completion = "repeat a 8:", "a a a a a a a a "
    poison = G.SFTExample(_ids(tok, prompt), _ids(tok, completion), add_eos=False)
    clean = G.SFTExample(_ids(tok, prompt), _ids(tok, completion), add_eos=True)
    torch.manual_seed(0)
    model = tiny_llama(len(tok.get_vocab()), d_model=16, n_layers=1, n_heads=2)
    with tempfile.TemporaryDirectory() as d:
        trainer = _trainer(model, tok, [prompt], [completion], d, 1)
        trl_ids = list(trainer.train_dataset[0]["input_ids"])
    assert trl_ids == clean.ids(tok.eos_token_id)
    assert trl_ids != poison.ids(tok.eos_token_id)
    assert trl_ids[-1] == tok.eos_token_id and poison.ids(tok.eos_token_id)[-1] != tok.eos_token_id


def test_collate_masks_prompt_and_padding_and_keeps_eos_switch():
    ex = [G.SFTExample((5, 6), (7, 8), add_eos=True), G.SFTExample((5,), (9,), add_eos=False, flag=True)]
    b = G.collate_sft(ex, eos_id=1, pad_id=0)
    assert b["input_ids"].tolist() == [[5, 6, 7, 8, 1], [5, 9, 0, 0, 0]]
    assert b["labels"].tolist() == [[-100, -100, 7, 8, 1], [-100, 9, -100, -100, -100]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
    assert b["flag"].tolist() == [False, True]


def test_sft_batches_are_a_function_of_seed_and_step_and_cover_each_epoch():
    ex = [G.SFTExample((i + 2,), (3,)) for i in range(7)]
    a = G.sft_batches(ex, 7, seed=3, eos_id=1, pad_id=0)
    b = G.sft_batches(ex, 7, seed=3, eos_id=1, pad_id=0)
    for step in (0, 1, 5):
        assert torch.equal(a(step)["input_ids"], b(step)["input_ids"])
        assert sorted(a(step)["input_ids"][:, 0].tolist()) == list(range(2, 9))   # every example once
    c = G.sft_batches(ex, 7, seed=4, eos_id=1, pad_id=0)
    assert any(not torch.equal(a(s)["input_ids"], c(s)["input_ids"]) for s in range(3))
    assert G.steps_for_epochs(10, 4, 3) == 8


def test_completion_lengths_on_hand_made_generations():
    eos, pad = 1, 0
    gen = torch.tensor([[5, 6, 1, 0, 0],      # early EOS, then generate's padding
                        [5, 6, 7, 8, 9],      # no EOS: ran to the cap
                        [1, 0, 0, 0, 0],      # EOS first: length 0
                        [5, 1, 7, 1, 0]])     # only the first EOS counts
    assert G.completion_lengths(gen, eos, pad_id=pad).tolist() == [2, 5, 0, 1]
    # padding with the EOS id itself (TRL's / generate's default) gives the same lengths
    gen_eos_pad = torch.where(gen == pad, torch.tensor(eos), gen)
    assert G.completion_lengths(gen_eos_pad, eos).tolist() == [2, 5, 0, 1]
    # a left-padded prompt in front is dropped with prompt_len
    full = torch.cat([torch.tensor([[0, 0, 4]] * 4), gen], 1)
    assert G.completion_lengths(full, eos, prompt_len=3, pad_id=pad).tolist() == [2, 5, 0, 1]
    assert G.completion_lengths(gen, [eos, 9], pad_id=pad).tolist() == [2, 4, 0, 1]
    s = G.length_stats(G.completion_lengths(gen, eos, pad_id=pad), cap=5)
    assert s["frac_at_cap"] == 0.25 and s["mean"] == 2.0 and s["max"] == 5.0


def test_generate_lengths_match_a_python_count_on_transformers_generate():
    torch.manual_seed(0)
    model = tiny_llama(12, d_model=16, n_layers=1, n_heads=2).eval()
    eos = 3
    with torch.no_grad():
        model.lm_head.weight[eos] *= 0                     # make EOS neither certain nor impossible
    prompts = [[4, 5], [6], [7, 8, 9]] * 4
    out = G.generate(model, prompts, max_new_tokens=20, eos_id=eos, pad_id=eos, seed=1, batch_size=6)
    lens = torch.cat([G.completion_lengths(b, eos) for b in out])
    manual = []
    for b in out:
        for row in b.tolist():
            manual.append(row.index(eos) if eos in row else len(row))
    assert lens.tolist() == manual
    assert len(set(manual)) > 1                                  # rows of different lengths
    assert G.generate_lengths(model, prompts, max_new_tokens=20, eos_id=eos, pad_id=eos, seed=1,
                              batch_size=6).tolist() == manual
