"""Evaluation metrics of TOFU (Maini et al. 2024, ``locuslab/tofu``) and of Yuan et al. (arXiv 2410.08109).

TOFU: ROUGE-L recall of the greedy answer, the answer probability, the truth ratio, forget quality (a KS
test of truth ratios against a model never trained on the forget set) and model utility (harmonic mean of
ROUGE, probability and truth ratio on Retain, Real Authors and World Facts), following
``aggregate_eval_stat.py``. Yuan et al. add token entropy (diversity), cosine similarity of answers
(semantics) and an entailment score (factual correctness), and aggregate everything into Model Utility
(MU, 18 numbers) and Forget Efficacy (FE). On CPU no NLI model is available: ``fact_match`` is an honest
substitute (the gold fact appears in the answer, gated by ROUGE-L recall ≥ 0.1 as the paper gates NLI).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.stats import hmean, ks_2samp

# ----------------------------------------------------------------------------- ROUGE-L recall
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_STEMMER = None


def _stem(token: str) -> str:
    global _STEMMER
    if _STEMMER is None:
        from nltk.stem import porter
        _STEMMER = porter.PorterStemmer()
    return _STEMMER.stem(token)


def rouge_tokens(text: str, stem: bool = True) -> list[str]:
    """rouge-score's tokenizer: lower-case, non-alphanumerics to spaces, Porter-stem tokens longer than
    three characters."""
    tokens = _NON_ALNUM.sub(" ", text.lower()).split()
    return [_stem(t) if stem and len(t) > 3 else t for t in tokens]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a)·len(b)))."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rougeL_recall(generation: str, reference: str, stem: bool = True) -> float:
    """ROUGE-L recall = LCS(reference, generation) / len(reference), on rouge-score's tokens."""
    ref, gen = rouge_tokens(reference, stem), rouge_tokens(generation, stem)
    if not ref or not gen:
        return 0.0
    return lcs_length(ref, gen) / len(ref)


# ----------------------------------------------------------------------------- probability, truth ratio
def probability(avg_nll_true: np.ndarray, avg_nll_perturbed: np.ndarray | None = None) -> float:
    """TOFU's Probability from length-normalised NLLs. Forget/Retain: mean exp(−NLL). With perturbed
    answers (Real Authors, World Facts; (N, K)): mean p_true / (p_true + Σ_k p_perturbed_k)."""
    p_true = np.exp(-np.asarray(avg_nll_true, dtype=float))
    if avg_nll_perturbed is None:
        return float(p_true.mean())
    p_pert = np.exp(-np.asarray(avg_nll_perturbed, dtype=float)).reshape(len(p_true), -1)
    return float(np.mean(p_true / (p_true + p_pert.sum(-1))))


def truth_ratios(avg_nll_paraphrased: np.ndarray, avg_nll_perturbed: np.ndarray) -> np.ndarray:
    """Per item R = exp(mean_k NLL(perturbed_k) − NLL(paraphrased)) = P(paraphrase) / P(perturbed)
    (geometric mean over the K perturbed answers, length-normalised). R > 1: the model prefers the truth.
    TOFU's per-item log field ``truth_ratio`` is 1/R."""
    para = np.asarray(avg_nll_paraphrased, dtype=float)
    pert = np.asarray(avg_nll_perturbed, dtype=float).reshape(len(para), -1)
    return np.exp(pert.mean(-1) - para)


def truth_ratio_score(R: np.ndarray, forget: bool, convention: str = "tofu") -> float:
    """Aggregate truth ratios. Non-forget sets: mean(max(0, 1 − 1/R)) (both conventions). Forget set:
    TOFU reports mean(min(R, 1/R)); Yuan et al. (``convention="closer_look"``) report 1 − that, so that
    higher means the model still knows the answer."""
    R = np.asarray(R, dtype=float)
    if convention not in ("tofu", "closer_look"):
        raise ValueError(f"convention must be 'tofu' or 'closer_look', got {convention!r}")
    if not forget:
        return float(np.mean(np.maximum(0.0, 1 - 1 / R)))
    m = float(np.mean(np.minimum(R, 1 / R)))
    return m if convention == "tofu" else 1 - m


def forget_quality(R_unlearned: np.ndarray, R_retain: np.ndarray) -> tuple[float, float]:
    """TOFU forget quality: the two-sample KS test between the forget-set truth ratios of the unlearned
    model and of the retain model (never trained on the forget set). Returns (p-value, KS statistic);
    the p-value is the forget quality (1: indistinguishable from the retain model)."""
    res = ks_2samp(np.asarray(R_unlearned, dtype=float), np.asarray(R_retain, dtype=float))
    return float(res.pvalue), float(res.statistic)


# ----------------------------------------------------------------------------- TOFU logs
LOG_SETS = {"eval_log.json": "Retain", "eval_log_forget.json": "Forget",
            "eval_real_author_wo_options.json": "Real Authors", "eval_real_world_wo_options.json": "Real World"}


def _values(log: Mapping, key: str) -> np.ndarray:
    d = log[key]
    return np.array([d[k] for k in sorted(d, key=int)], dtype=float)


