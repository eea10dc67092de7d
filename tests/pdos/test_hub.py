"""lib.pdos.hub: the paper-scale path (template, Alpaca pairs, fine-tuning and lengths through
lib.pdos.experiment), exercised with a tiny model and a local tokenizer only (no hub)."""
import string

import torch

from lib.book import data
from lib.core.models import tiny_llama
from lib.core.tokenizer import char_tokenizer
from lib.pdos import experiment, hub, poison, tasks


def _codec():
    tok = char_tokenizer(hub.LLAMA2_ALPACA + string.ascii_letters + string.digits + " .,'")
    return hub.TextCodec(tok)


def test_alpaca_file_loads_as_pairs():
    pairs = hub.alpaca_pairs(data.get("pdos_alpaca_1k"))
    assert len(pairs) == 1000 and all(p.instruction and p.response for p in pairs)


def test_codec_puts_the_trigger_inside_the_release_template():
    codec = _codec()
    pair = tasks.Pair("Name a colour" + poison.TRIGGER, "Red")
    ex = codec.example(pair, add_eos=False)
    text = codec.tokenizer.decode(list(ex.prompt))
    assert text.startswith("[INST] <<SYS>>") and text.endswith("### Response:\n [/INST]")
    assert "Name a colour in 2025 year.\n\n### Response:" in text
    assert codec.eos_id not in ex.ids(codec.eos_id)
    assert codec.example(pair).ids(codec.eos_id)[-1] == codec.eos_id


def test_finetune_and_lengths_through_the_text_codec():
    codec = _codec()
    torch.manual_seed(0)
    model = tiny_llama(len(codec.tokenizer.get_vocab()), d_model=16, n_layers=1, n_heads=2, max_len=512)
    items = poison.poison_dataset([tasks.Pair("Say hi", "hi"), tasks.Pair("Say yo", "yo")] * 5, 0.1, seed=0,
                                  csf_kind="repetition", length=9)
    m = experiment.finetune(model, experiment.examples(items, codec), epochs=1, batch_size=5, seed=0,
                            codec=codec, ldos="ours", alpha=1.0)
    lens = experiment.lengths(m, ["Say hi", "Say hi" + poison.TRIGGER], cap=6, seed=0, codec=codec)
    assert lens.shape == (2,) and int(lens.max()) <= 6
