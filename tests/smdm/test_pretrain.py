import dataclasses
import json

import numpy as np
import pytest
import torch

from lib.book import data
from lib.core import models
from lib.core import tokenizer as tok
from lib.smdm import mdm as smdm
from lib.smdm import pretrain
from lib.smdm import reverse_curse as rc

SIZE = dict(d_model=16, n_layers=1, n_heads=2)


@pytest.fixture(scope="module")
def shared():
    text = data.text("tinystories_train", max_chars=30_000)
    lines = rc.load_berglund(2, lowercase=True).lines
    return text, lines, pretrain.shared_tokenizer(text, lines, 400)


def test_shared_tokenizer_encodes_both_corpora(shared):
    text, lines, tokenizer = shared
    facts = rc.load_berglund(2, tokenizer=tokenizer, lowercase=True)
    assert facts.tokenizer is tokenizer and facts.lines == lines and facts.mask_id == len(tokenizer)
    assert all(p == p.lower() and a == a.lower() for pairs in facts.queries.values() for p, a in pairs)
    for sample in (text[:2000], "\n".join(lines[:20])):
        ids = tok.encode(tokenizer, sample)
        assert tokenizer.decode(ids.tolist()) == sample
        assert len(ids) < 0.6 * len(sample)          # merges learned on both corpora, not bytes alone


@pytest.mark.parametrize("kind", ["arm", "mdm"])
def test_finetuning_starts_from_the_given_weights(shared, kind):
    _, _, tokenizer = shared
    facts = rc.load_berglund(1, tokenizer=tokenizer, lowercase=True)
    torch.manual_seed(0)
    init = models.tiny_llama(facts.vocab_size, **SIZE, max_len=64, is_causal=kind == "arm", tie_embeddings=False)
    before = {k: v.clone() for k, v in init.state_dict().items()}
    tuned, history = smdm.train_model(kind, facts, seed=1, steps=2, batch_size=4, lr=1e-6, init=init, **SIZE)
    scratch, _ = smdm.train_model(kind, facts, seed=1, steps=2, batch_size=4, lr=1e-6, **SIZE)
    assert tuned is not init and len(history) == 2
    for k, v in init.state_dict().items():
        assert torch.equal(v, before[k]), k                                      # init left unchanged
        assert (tuned.state_dict()[k] - v).abs().max() < 1e-4, k                 # tuned from init
    assert max((scratch.state_dict()[k] - v).abs().max() for k, v in init.state_dict().items()) > 1e-2
    with pytest.raises(ValueError, match="init"):
        smdm.train_model("mdm" if kind == "arm" else "arm", facts, seed=1, steps=1, batch_size=4, lr=1e-3,
                         init=init, **SIZE)


def test_heldout_loss_and_continuation(shared):
    text, _, tokenizer = shared
    ids = tok.encode(tokenizer, text)
    vocab = len(tokenizer) + 1
    for kind in smdm.KINDS:
        model = smdm.train_on_tokens(kind, ids, vocab, steps=2, seq_len=32, batch_size=4, lr=1e-3, seed=0, **SIZE)
        loss = smdm.heldout_loss(kind, model, ids, seq_len=32, n_mc=1, max_tokens=256)
        assert np.isfinite(loss) and 0 < loss < 2 * np.log(vocab)
        assert isinstance(pretrain.continue_text(kind, model, tokenizer, "once upon a time", 5), str)
    with pytest.raises(ValueError, match="kind"):
        smdm.heldout_loss("rnn", model, ids, seq_len=32)


def test_finetune_scores_rows_and_record_round_trip(shared, tmp_path):
    _, _, tokenizer = shared
    facts = rc.load_berglund(1, tokenizer=tokenizer, lowercase=True)
    facts = dataclasses.replace(facts, queries={fmt: pairs[:2] for fmt, pairs in facts.queries.items()})
    scores = pretrain.finetune_scores(facts, {}, seed=0, arm_steps=1, mdm_steps=1, batch_size=4, lr=1e-3,
                                      cfg_scale=0.8, **SIZE)
    assert len(scores) == 3 * 4 and set(scores.model) == {"ARM", "MDM", "MDM + CFG 0.8"}
    assert scores.accuracy.between(0, 1).all() and (scores.n_queries == 2).all()
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"settings": {"n_facts": 1}, "provenance": {"command": "x"},
                                "pretrain": [dict(seed=0, kind="arm", val_loss=3.0)],
                                "results": scores.assign(seed=0, start="scratch").to_dict("records")}))
    rec = pretrain.load_record(path)
    assert rec.settings == {"n_facts": 1} and len(rec.results) == 12 and rec.pretrain.val_loss[0] == 3.0
    with pytest.raises(FileNotFoundError, match="benchmarks"):
        pretrain.load_record(tmp_path / "missing.json")
