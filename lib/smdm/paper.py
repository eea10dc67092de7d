"""The numbers of SMDM (Nie et al., *Scaling up Masked Diffusion Models on Text*, arXiv 2410.18514, ICLR 2025)
that the 03_smdm notebooks quote, plot or compare against, each with where it comes from.

Table numbers follow v3 (T4 speed/quality, T5 reverse curse; v1 numbered them T6 and T7). The converter of
the only full-text transcription dropped the table bodies, so table cells are "secondary" (quoted by a
review, corroborated by a second one); numbers in the paper's prose are "paper"; per-task guidance scales
come from the official evaluation scripts ("code"). Every cell marked "secondary" comes from a secondary
transcription and is not checked against the PDF's tables. The GPT-3 rows are Berglund et al.'s (arXiv
2309.12288), which the paper's Table 5 quotes. The scaling-law lines are our own digitisation of Fig. 2a:
the paper prints no constants. Source: ``../shared/research/paper_numbers.md`` §3."""
from lib.book.paper import PaperValue

PAPER = {
    # Table 5: the reverse curse (1.1B MDM fine-tuned on Berglund et al.'s facts; GPT-3 rows quoted from them)
    "mdm_d2n_rev": PaperValue(0.92, "Table 5, 1.1B MDM, DescriptionToName reverse", "secondary"),
    "mdm_n2d_rev": PaperValue(0.37, "Table 5, 1.1B MDM, NameToDescription reverse", "secondary"),
    "mdm_n2d_bleu": PaperValue(0.67, "Table 5, 1.1B MDM, NameToDescription reverse, BLEU/100", "secondary"),
    "mdm_asym": PaperValue(0.92 - 0.37, "Table 5, 1.1B MDM: D2N minus N2D reverse (0.92 − 0.37)", "secondary"),
    "gpt3_d2n_rev": PaperValue(0.001, "Table 5 (from Berglund et al.), GPT-3 175B, DescriptionToName reverse",
                               "secondary"),
    "gpt3_n2d_rev": PaperValue(0.0, "Table 5 (from Berglund et al.), GPT-3 175B, NameToDescription reverse",
                               "secondary"),
    "gpt3_d2n_same": PaperValue(0.967, "Berglund et al. Table 1, GPT-3 175B, DescriptionToName same direction",
                                "secondary"),
    "gpt3_n2d_same": PaperValue(0.50, "Berglund et al. Table 1, GPT-3 175B, NameToDescription same direction",
                                "secondary"),
    "gain_d2n_rev": PaperValue(0.92 - 0.001, "Table 5: 1.1B MDM minus GPT-3 175B, D2N reverse (different models)",
                               "secondary"),
    "gain_n2d_rev": PaperValue(0.37 - 0.0, "Table 5: 1.1B MDM minus GPT-3 175B, N2D reverse (different models)",
                               "secondary"),
    "reverse_cfg": PaperValue(0.8, "App. B: unsupervised CFG scale of the reverse-curse runs"),
    "reverse_epochs": PaperValue(10, "App. B: fine-tuning epochs on the reverse-curse facts"),
    "reverse_batch": PaperValue(32, "App. B: batch size of the reverse-curse fine-tuning"),
    "reverse_lr": PaperValue(2e-4, "App. B: learning rate of the reverse-curse fine-tuning"),
    "paraphrases": PaperValue(30, "Berglund et al. Experiment 1: paraphrases per fact", "secondary"),
    "berglund_facts": PaperValue(90, "Berglund et al. Experiment 1: fictitious people per query set", "secondary"),
    "reverse_pretrain_flops": PaperValue(1.6e21, "§5: FLOPs of the pretrained MDM fine-tuned for Table 5 (v1)"),
    # Fig. 2a / §3: IsoFLOP scaling (no fitted constants printed)
    "model_sizes": PaperValue("19M-1B", "§3 and Table 8: non-embedding parameters of the IsoFLOP models"),
    "loss_monotone": PaperValue("the best loss falls with every budget, for both families", "Fig. 2a"),
    "mdm_worse": PaperValue("the MDM's loss is above the ARM's at every budget", "Fig. 2a"),
    "compute_gap": PaperValue(16.0, "§3 and Fig. 2a: MDM compute for the ARM's loss, constant over 6e18-1e20",
                              unit="×"),
    "continuous_gap": PaperValue(64.0, "§3: the compute gap of continuous diffusion models", unit="×"),
    "n_opt_ratio": PaperValue(0.5, "§3: compute-optimal N of the MDM about half the ARM's"),
    "pretrain_lr": PaperValue(4e-4, "App. B.2: maximum learning rate of every IsoFLOP run, cosine to 4e-5 "
                              "(the official pretraining scripts use 2e-4)"),
    "pretrain_min_lr": PaperValue(4e-5, "App. B.2: minimum learning rate, reached at the end of each run"),
    "pretrain_warmup": PaperValue(0.01, "App. B.2: share of the tokens for linear warm-up (at least 100 steps)"),
    "flop_formula": PaperValue("C = 6ND, N the non-embedding parameters, the same for both families",
                               "§3 (and max_step in the official pretraining scripts)"),
    "isoflop_lo": PaperValue(6e18, "§3: smallest IsoFLOP budget", unit="FLOPs"),
    "isoflop_hi": PaperValue(1e20, "§3: largest IsoFLOP budget", unit="FLOPs"),
    "arm_law_k": PaperValue(44.7, "Fig. 2a, ARM line L = k C^α, digitised by us (no constants printed)",
                            "secondary"),
    "arm_law_alpha": PaperValue(-0.064, "Fig. 2a, ARM exponent α, digitised by us", "secondary"),
    "mdm_law_k": PaperValue(49.9, "Fig. 2a, MDM line L = k C^α, digitised by us", "secondary"),
    "mdm_law_alpha": PaperValue(-0.062, "Fig. 2a, MDM exponent α, digitised by us", "secondary"),
    # Table 6: temporal shift, 220M ARM and MDM at similar SlimPajama loss (the MDM with 16x the compute),
    # perplexity on the first 0.5B tokens of later FineWeb snapshots
    "shift_arm_in": PaperValue(17.34, "Table 6, ARM perplexity on SlimPajama (in distribution)", "secondary"),
    "shift_mdm_in": PaperValue(18.02, "Table 6, MDM perplexity bound on SlimPajama (in distribution)", "secondary"),
    "shift_arm_out": PaperValue(26.93, "Table 6, ARM perplexity on FineWeb April 2024", "secondary"),
    "shift_mdm_out": PaperValue(24.01, "Table 6, MDM perplexity bound on FineWeb April 2024", "secondary"),
    # Table 11: likelihood evaluation methods (cells not transcribed; the caption and §C.2 are)
    "likelihood_mc_samples": PaperValue(1024, "Table 11 caption: Monte-Carlo samples of the ELBO estimate"),
    "likelihood_finding": PaperValue("the better likelihood method differs across tasks: the chain rule for "
                                     "step-by-step reasoning, the Monte-Carlo ELBO for contextual understanding",
                                     "Table 11 and App. C.2"),
    # Table 1 (220M MDM at 1e20 FLOPs, zero-shot): unsupervised CFG, two of eight tasks quoted
    "obqa_w0": PaperValue(27.0, "Table 1, 220M MDM, OpenBookQA without CFG", "secondary", "%"),
    "obqa_cfg": PaperValue(34.2, "Table 1, 220M MDM, OpenBookQA with unsupervised CFG", "secondary", "%"),
    "lambada_w0": PaperValue(36.0, "Table 1, 220M MDM, LAMBADA without CFG", "secondary", "%"),
    "lambada_cfg": PaperValue(40.99, "Table 1, 220M MDM, LAMBADA with unsupervised CFG", "secondary", "%"),
    "cfg_gain": PaperValue("OBQA +7.2, LAMBADA +5.0 points (220M MDM)", "Table 1, unsupervised CFG minus none",
                           "secondary"),
    "cfg_scale_min": PaperValue(0.6, "official eval scripts: smallest per-task CFG scale (PIQA, ARC-e, SIQA)",
                                "code"),
    "cfg_scale_max": PaperValue(1.6, "official eval scripts: largest per-task CFG scale (OBQA, BoolQ)", "code"),
    # Table 4: speed and quality on MT-Bench (1.1B, one A100, 1024-token answers)
    "gen_len": PaperValue(1024, "§5 / Table 4: tokens per MT-Bench answer", unit="tokens"),
    "steps_lo": PaperValue(64, "Table 4: fewest MDM sampling steps", unit="steps"),
    "steps_mid": PaperValue(128, "Table 4: MDM sampling steps at matched quality", unit="steps"),
    "steps_hi": PaperValue(256, "Table 4: most MDM sampling steps", unit="steps"),
    "arm_mtbench": PaperValue(1.57, "Table 4, ARM with KV cache, MT-Bench", "secondary"),
    "arm_seconds": PaperValue(555, "Table 4, ARM with KV cache, time", "secondary", "s"),
    "mdm64_mtbench": PaperValue(1.40, "Table 4, MDM 64 steps, MT-Bench (row not re-confirmed)", "secondary"),
    "mdm64_seconds": PaperValue(204, "Table 4, MDM 64 steps, time (row not re-confirmed)", "secondary", "s"),
    "mdm128_mtbench": PaperValue(1.56, "Table 4, MDM 128 steps, MT-Bench", "secondary"),
    "mdm128_seconds": PaperValue(396, "Table 4, MDM 128 steps, time", "secondary", "s"),
    "mdm256_mtbench": PaperValue(1.60, "Table 4, MDM 256 steps, MT-Bench", "secondary"),
    "mdm256_seconds": PaperValue(780, "Table 4, MDM 256 steps, time", "secondary", "s"),
    "speedup_matched": PaperValue(555 / 396, "Table 4 and text: ARM time over MDM time at matched quality "
                                  "(555 s / 396 s)", "secondary", "×"),
    "time_ratio_256_64": PaperValue(780 / 204, "Table 4: 780 s / 204 s, 4× the steps (256 vs 64)", "secondary",
                                    "×"),
    "time_64_over_arm": PaperValue(204 / 555, "Table 4: 204 s / 555 s, MDM at 64 steps over the ARM",
                                   "secondary", "×"),
    "mdm_pretrain_ratio": PaperValue(16.0, "§5: the MDM is pre-trained for 16× the ARM's compute", unit="×"),
    "judge": PaperValue("GPT-4o", "App. B.4: MT-Bench judge gpt-4o-2024-05-13"),
}
