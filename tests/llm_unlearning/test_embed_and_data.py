"""The packaged all-MiniLM-L6-v2 files by hash, the TOFU loader and the procedural world."""
import numpy as np
import pytest

from lib.llm_unlearning import embed, metrics, tofu


def test_minilm_files_match_the_hub_hashes():
    path = embed.minilm_dir()
    if path is None:
        pytest.skip(f"{embed.PIN} is not installed")
    embed.verify(path)


def test_minilm_cosine_ranks_a_paraphrase_above_an_unrelated_answer():
    if embed.minilm_dir() is None:
        pytest.skip(f"{embed.PIN} is not installed")
    e = embed.MiniLM()
    gold = ["The author was born in Kuwait City."] * 2
    cos = metrics.cosine_similarities(["He was born in Kuwait City.", "The the the the the"], gold, e)
    assert cos[0] > 0.7 and cos[0] > cos[1] + 0.3
    assert metrics.cosine_similarities(gold[:1], gold[:1], e)[0] == pytest.approx(1.0, abs=1e-5)


def test_load_tofu_serves_the_real_splits_in_the_common_format():
    w = tofu.load_tofu("forget10", n_retain=50)
    assert len(w["forget"]) == 400 and len(w["retain"]) == 50 and len(w["idk"]) == 100
    assert len(w["world"]) == 100 + 117 and len(w["retain_train"]) == 3600
    d = w["forget"][0]
    assert set(d) >= {"question", "answer", "paraphrased_answer", "perturbed_answer", "fact"}
    assert len(d["perturbed_answer"]) == 5
    assert {x["question"] for x in w["forget"]}.isdisjoint(x["question"] for x in w["retain_train"])
    with pytest.raises(ValueError, match="split"):
        tofu.load_tofu("forget20")


def test_procedural_world_is_deterministic_and_splits_authors():
    a, b = tofu.make_authors(seed=3), tofu.make_authors(seed=3)
    assert a == b and a != tofu.make_authors(seed=4)
    assert len(a["forget"]) == 16 and len(a["retain"]) == 144 and len(a["unknown"]) == 48
    assert {d["author"] for d in a["forget"]}.isdisjoint(d["author"] for d in a["retain"])
    for d in a["forget"] + a["retain"]:
        assert d["fact"] in d["answer"] and all(d["fact"] not in p for p in d["perturbed_answer"])
    with pytest.raises(ValueError, match="n_forget"):
        tofu.make_authors(n_forget=0)


def test_tofu_slice_for_the_cpu_model():
    w = tofu.tofu_slice(n_authors=4, n_forget=1)
    assert len(w["forget"]) == 20 and len(w["retain"]) == 60
    assert np.all([len(d["perturbed_answer"]) == 5 for d in w["forget"]])
