import pytest
import torch

from lib import reverse_curse as rc


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