def log_truth_ratios(log: Mapping) -> np.ndarray:
    """Per-item R from an official TOFU eval log (``avg_paraphrased_loss``, ``average_perturb_loss``)."""
    return truth_ratios(_values(log, "avg_paraphrased_loss"), _values(log, "average_perturb_loss"))


def tofu_set_metrics(log: Mapping, name: str) -> dict[str, float]:
    """ROUGE, Prob. and Truth Ratio of one eval set from its TOFU log (``name`` as in ``LOG_SETS``)."""
    gt = _values(log, "avg_gt_loss")
    with_options = name in ("Real Authors", "Real World")
    prob = probability(gt, _values(log, "average_perturb_loss") if with_options else None)
    return {"ROUGE": float(_values(log, "rougeL_recall").mean()), "Prob.": prob,
            "Truth Ratio": truth_ratio_score(log_truth_ratios(log), forget=name == "Forget")}


def tofu_model_utility(logs: Mapping[str, Mapping]) -> tuple[float, dict[str, float]]:
    """TOFU's model utility: the harmonic mean of the 9 non-forget numbers (3 metrics × Retain, Real
    Authors, Real World). ``logs`` maps the log file names of ``LOG_SETS`` to the loaded JSON. Returns
    (MU, {"<metric> <set>": value} for all sets present)."""
    table = {}
    for file, log in logs.items():
        if file not in LOG_SETS:
            raise ValueError(f"unknown TOFU log {file!r}; expected one of {list(LOG_SETS)}")
        for metric, v in tofu_set_metrics(log, LOG_SETS[file]).items():
            table[f"{metric} {LOG_SETS[file]}"] = v
    return float(hmean([v for k, v in table.items() if "Forget" not in k])), table


# ----------------------------------------------------------------------------- Yuan et al.'s metrics
def token_entropy(tokens: Sequence) -> float:
    """Token diversity: unigram entropy (bits) of a generation's tokens divided by log2(#tokens);
    0 for at most one token. Repetitive text scores near 0, text without repeats 1."""
    n = len(tokens)
    if n <= 1:
        return 0.0
    counts = np.array(list(Counter(tokens).values()), dtype=float)
    p = counts / n
    return float(-(p * np.log2(p)).sum() / math.log2(n))


def cosine_similarities(generations: Sequence[str], references: Sequence[str],
                        embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
    """Per item max(0, cos(e(generation), e(reference))) with a sentence embedder ``embed`` (texts →
    (N, D) array)."""
    a = np.asarray(embed(list(generations)), dtype=float)
    b = np.asarray(embed(list(references)), dtype=float)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)
    return np.maximum(0.0, cos)


def nli_entailment(generations: Sequence[str], references: Sequence[str], nli: Callable,
                   forget: bool) -> np.ndarray:
    """The paper's entailment score per item (1 = entailed). ``nli`` is a Hugging Face
    text-classification pipeline (paper: ``sileod/deberta-v3-base-tasksource-nli``). Forget set: premise
    = generation, hypothesis = gold; other sets: premise = gold, hypothesis = generation. Items with
    ROUGE-L recall < 0.1 count as not entailed."""
    out = np.zeros(len(generations))
    for i, (g, r) in enumerate(zip(generations, references)):
        if rougeL_recall(g, r) < 0.1:
            continue
        premise, hyp = (g, r) if forget else (r, g)
        label = nli({"text": premise, "text_pair": hyp})
        label = label[0] if isinstance(label, list) else label
        out[i] = float(str(label["label"]).lower() == "entailment")
    return out


def fact_match(generations: Sequence[str], references: Sequence[str], facts: Sequence[str]) -> np.ndarray:
    """CPU substitute for the entailment score, *not* an NLI model: 1 when the generation contains the
    gold fact (case-insensitive, whole words) and its ROUGE-L recall against the gold answer is ≥ 0.1
    (the paper's gate)."""
    out = np.zeros(len(generations))
    for i, (g, r, f) in enumerate(zip(generations, references, facts)):
        hit = re.search(r"(?<!\w)" + re.escape(f.lower()) + r"(?!\w)", g.lower()) is not None
        out[i] = float(hit and rougeL_recall(g, r) >= 0.1)
    return out


UTILITY_METRICS = ("ROUGE", "Prob", "TR", "Ent", "Cos", "Entail")
FORGET_METRICS = ("ROUGE", "Prob", "TR", "Cos", "Entail")


def paper_model_utility(sets: Mapping[str, Mapping[str, float]], metrics: Sequence[str] = UTILITY_METRICS,
                        floor: float = 0.0) -> float:
    """Yuan et al.'s MU: the harmonic mean of every metric in ``metrics`` on every non-forget set
    (``sets`` maps set name → {metric: value}). ``floor`` clips values from below (a harmonic mean with a
    zero is zero)."""
    vals = [max(floor, float(s[m])) for s in sets.values() for m in metrics]
    if min(vals) <= 0:
        return 0.0
    return float(hmean(vals))


def paper_forget_efficacy(forget: Mapping[str, float], metrics: Sequence[str] = FORGET_METRICS) -> float:
    """Yuan et al.'s FE = 1 − mean of the forget-set metrics (token entropy excluded; truth ratio in the
    closer-look convention, 1 − mean min(R, 1/R))."""
    return float(1 - np.mean([float(forget[m]) for m in metrics]))
