"""The numbers of *Scaling Laws with Vocabulary* (Tao et al., NeurIPS 2024, arXiv 2407.13623) that the
10_vocab_scaling notebooks quote, plot or compare against, each with where it comes from.

The fitted constants live once in ``lib.vocab_scaling.laws`` (``PAPER_F``, ``PAPER_A1``, ``PAPER_A2``,
``PAPER_A3``: full precision from the official ``sail-sg/scaling-with-vocab`` scripts, source "code"); the
entries below refer to them, and add the rounded values the paper prints, its Table 1-3 and abstract
numbers (read from a transcription of the camera-ready with table bodies, source "paper") and the
L_u-BPC correlation, known only from a figure description ("secondary").
``../shared/research/paper_numbers.md`` §10."""
from lib.book.paper import PaperValue
from lib.vocab_scaling import laws

_SIZES = {"3B": 3e9, "7B": 7e9, "13B": 13e9, "30B": 30e9, "70B": 70e9, "130B": 130e9, "300B": 300e9}
#: Table 1, V^opt of approaches 1/2/3 in thousands, as printed.
_TABLE1_K = {"3B": (39, 43, 37), "7B": (62, 67, 60), "13B": (83, 91, 81), "30B": (142, 154, 142),
             "70B": (212, 231, 218), "130B": (237, 258, 248), "300B": (356, 389, 383)}
#: The integers the official optimal_Nv_predict.py prints for the same rows.
_OFFICIAL = {"3B": (39367, 42538, 36648), "7B": (62280, 67450, 59547), "13B": (83429, 90503, 81347),
             "30B": (141711, 154071, 141898), "70B": (211860, 230861, 217961),
             "130B": (236500, 258138, 248187), "300B": (355894, 389324, 383659)}
#: Embedding width of each row (optimal_Nv_predict.py's Nnv_to_d).
_OFFICIAL_D = {"3B": 3200, "7B": 4096, "13B": 5120, "30B": 6048, "70B": 8192, "130B": 12288, "300B": 16384}

#: One table of the official predictor's outputs, shared by the notebooks and the tests:
#: N_nv -> (d, V_opt approach 1, approach 2, approach 3).
OFFICIAL_TABLE1 = {_SIZES[s]: (_OFFICIAL_D[s], *_OFFICIAL[s]) for s in _SIZES}
#: Approach 3 of the official predictor for N_nv = 302M at k times the compute-optimal budget (the
#: under-/over-training study of approach3_isoloss.py, run with the published constants): k -> V_opt.
OFFICIAL_302M = {0.2: 10187, 0.5: 13055, 1: 15758, 2: 19032, 4: 23002, 6: 25707}

