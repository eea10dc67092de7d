"""DPO / IPO / SLiC losses and the sequence log-prob helper, including a check against TRL."""
import tempfile
import warnings

import pytest
import torch
import torch.nn.functional as F

from lib.core import preference


def _logps(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, generator=g) for _ in range(4)]


def test_losses_match_their_formulas():
    pc, pr, rc, rr = _logps()
    h = (pc - rc) - (pr - rr)
    torch.testing.assert_close(preference.dpo_loss(pc, pr, rc, rr, 0.1), -F.logsigmoid(0.1 * h))
    torch.testing.assert_close(preference.ipo_loss(pc, pr, rc, rr, 0.1), (h - 5.0) ** 2)
    torch.testing.assert_close(preference.slic_loss(pc, pr, rc, rr, 0.2), torch.clamp(1 - 0.2 * h, min=0))


def test_dpo_at_zero_margin_is_log2_and_gradient_favours_chosen():
    pc = torch.zeros(3, requires_grad=True)
    pr = torch.zeros(3)
    loss = preference.dpo_loss(pc, pr, torch.zeros(3), torch.zeros(3), 0.1)
    torch.testing.assert_close(loss, torch.full((3,), torch.log(torch.tensor(2.0)).item()))
    loss.sum().backward()
    assert (pc.grad < 0).all()          # raising log pi(chosen) lowers the loss


def test_preference_loss_rejects_unknown_kind_and_bad_beta():
    pc, pr, rc, rr = _logps()
    with pytest.raises(ValueError, match="loss must be one of"):
        preference.preference_loss("kto", pc, pr, rc, rr)
    with pytest.raises(ValueError, match="beta"):
        preference.preference_loss("dpo", pc, pr, rc, rr, beta=0.0)
    assert preference.uses_average("ipo") and not preference.uses_average("dpo")


def _tiny_model(vocab, seed):
    from lib.core import models
    torch.manual_seed(seed)
    return models.tiny_llama(vocab, d_model=32, n_layers=2, n_heads=4, max_len=64).eval()


def test_sequence_logps_sums_response_tokens_and_ignores_padding():
    model = _tiny_model(11, 0)
    ids = torch.tensor([[1, 2, 3, 4, 5, 0, 0], [1, 2, 6, 7, 8, 9, 10]])
    attn = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1] * 7])
    resp = torch.tensor([[0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 1]])
    with torch.no_grad():
        got = preference.sequence_logps(model, ids, resp, attn)
        avg = preference.sequence_logps(model, ids, resp, attn, average=True)
        for i, n_prompt, n in [(0, 2, 5), (1, 3, 7)]:
            lp = torch.log_softmax(model(ids[i:i + 1, :n]).logits[0, :-1], -1)
            want = lp.gather(-1, ids[i, 1:n, None])[:, 0][n_prompt - 1:].sum()
            torch.testing.assert_close(got[i], want, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(avg[i], want / (n - n_prompt), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="response_mask"):
        preference.sequence_logps(model, ids, resp[:, :-1])


def test_losses_match_trl_dpo_trainer():
    """Our losses on our sequence log-probs equal TRL's DPOTrainer (loss_type sigmoid / ipo / hinge)
    on a tiny random Llama with a WordLevel tokenizer built in memory (no downloads)."""
    pytest.importorskip("trl")
    warnings.filterwarnings("ignore")
    from datasets import Dataset
    from tokenizers import Tokenizer, models as tk_models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from trl import DPOConfig, DPOTrainer

    words = "the a cat dog sat ran on mat fast slow good bad is was big small".split()
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tk = Tokenizer(tk_models.WordLevel(vocab, unk_token="<pad>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>")
    data = {"prompt": ["the cat sat on", "a dog ran"], "chosen": [" the mat", " fast good"],
            "rejected": [" a dog is bad", " slow"]}

    def batch(field):   # prompt + completion + EOS (TRL appends it), right-padded
        rows, resp = [], []
        for p, c in zip(data["prompt"], data[field]):
            pi = tok(p, add_special_tokens=False)["input_ids"]
            ci = tok(c, add_special_tokens=False)["input_ids"] + [1]
            rows.append(pi + ci)
            resp.append([0] * len(pi) + [1] * len(ci))
        T = max(map(len, rows))
        pad = lambda r: r + [0] * (T - len(r))
        ids = torch.tensor([pad(r) for r in rows])
        attn = torch.tensor([pad([1] * len(r)) for r in rows])
        return ids, torch.tensor([pad(r) for r in resp]), attn

    for trl_name, kind in [("sigmoid", "dpo"), ("ipo", "ipo"), ("hinge", "slic")]:
        policy, ref = _tiny_model(len(vocab), 0), _tiny_model(len(vocab), 1)   # fresh: a trainer may change them
        for m in (policy, ref):
            m.config.pad_token_id, m.config.eos_token_id, m.config.bos_token_id = 0, 1, 2
        with tempfile.TemporaryDirectory() as d:
            args = DPOConfig(output_dir=d, beta=0.1, loss_type=trl_name, per_device_train_batch_size=2,
                             report_to=[], use_cpu=True, max_steps=1, save_strategy="no",
                             disable_tqdm=True)
            trainer = DPOTrainer(model=policy, ref_model=ref, args=args,
                                 train_dataset=Dataset.from_dict(data), processing_class=tok)
            trl_batch = next(iter(trainer.get_train_dataloader()))
            with torch.no_grad():
                trl_loss = trainer.compute_loss(trainer.model, trl_batch).item()
        avg = preference.uses_average(kind)
        with torch.no_grad():
            lp = {(m_name, f): preference.sequence_logps(m, *batch(f), average=avg)
                  for m_name, m in [("pi", policy), ("ref", ref)] for f in ("chosen", "rejected")}
            ours = preference.preference_loss(kind, lp["pi", "chosen"], lp["pi", "rejected"],
                                              lp["ref", "chosen"], lp["ref", "rejected"], 0.1).mean().item()
        assert ours == pytest.approx(trl_loss, rel=1e-5, abs=1e-5), (trl_name, ours, trl_loss)
