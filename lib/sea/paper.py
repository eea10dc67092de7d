"""The numbers of *Sample-Efficient Alignment for LLMs* (SEA; Liu, Chen, Du, Lee, Lin, arXiv 2411.01493) that
the 02_sea notebooks quote or compare against, each with where it comes from.

Read from a full transcription of arXiv v2 (``../shared/research/paper_numbers.md`` §2): "paper". The
sampling temperature of the paper-era release (oat at commit fc43567) agrees with the paper's 0.7; oat's
HEAD uses 1.0. Fig. 1 (left) bar labels are known without their mapping to methods and scales, so only
their range is kept. Most of the paper's LLM results are figures without printed values: those entries
are short statements of what the figure shows."""
from lib.book.paper import PaperValue

PAPER = {
    # setting (Sec. 5 and App. D)
    "policy_sizes": PaperValue("1B–6.9B", "Sec. 5: Pythia TL;DR SFT policies (1B, 2.8B, 6.9B)"),
    "oracle": PaperValue("Skywork-Reward-Llama-3.1-8B", "Sec. 5: the reward model used as the oracle"),
    "budget": PaperValue(50_000, "Sec. 5: oracle-query budget", unit="queries"),
    "n_prompts": PaperValue(50_000, "Sec. 5: TL;DR training prompts", unit="prompts"),
    "batch": PaperValue(128, "App. D: prompts per batch"),
    "lr": PaperValue(5e-7, "App. D: Adam learning rate of the policy"),
    "n_seeds": PaperValue(3, "App. D: seeds per setting, mean ± s.e."),
    "n_samples": PaperValue(20, "Sec. 4.2: M on-policy responses per prompt"),
    "temperature": PaperValue(0.7, "App. D: sampling temperature during training"),
    "ensemble": PaperValue(20, "Sec. 4.2.1: heads K of the ensemble reward model"),
    "anchor_lambda": PaperValue(0.5, "Sec. 4.2.1: anchor regulariser λ"),
    "beta_dpo": PaperValue(0.1, "App. D: DPO β"),
    "beta_slic": PaperValue(0.2, "App. D: SLiC β, 'robust for all scales'"),
    "mpl_gamma": PaperValue(0.7, "Sec. 4.2.3: mixture ratio γ after burn-in"),
    "burn_in": PaperValue(1000, "Sec. 4.2.3: burn-in before γ drops", unit="samples"),
    # Fig. 1 and Fig. 5-7: claims read off figures
    "efficiency_min": PaperValue(2.0, "Fig. 1 (right) and text: SEA's sample efficiency over passive online, "
                                 "lower end", unit="×"),
    "efficiency_max": PaperValue(5.0, "Fig. 1 (right) and text: upper end", unit="×"),
    "efficiency": PaperValue("2–5× better sample efficiency than passive online", "Fig. 1 (right) and text"),
    "query_ratio": PaperValue("2–5× fewer queries, i.e. 0.2–0.5 of the budget", "Fig. 1 (right) and text"),
    "fig1_gain_min": PaperValue(84.0, "Fig. 1 (left): smallest bar label, improvement over the SFT model "
                                "(mapping of labels to bars lost)", unit="%"),
    "fig1_gain_max": PaperValue(205.0, "Fig. 1 (left): largest bar label", unit="%"),
    "offline_1b": PaperValue(70.0, "Sec. 5 on Fig. 5: offline agents at 1B reach about this win rate", unit="%"),
    "sea_best": PaperValue("SEA best at every scale and query budget", "Fig. 5 (1B–6.9B, DPO/IPO/SLiC)"),
    "online_gt_offline": PaperValue("online beats offline at every scale", "Fig. 1 (left) and Fig. 5"),
    "all_improve": PaperValue("every method improves on the SFT policy", "Fig. 1 (left) and Fig. 5"),
    "offline_improves": PaperValue("offline improves on SFT too, about 70 % at 1B", "Fig. 5 and text"),
    "mpl_helps": PaperValue("Variant 6 (with MPL) above Variant 5", "Fig. 6"),
    "ts_helps": PaperValue("Thompson-sampling exploration helps", "Table 1 variants and Fig. 6"),
    "ee_ts_best": PaperValue("E&E-TS best in the explore-and-exploit setting", "Fig. 7 (left), LLM scale"),
    "bai_ts_better": PaperValue("BAI-TS better than uniform/passive in the best-arm setting",
                                "Fig. 7 (middle), LLM scale"),
    "bai_over_uncertainty": PaperValue("BAI-TS above pure Uncertainty exploration in the best-arm setting",
                                       "Fig. 7 (middle); ordering only (paper_numbers.md §2)"),
    "xpo_alpha": PaperValue(5e-6, "oat oat/baselines/xpo.py: default optimism weight xpo_alpha", "code"),
    "baselines": PaperValue("SEA needs the fewest queries; XPO and APL between online and SEA",
                            "Fig. 1 (right)"),
    "bon_helps": PaperValue("agent variants also evaluated with best-of-N inference (values not transcribed)",
                            "Fig. 6 (right) and Table 1"),
    "logit_rule": PaperValue("not shown (used on LLM samples, not on a linear bandit)", "Fig. 7"),
}
