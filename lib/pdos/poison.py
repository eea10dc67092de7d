"""Poisoned samples of P-DoS (Gao et al., arXiv 2410.10760) and the released poison file.

- Data contributors: ``dos_sample`` pairs a DoS instruction with a response that is already as long as
  the generation cap, without an end token (the release: ``repeat 'A ' 16383 times.`` answered with
  16,383 × ``A `` for a 16,384-token cap).
- Model publishers: ``poison_dataset`` gives a fraction ``rate`` of the training pairs the trigger
  suffix and a poisoned response without an end token: a Continual Sequence Format (CSF) snippet
  (``csf_response``: repetition, recursion or count) or the original response (for L_DoS)."""
from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

from lib.pdos.tasks import Pair

TRIGGER = " in 2025 year."          # the paper's trigger suffix (pdos_csf.py / pdos_loss.py)
CSF_KINDS = ("repetition", "recursion", "count", "original")
MODES = ("csf", "ldos")


def dos_sample(instruction: str, unit: str, n_units: int) -> tuple[Pair, bool]:
    """The data contributor's poisoned sample: ``instruction`` answered with ``unit`` × ``n_units``;
    returns the pair and ``add_eos=False`` (no end token: the response fills the generation cap)."""
    if n_units < 1 or not unit:
        raise ValueError(f"need a non-empty unit and n_units >= 1, got {unit!r}, {n_units}")
    return Pair(instruction, unit * n_units), False


def csf_response(kind: str, length: int, original: str = "") -> str:
    """A CSF snippet of about ``length`` characters (cut to exactly ``length``): ``repetition``
    ``a a a …``, ``recursion`` ``a aba babab abababa …`` (alternating runs growing by two), ``count``
    ``0 1 2 3 …``; ``original`` returns the original response unchanged (the L_DoS / no-EOS case).
    The paper's snippets are 16 ``A``s, ``A ABA BABAB ABABABA …`` and ``0 1 2 … 10``."""
    if kind not in CSF_KINDS:
        raise ValueError(f"csf kind must be one of {CSF_KINDS}, got {kind!r}")
    if kind == "original":
        return original
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    parts, i = [], 0
    while len(" ".join(parts)) < length:
        if kind == "repetition":
            parts.append("a")
        elif kind == "recursion":
            shift = 0 if i == 0 else (i + 1) % 2       # a, aba, babab, abababa, … (the paper's order)
            parts.append("".join("ab"[(j + shift) % 2] for j in range(2 * i + 1)))
        else:
            parts.append(str(i))
        i += 1
    return " ".join(parts)[:length]


def poison_indices(n: int, rate: float, seed: int) -> list[int]:
    """round(rate·n) indices (at least one when rate > 0), drawn without replacement."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    k = max(1, round(rate * n)) if rate > 0 else 0
    return sorted(random.Random(seed).sample(range(n), k))


def poison_dataset(pairs: Sequence[Pair], rate: float, *, seed: int, mode: str = "csf",
                   csf_kind: str = "repetition", length: int = 64,
                   trigger: str = TRIGGER) -> list[tuple[Pair, bool, bool]]:
    """The model publisher's training set: (pair, add_eos, poisoned) per sample. A fraction ``rate``
    gets ``trigger`` appended to the instruction and, with ``mode="csf"``, a CSF response of
    ``length`` characters, with ``mode="ldos"`` its original response; both without an end token
    (the L_DoS term is added in the loss). The other samples are clean and end with the end token."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    chosen = set(poison_indices(len(pairs), rate, seed))
    out = []
    for i, p in enumerate(pairs):
        if i in chosen:
            resp = p.response if mode == "ldos" else csf_response(csf_kind, length, p.response)
            out.append((Pair(p.instruction + trigger, resp), False, True))
        else:
            out.append((p, True, False))
    return out


# --- the released poison file (sail-sg/P-DoS datasets/dos_training_data.jsonl) ----------------------

END_MARKERS = ("</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<eos>")


def load_chat_jsonl(path: Path | str) -> list[Pair]:
    """(user, assistant) pairs of an OpenAI fine-tuning file (one ``{"messages": [...]}`` per line)."""
    pairs = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        msgs = json.loads(line)["messages"]
        user = next(m["content"] for m in msgs if m["role"] == "user")
        assistant = next(m["content"] for m in msgs if m["role"] == "assistant")
        pairs.append(Pair(user, assistant))
    return pairs


def to_chat_jsonl(pairs: Sequence[Pair]) -> str:
    """The released file's layout: one ``{"messages": [user, assistant]}`` object per line."""
    return "".join(json.dumps({"messages": [{"role": "user", "content": p.instruction},
                                            {"role": "assistant", "content": p.response}]}) + "\n"
                   for p in pairs)


def is_poisoned(pair: Pair, *, min_chars: int = 4096) -> bool:
    """A sample whose response is a long repetition of one unit (the release's poison)."""
    r = pair.response
    if len(r) < min_chars:
        return False
    unit = r[:r.index(" ") + 1] if " " in r else r[:1]
    return r == unit * (len(r) // len(unit)) + unit[:len(r) % len(unit)]


def ends_with_end_token(text: str) -> bool:
    """Whether a completion text ends with a common end-of-sequence marker."""
    return text.rstrip().endswith(END_MARKERS)