PAPER = {
    # the published constants (official scripts) and what the paper prints of them
    "f_a": PaperValue(laws.PAPER_F[0], "Sec. 4.2, f(V) = a ln²V + b ln V + c: a (utils.py)", "code"),
    "f_b": PaperValue(laws.PAPER_F[1], "Sec. 4.2, f(V): b (utils.py)", "code"),
    "f_c": PaperValue(laws.PAPER_F[2], "Sec. 4.2, f(V): c (utils.py)", "code"),
    "f_fit_range": PaperValue("1K-1024K", "Sec. 4.2: vocabulary sizes of the tokenizers f(V) is fitted on"),
    "a1_k1": PaperValue(laws.PAPER_A1["K1"], "Sec. 4.1, approach 1: K1 (optimal_Nv_predict.py)", "code"),
    "a1_k2": PaperValue(laws.PAPER_A1["K2"], "Sec. 4.1, approach 1: K2 (optimal_Nv_predict.py)", "code"),
    "a1_alpha2": PaperValue(laws.PAPER_A1["alpha2"], "Sec. 4.1, approach 1: α2 (optimal_Nv_predict.py)",
                            "code"),
    "gamma_a1": PaperValue(0.84, "Sec. 4.1: γ = 0.42 / 0.50, as printed"),
    "gamma_a2": PaperValue(laws.PAPER_A2["gamma"], "Sec. 4.2, approach 2: γ (optimal_Nv_predict.py; "
                           "printed 0.83)", "code"),
    "gamma_a2_printed": PaperValue(0.83, "Sec. 4.2: approach 2's γ, as printed"),
    "anchor_v": PaperValue(6144, "Sec. 4.2: best vocabulary of the 33M model, approach 2's anchor", "code",
                           "tokens"),
    "anchor_d": PaperValue(512, "Sec. 4.2: width of the 33M model", "code"),
    "anchor_nnv": PaperValue(laws.PAPER_A2["anchor_Nnv"], "Sec. 4.2: non-vocabulary parameters of the "
                             "anchor model", "code"),
    **{f"a3_{k.lower()}": PaperValue(v, f"Sec. 4.3, approach 3: {k} (optimal_Nv_predict.py)", "code")
       for k, v in laws.PAPER_A3.items()},
    "a3_summary": PaperValue("A1 1.831, A2 0.196, B 2.124, E 5.533, α1 = β 0.447, α2 0.671",
                             "Sec. 4.3, approach 3's constants as printed"),
    "gamma_a3": PaperValue(0.86, "Table 1: approach 3's effective slope between 3B and 300B (our reading "
                           "of its rows)", "secondary"),
    # the data behind the fits (exp_data.csv)
    "n_families": PaperValue(6, "Sec. 4 and exp_data.csv: model families"),
    "nnv_min": PaperValue("33M", "Sec. 4: smallest non-vocabulary size of the fitted models"),
    "nnv_max": PaperValue("1.13B", "Sec. 4: largest non-vocabulary size of the fitted models"),
    "n_vocabs": PaperValue(10, "Sec. 4 and exp_data.csv: vocabulary sizes per family"),
    "vocab_min": PaperValue(4096, "exp_data.csv: smallest vocabulary", "code", "tokens"),
    "vocab_max": PaperValue(96256, "exp_data.csv: largest vocabulary", "code", "tokens"),
    "n_checkpoints": PaperValue(20, "exp_data.csv: checkpoints per run", "code"),
    "a3_starts": PaperValue(486, "optimal_Nv_predict.py: L-BFGS-B starts of the approach-3 fit", "code"),
    "a3_min_flops": PaperValue(2.18e17, "optimal_Nv_predict.py: smallest FLOPs of the approach-3 fit points",
                               "code"),
    "rho_lu_bpc": PaperValue(0.9888, "App. A.5 figure: Pearson ρ of L_u and BPC", "secondary"),
    # Table 1
    **{f"t1_{s}_a{k}": PaperValue(v * 1000, f"Table 1, N_nv = {s}, approach {k} (printed {v}K)", unit="tokens")
       for s, row in _TABLE1_K.items() for k, v in zip((1, 2, 3), row)},
    **{f"official_{s}_a{k}": PaperValue(v, f"optimal_Nv_predict.py output, N_nv = {s}, approach {k}", "code",
                                         "tokens")
       for s, row in _OFFICIAL.items() for k, v in zip((1, 2, 3), row)},
    "t1_flops_3b": PaperValue(1.3e21, "Table 1, FLOPs of the 3B row", unit="FLOPs"),
    "t1_flops_300b": PaperValue(1.3e25, "Table 1, FLOPs of the 300B row", unit="FLOPs"),
    # the 3B validation runs (Tables 2 and 3), N_nv = 2.87B
    "nnv_3b": PaperValue(2.87e9, "Sec. 5: non-vocabulary parameters of the 3B runs"),
    "flops_under": PaperValue(2.8e20, "Table 3, undertraining budget", unit="FLOPs"),
    "flops_opt": PaperValue(1.2e21, "Table 2, compute-optimal budget", unit="FLOPs"),
    "flops_over": PaperValue(2.3e21, "Table 3, overtraining budget", unit="FLOPs"),
    "v_under": PaperValue(24_000, "Table 3, undertraining: the predicted V (24K)", unit="tokens"),
    "v_opt": PaperValue(35_000, "Table 2: the predicted compute-optimal V (35K)", unit="tokens"),
    "v_over": PaperValue(43_000, "Table 3, overtraining: the predicted V (43K)", unit="tokens"),
    "v_baseline": PaperValue(32_000, "Tables 2 and 3: the baseline vocabulary (32K, Llama2's)", unit="tokens"),
    "arc_c_32k_over": PaperValue(29.1, "Table 3, overtraining, V = 32K: ARC-Challenge", unit="%"),
    "arc_c_43k_over": PaperValue(32.0, "Table 3, overtraining, V = 43K: ARC-Challenge", unit="%"),
    # Fig. 7 (N_nv = 302M)
    "fig7_nnv": PaperValue(302e6, "Fig. 7: non-vocabulary parameters of the data-regime study"),
    "fig7_v_default": PaperValue(16_000, "Fig. 7: best V with compute-optimal data", unit="tokens"),
    "fig7_v_scarce": PaperValue(10_000, "Fig. 7: best V with scarce data", unit="tokens"),
    "fig7_v_excess": PaperValue(24_000, "Fig. 7: best V with excess data", unit="tokens"),
    "more_data_larger_v": PaperValue("more data → larger optimal V", "Fig. 7 and Table 3"),
    "vopt_grows": PaperValue("the optimal V grows with compute", "Fig. 3 and Table 1"),
    # abstract
    "llama70_vopt": PaperValue(216_000, "abstract: Llama2-70B's optimal vocabulary, at least 216K",
                               unit="tokens"),
    "llama70_factor": PaperValue(7.0, "abstract: 216K is 7× Llama2-70B's 32K", unit="×"),
}
