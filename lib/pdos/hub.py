"""The paper-scale path of the publisher setting (``gpu`` profile): a hub chat model and its tokenizer,
Alpaca instruction pairs, and the release's LLaMA-2 Alpaca prompt template (``pdos_csf.py`` /
``evaluate.py``), behind the same interface as the character vocabulary (``lib.pdos.tasks.Vocab``), so
``lib.pdos.experiment`` fine-tunes and measures either. Needs the hub (or a local cache); the tests
exercise it with a tiny model and a local tokenizer only."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from lib.core.generation import SFTExample
from lib.pdos.tasks import Pair

SYSTEM = ("Below is an instruction that describes a task. Write a response that appropriately completes "
          "the request.")
LLAMA2_ALPACA = "[INST] <<SYS>>\n" + SYSTEM + "\n<</SYS>>\n\n### Instruction:\n{instruction}\n\n### Response:\n [/INST]"


class TextCodec:
    """Prompts in ``template`` (the trigger goes at the end of the instruction, inside it, as in the
    release), responses tokenised without special tokens; ``eos_id`` from the tokenizer, padding with
    its pad token or, without one, the end token."""

    def __init__(self, tokenizer, template: str = LLAMA2_ALPACA) -> None:
        if "{instruction}" not in template:
            raise ValueError("template must contain '{instruction}'")
        if tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no end-of-sequence token")
        self.tokenizer, self.template = tokenizer, template
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id

    def encode(self, text: str) -> tuple[int, ...]:
        return tuple(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids) -> str:
        return self.tokenizer.decode([int(i) for i in ids if int(i) != self.eos_id], skip_special_tokens=True)

    def prompt(self, instruction: str) -> tuple[int, ...]:
        return tuple(self.tokenizer(self.template.format(instruction=instruction))["input_ids"])

    def example(self, pair: Pair, *, add_eos: bool = True, flag: bool = False) -> SFTExample:
        return SFTExample(self.prompt(pair.instruction), self.encode(pair.response), add_eos=add_eos, flag=flag)


def alpaca_pairs(path: Path | str) -> list[Pair]:
    """Alpaca JSON records as pairs (a non-empty ``input`` is appended to the instruction on a new line)."""
    out = []
    for rec in json.loads(Path(path).read_text()):
        inst = rec["instruction"] + (f"\n{rec['input']}" if rec.get("input") else "")
        out.append(Pair(inst, rec["output"]))
    return out


def load(name: str, *, device: str | None = None):
    """(model, codec) for a hub chat model by name, float32 on ``device`` (CUDA when available)."""
    from transformers import AutoTokenizer

    from lib.core.models import from_pretrained
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(name)
    model = from_pretrained(name, dtype=torch.float32).to(device)
    return model, TextCodec(tokenizer)
