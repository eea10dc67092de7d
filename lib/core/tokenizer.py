"""Tokenizers trained locally with the ``tokenizers`` library and wrapped as ``PreTrainedTokenizerFast``
(``save_pretrained`` / ``PreTrainedTokenizerFast.from_pretrained`` work as usual)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

EOS = "<|endoftext|>"


def char_tokenizer(text: str) -> PreTrainedTokenizerFast:
    """One token per character of ``text`` (sorted), plus ``<unk>`` and the end-of-text token."""
    chars = sorted(set(text))
    vocab = {"<unk>": 0, EOS: 1} | {c: i + 2 for i, c in enumerate(chars)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token=EOS)


def bpe_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE (GPT-2 style, 256 byte symbols + merges) with ``vocab_size`` entries
    including the end-of-text token, trained on ``texts``."""
    if vocab_size < 258:
        raise ValueError(f"vocab_size must be >= 258 (256 bytes + end-of-text + 1 merge), got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS)


def encode(tokenizer: PreTrainedTokenizerFast, text: str, *, chunk_chars: int = 1 << 16) -> np.ndarray:
    """Token ids of a long ``text`` as an int64 array, encoded in line-aligned chunks (fast; tokens
    never cross a chunk boundary, which splits at newlines)."""
    chunks, start = [], 0
    while start < len(text):
        end = text.find("\n", start + chunk_chars)
        end = len(text) if end < 0 else end + 1
        chunks.append(text[start:end])
        start = end
    encoded = tokenizer.backend_tokenizer.encode_batch(chunks, add_special_tokens=False)
    return np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encoded] or [np.zeros(0, np.int64)])
