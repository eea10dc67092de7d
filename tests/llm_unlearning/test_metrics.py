"""TOFU metrics against the official TOFU evaluation logs (locuslab/tofu, computed by TOFU's
``evaluate_util.py`` with rouge-score) and against rouge-score itself."""
import json

import numpy as np
import pytest

from lib.book import data
from lib.llm_unlearning import metrics

MODELS = ("phi", "llama2-7b")
SPLITS = ("full", "retain90", "retain95", "retain99")
FILES = {"eval_log.json": "eval_log", "eval_log_forget.json": "eval_log_forget",
         "eval_real_author_wo_options.json": "eval_real_author_wo_options",
         "eval_real_world_wo_options.json": "eval_real_world_wo_options"}


def load_logs(model, split):
    return {f: json.load(open(data.get(f"tofu_log_{model}_{split}_{stem}"))) for f, stem in FILES.items()}


@pytest.fixture(scope="module")
def logs():
    return {(m, s): load_logs(m, s) for m in MODELS for s in ("full", "retain90")}


def test_rougeL_recall_matches_the_official_tofu_logs(logs):
    # TOFU stored rouge_score's ROUGE-L recall of each greedy generation (generated_text = [q, gen, gold])
    for log in (logs["phi", "full"]["eval_log_forget.json"], logs["llama2-7b", "retain90"]["eval_log.json"]):
        keys = sorted(log["generated_text"], key=int)[:120]
        ours = [metrics.rougeL_recall(log["generated_text"][k][1], log["generated_text"][k][2]) for k in keys]
        theirs = [log["rougeL_recall"][k] for k in keys]
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_rougeL_recall_matches_rouge_score():
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    pairs = [("The author was born in Kuwait City in 1956.", "Born in Kuwait City, the author writes."),
             ("running runners ran quickly", "the runner runs quick"),
             ("", "anything"), ("I don't know.", "I do not know that ."), ("a b c d e", "e d c b a"),
             ("Jaime Vasquez specializes in the true crime genre.", "Jaime's genre: true-crime stories!")]
    log = json.load(open(data.get("tofu_log_phi_retain90_eval_real_world_wo_options")))
    pairs += [(v[2], v[1]) for v in list(log["generated_text"].values())[:40]]
    for gold, gen in pairs:
        assert metrics.rougeL_recall(gen, gold) == pytest.approx(scorer.score(gold, gen)["rougeL"].recall, abs=1e-12)


def test_truth_ratio_matches_the_official_tofu_logs(logs):
    # TOFU logs truth_ratio = P(perturbed)/P(paraphrased) per item, i.e. our 1/R
    for log in (logs["phi", "full"]["eval_log_forget.json"], logs["llama2-7b", "full"]["eval_log.json"],
                logs["phi", "retain90"]["eval_real_author_wo_options.json"]):
        R = metrics.log_truth_ratios(log)
        theirs = np.array([log["truth_ratio"][k] for k in sorted(log["truth_ratio"], key=int)])
        np.testing.assert_allclose(1 / R, theirs, rtol=1e-5)


def test_probability_with_options_matches_the_official_normalized_gt_loss(logs):
    # Real Authors / World Facts: TOFU logs -log(p_true / (p_true + sum p_perturbed)) per item
    for log in (logs["phi", "full"]["eval_real_author_wo_options.json"],
                logs["llama2-7b", "retain90"]["eval_real_world_wo_options.json"]):
        gt = metrics._values(log, "avg_gt_loss")
        pert = metrics._values(log, "average_perturb_loss")
        norm = metrics._values(log, "normalized_gt_loss")
        assert metrics.probability(gt, pert) == pytest.approx(np.exp(-norm).mean(), rel=1e-6)


def test_forget_quality_of_the_retain_model_is_one_and_of_the_full_model_is_tiny(logs):
    for m in MODELS:
        R_retain = metrics.log_truth_ratios(logs[m, "retain90"]["eval_log_forget.json"])
        R_full = metrics.log_truth_ratios(logs[m, "full"]["eval_log_forget.json"])
        assert metrics.forget_quality(R_retain, R_retain)[0] == pytest.approx(1.0)
        p, ks = metrics.forget_quality(R_full, R_retain)
        # the KS statistic is the largest gap between the two empirical CDFs (brute force)
        grid = np.concatenate([R_full, R_retain])
        gap = max(abs((R_full <= x).mean() - (R_retain <= x).mean()) for x in grid)
        assert ks == pytest.approx(gap)
        assert p < 1e-3   # the full model has seen forget10: clearly distinguishable from the retain model


def test_model_utility_aggregates_nine_tofu_numbers_like_aggregate_eval_stat(logs):
    mu, table = metrics.tofu_model_utility(logs["phi", "full"])
    assert len(table) == 12 and len([k for k in table if "Forget" not in k]) == 9
    vals = np.array([v for k, v in table.items() if "Forget" not in k])
    assert mu == pytest.approx(len(vals) / (1 / vals).sum())
    assert table["Truth Ratio Forget"] == pytest.approx(
        np.mean(np.minimum(metrics.log_truth_ratios(logs["phi", "full"]["eval_log_forget.json"]),
                           1 / metrics.log_truth_ratios(logs["phi", "full"]["eval_log_forget.json"]))))
    # finetuning on the forget set makes the forget answers far more likely than the retain model finds them
    assert table["Prob. Forget"] > metrics.tofu_model_utility(logs["phi", "retain90"])[1]["Prob. Forget"] + 0.3


def test_truth_ratio_conventions():
    R = np.array([0.5, 2.0, 1.0])
    assert metrics.truth_ratio_score(R, True) == pytest.approx(np.mean([0.5, 0.5, 1.0]))
    assert metrics.truth_ratio_score(R, True, "closer_look") == pytest.approx(1 - np.mean([0.5, 0.5, 1.0]))
    assert metrics.truth_ratio_score(R, False) == pytest.approx(np.mean([0, 0.5, 0]))
    with pytest.raises(ValueError, match="convention"):
        metrics.truth_ratio_score(R, True, "other")


def test_token_entropy_is_zero_for_repetition_and_one_without_repeats():
    assert metrics.token_entropy("the the the the".split()) == 0.0
    assert metrics.token_entropy("a b c d".split()) == pytest.approx(1.0)
    assert metrics.token_entropy(["x"]) == 0.0
    assert 0 < metrics.token_entropy("a a b c".split()) < 1


def test_fact_match_needs_the_fact_and_the_rouge_gate():
    gold = "Mira Voss was born in Riga ."
    assert metrics.fact_match(["Mira Voss was born in Riga ."], [gold], ["Riga"])[0] == 1
    assert metrics.fact_match(["Riga"], [gold], ["Riga"])[0] == 1            # recall 1/7 >= 0.1
    assert metrics.fact_match(["Mira Voss was born in Lima ."], [gold], ["Riga"])[0] == 0
    assert metrics.fact_match(["Rigatoni"], ["Riga"], ["Riga"])[0] == 0      # whole words only


def test_paper_mu_and_fe():
    sets = {"retain": {m: 0.5 for m in metrics.UTILITY_METRICS}, "world": {m: 1.0 for m in metrics.UTILITY_METRICS}}
    assert metrics.paper_model_utility(sets) == pytest.approx(2 / 3)
    sets["world"]["Ent"] = 0.0
    assert metrics.paper_model_utility(sets) == 0.0
    assert metrics.paper_forget_efficacy({m: 0.2 for m in metrics.FORGET_METRICS}) == pytest.approx(0.8)
