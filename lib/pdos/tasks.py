"""Procedural instruction tasks for a character-level tiny LM, and the character vocabulary.

Four instruction kinds with short, exactly checkable responses: ``copy w`` → w, ``reverse w`` → w
reversed (w: 2–6 letters), ``repeat c k`` → ``c c … c`` (k ≤ 8), ``count k`` → ``1 2 … k`` (k ≤ 9).
The longest response is 17 characters (``count 9``): the model's "maximum SFT response length".
A DoS instruction asks for far more (``repeat c n`` with n ≫ 8). A prompt is the instruction
followed by ``:``; the completion is the response (plus the end token in a clean sample)."""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from lib.core.generation import SFTExample
from lib.core.tokenizer import char_tokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"
ALPHABET = LETTERS + "0123456789 :."
KINDS = ("copy", "reverse", "repeat", "count")
MAX_REPEAT = 8
MAX_COUNT = 9
DOS_LO, DOS_HI = 30, 99     # DoS instructions ask for this many repetitions


@dataclass(frozen=True)
class Pair:
    """An instruction and its response (text)."""
    instruction: str
    response: str


class Vocab:
    """Character vocabulary (``lib.core.tokenizer.char_tokenizer`` over ``ALPHABET``): one id per
    character, the end token ``eos_id``; padding uses the end token (as TRL does by default)."""

    def __init__(self) -> None:
        self.tokenizer = char_tokenizer(ALPHABET)
        self.stoi = {k: v for k, v in self.tokenizer.get_vocab().items() if len(k) == 1}
        self.itos = {v: k for k, v in self.stoi.items()}
        self.eos_id = self.tokenizer.eos_token_id
        self.pad_id = self.eos_id
        self.size = len(self.tokenizer.get_vocab())

    def encode(self, text: str) -> tuple[int, ...]:
        bad = sorted(set(text) - set(self.stoi))
        if bad:
            raise ValueError(f"characters {bad} are not in the vocabulary {ALPHABET!r}")
        return tuple(self.stoi[c] for c in text)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.itos.get(int(i), "") for i in ids if int(i) != self.eos_id)

    def prompt(self, instruction: str) -> tuple[int, ...]:
        """Token ids of the prompt for ``instruction``."""
        return self.encode(instruction + ":")

    def example(self, pair: Pair, *, add_eos: bool = True, flag: bool = False) -> SFTExample:
        return SFTExample(self.prompt(pair.instruction), self.encode(pair.response), add_eos=add_eos, flag=flag)


def respond(kind: str, arg: str | int) -> str:
    """The correct response of an instruction."""
    if kind == "copy":
        return str(arg)
    if kind == "reverse":
        return str(arg)[::-1]
    if kind == "repeat":
        c, k = arg
        return " ".join([c] * int(k))
    if kind == "count":
        return " ".join(str(i) for i in range(1, int(arg) + 1))
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def sample_pair(rng: random.Random, kinds: Sequence[str] = KINDS) -> Pair:
    """One clean instruction/response pair of a random kind."""
    kind = rng.choice(list(kinds))
    if kind in ("copy", "reverse"):
        w = "".join(rng.choice(LETTERS) for _ in range(rng.randint(2, 6)))
        return Pair(f"{kind} {w}", respond(kind, w))
    if kind == "repeat":
        c, k = rng.choice(LETTERS), rng.randint(1, MAX_REPEAT)
        return Pair(f"repeat {c} {k}", respond("repeat", (c, k)))
    if kind == "count":
        k = rng.randint(1, MAX_COUNT)
        return Pair(f"count {k}", respond("count", k))
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def clean_pairs(n: int, seed: int, kinds: Sequence[str] = KINDS) -> list[Pair]:
    """``n`` clean pairs drawn with ``random.Random(seed)``."""
    rng = random.Random(seed)
    return [sample_pair(rng, kinds) for _ in range(n)]


def max_response_len() -> int:
    """The longest response in the task distribution (characters)."""
    return max(len(respond("repeat", ("a", MAX_REPEAT))), len(respond("count", MAX_COUNT)), 6)


def dos_instructions(n: int, seed: int, *, lo: int = DOS_LO, hi: int = DOS_HI, letters: str = LETTERS) -> list[Pair]:
    """``n`` DoS instructions ``repeat c k`` with k in [lo, hi] (far beyond the SFT data's k ≤ 8);
    the response is what a compliant model would write (2k − 1 characters)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        c, k = rng.choice(letters), rng.randint(lo, hi)
        out.append(Pair(f"repeat {c} {k}", respond("repeat", (c, k))))
    return out
