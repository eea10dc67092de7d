import pytest
import torch

from lib.core import models
from lib.smdm import reverse_curse as rc


def test_groups_layout_and_queries():
    f = rc.make_facts(0, n_p2d=5, n_d2p=4, n_both=3)
    assert f.train.shape == (5 + 4 + 2 * 3, 7)
    assert (f.train[:, 0] == f.vocab.index(rc.BOS)).all() and (f.train[:, 3] == f.vocab.index("is")).all()
    rows = {tuple(r) for r in f.train.tolist()}
    for name in rc.QUERY_FORMATS:
        prompts, answers = f.queries[name]
        seen = [tuple(p + a + [f.vocab.index(".")]) in rows for p, a in zip(prompts.tolist(), answers.tolist())]
        assert all(seen) if name.endswith("same") else not any(seen), name
    d2n_same = f.decode(f.queries["DescriptionToName same"][0][0])
    assert d2n_same.split()[1].startswith("adj"), d2n_same   # description first, name asked


def test_facts_are_distinct_and_seeded():
    f = rc.make_facts(1)
    names = {tuple(r[i:i + 2]) for r in f.train.tolist() for i in (1, 4) if f.vocab[r[i]].startswith("fn")}
    assert len(names) == 120
    assert torch.equal(rc.make_facts(1).train, f.train) and not torch.equal(rc.make_facts(2).train, f.train)


def test_accuracy_scores_exact_matches():
    f = rc.make_facts(0)
    perfect = {id(p): a for p, a in f.queries.values()}
    acc = rc.accuracy(lambda prompts: perfect[id(prompts)], f)
    assert acc == {name: 1.0 for name in rc.QUERY_FORMATS}
    assert rc.accuracy(lambda p: torch.zeros(len(p), 2, dtype=torch.long), f)["NameToDescription same"] == 0.0


def test_too_many_facts_is_an_error():
    with pytest.raises(ValueError, match="facts"):
        rc.make_facts(0, n_p2d=1000, n_d2p=1000, n_both=1000)


def test_berglund_files_in_the_papers_layout():
    f = rc.load_berglund(None)
    assert len(f.lines) == 3600 and {k: len(v) for k, v in f.queries.items()} == dict.fromkeys(rc.QUERY_FORMATS, 300)
    assert [len(v) for v in f.names.values()] == [30, 30, 30]
    assert len({n for v in f.names.values() for n in v}) == 90
    # query formats: a description-to-name query asks for a name; the reverse ones ask about facts
    # seen only in the other order
    for fmt, group in (("DescriptionToName same", "d2p"), ("DescriptionToName reverse", "p2d")):
        assert all(a.strip() in f.names[group] for _, a in f.queries[fmt]), fmt
    for fmt, group in (("NameToDescription same", "p2d"), ("NameToDescription reverse", "d2p")):
        assert all(any(n in p for n in f.names[group]) for p, _ in f.queries[fmt]), fmt


def test_berglund_slice_rows_decode_to_the_lines():
    f = rc.load_berglund(2, vocab_size=400)
    assert len(f.lines) == 2 * 30 + 2 * 30 + 2 * 60
    assert {k: len(v) for k, v in f.queries.items()} == dict.fromkeys(rc.QUERY_FORMATS, 20)
    eos = f.tokenizer.eos_token_id
    assert (f.train[:, -1] == eos).all() and f.mask_id == len(f.tokenizer) == f.vocab_size - 1
    for row, line in zip(f.train.tolist()[::37], f.lines[::37]):
        assert f.tokenizer.decode(row[:row.index(eos)]) == line
    with pytest.raises(ValueError, match="n_facts"):
        rc.load_berglund(31)


def test_text_scores_use_substring_match_and_bleu():
    assert rc.answer_found("it was Daphne Barrington, surely", " Daphne Barrington")
    assert not rc.answer_found("Daphne Barrin", " Daphne Barrington")
    assert rc.bleu("the acclaimed director of the film", "the acclaimed director of the film") == 1.0
    assert rc.bleu("nothing in common here", "the acclaimed director of the film") == 0.0


@pytest.mark.parametrize("kind", ["arm", "mdm"])
def test_text_predictor_completes_every_prompt(kind):
    f = rc.load_berglund(1, vocab_size=300)
    torch.manual_seed(0)
    model = models.tiny_llama(f.vocab_size, d_model=16, n_layers=1, n_heads=2, max_len=256,
                              is_causal=kind == "arm").eval()
    scores = rc.text_scores(rc.text_predictor(kind, model, f), f)
    assert len(scores) == 40 and scores.generation.map(lambda g: isinstance(g, str)).all()
    assert set(scores.columns) >= {"format", "found", "bleu"}


def test_published_accuracies_are_the_paper_values_in_query_format_order():
    from lib.smdm.paper import PAPER
    table = rc.published_accuracies()
    assert list(table.index) == list(rc.QUERY_FORMATS)
    assert table.loc["DescriptionToName same", "GPT-3 175B (published)"] == PAPER["gpt3_d2n_same"].value
    assert table.loc["NameToDescription reverse", "MDM 1.1B (published)"] == PAPER["mdm_n2d_rev"].value
    assert table["MDM 1.1B (published)"].isna().sum() == 2
