import numpy as np
import pytest
from transformers import PreTrainedTokenizerFast

from lib.core import tokenizer

TEXT = "once upon a time, a cat sat.\n\nthe end. ünïcode ✓\n" * 20


def test_char_tokenizer_round_trips_and_has_one_id_per_character():
    tok = tokenizer.char_tokenizer(TEXT)
    ids = tokenizer.encode(tok, TEXT)
    assert len(ids) == len(TEXT) and tok.decode(ids) == TEXT
    assert len(tok) == len(set(TEXT)) + 2


def test_bpe_round_trips_compresses_and_saves(tmp_path):
    tok = tokenizer.bpe_tokenizer([TEXT], vocab_size=300)
    ids = tokenizer.encode(tok, TEXT, chunk_chars=50)
    assert tok.decode(ids) == TEXT and len(ids) < len(TEXT.encode())
    assert ids.dtype == np.int64 and len(tok) <= 300
    tok.save_pretrained(tmp_path)
    again = PreTrainedTokenizerFast.from_pretrained(tmp_path)
    assert again.decode(again(TEXT)["input_ids"]) == TEXT


def test_chunked_encoding_equals_line_by_line():
    tok = tokenizer.bpe_tokenizer([TEXT], vocab_size=280)
    whole = np.concatenate([tokenizer.encode(tok, line) for line in TEXT.splitlines(keepends=True)])
    assert np.array_equal(tokenizer.encode(tok, TEXT, chunk_chars=1), whole)


def test_bpe_vocab_size_is_checked():
    with pytest.raises(ValueError, match="vocab_size"):
        tokenizer.bpe_tokenizer([TEXT], vocab_size=100)
