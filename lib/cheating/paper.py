"""The numbers of *Cheating Automatic LLM Benchmarks: Null Models Achieve High Win Rates* (Zheng, Pang, Du, Liu,
Jiang, Lin; arXiv 2410.07137, ICLR 2025) that the 09_cheating_benchmarks notebooks quote, each with where it
comes from. Table numbering follows the ICLR version (Table 2: main results with the GPT-4-1106-Preview
annotator); the official README's re-evaluation of the released annotations is "code". Source:
``../shared/research/paper_numbers.md`` §9."""
from lib.book.paper import PaperValue

PAPER = {
    # Table 2 (GPT-4-1106-Preview annotator): the null model, structured response + random search
    "ae_lc": PaperValue(86.5, "Table 2, Structured + RS, AlpacaEval 2.0 LC win rate", unit="%"),
    "ae_win": PaperValue(76.9, "Table 2, Structured + RS, AlpacaEval 2.0 raw win rate", unit="%"),
    "ae_discrete": PaperValue(84.0, "Table 2, Structured + RS, AlpacaEval 2.0 discrete win rate", unit="%"),
    "arena_hard": PaperValue(83.0, "Table 2, Structured + RS, Arena-Hard-Auto win rate", unit="%"),
    "mt_bench": PaperValue(9.55, "Table 2, Structured + RS, MT-Bench score (of 10)"),
    # Table 2: the structured response alone (no search)
    "structured_lc": PaperValue(76.8, "Table 2, Structured, AlpacaEval 2.0 LC win rate", unit="%"),
    "structured_win": PaperValue(59.5, "Table 2, Structured, AlpacaEval 2.0 raw win rate", unit="%"),
    "structured_discrete": PaperValue(64.2, "Table 2, Structured, AlpacaEval 2.0 discrete win rate", unit="%"),
    "structured_arena_hard": PaperValue(67.2, "Table 2, Structured, Arena-Hard-Auto win rate", unit="%"),
    "structured_mt_bench": PaperValue(7.75, "Table 2, Structured, MT-Bench score"),
    # Table 2: the verified state of the art (GPT-4 Omni row) for scale
    "sota_lc": PaperValue(57.5, "Table 2, verified SOTA, AlpacaEval 2.0 LC win rate", unit="%"),
    # the README of sail-sg/Cheating-LLM-Benchmarks: alpaca_eval's re-evaluation of the released annotations
    "readme_win": PaperValue(76.92, "official README, re-evaluated annotations, win_rate", "code", "%"),
    "readme_discrete": PaperValue(83.98, "official README, re-evaluated annotations, discrete_win_rate", "code", "%"),
    "readme_lc": PaperValue(86.46, "official README, re-evaluated annotations, length_controlled_winrate", "code", "%"),
    "lc_gain": PaperValue(round(86.5 - 76.9, 1), "Table 2, Structured + RS: LC minus raw win rate", unit="points"),
    "readme_n_wins": PaperValue(676, "official README, n_wins of 805", "code"),
    # Fig. 1b: persuasive (non-adversarial) responses all stay below 1 % LC
    "persuasive_lc": PaperValue(1.0, "Fig. 1b, persuasive baselines, LC win rate upper bound", unit="%"),
    # Table 4: Llama-3-8B-Instruct annotator, structured + RS (transfer), LC / raw / discrete
    "llama8b_rs_lc": PaperValue(95.4, "Table 4, Llama-3-8B-Instruct annotator, Structured + RS, LC", unit="%"),
    "llama8b_structured_lc": PaperValue(2.9, "Table 4, Llama-3-8B-Instruct annotator, Structured only, LC", unit="%"),
    # Table 5: paraphrased templates (Llama-3-8B-Instruct): the attack still wins
    "paraphrase_lc_min": PaperValue(90.0, "Table 5, lowest LC over four rewritten templates (Rewrite 4)", unit="%"),
    # Table 3: GPT-4 as an annotator agrees with humans (AlpacaEval's 2.5K human annotations)
    "gpt4_human_agreement": PaperValue(69.2, "Table 3, GPT-4 annotator, agreement with humans", unit="%"),
    # random-search settings (Sec. 4 / App. B)
    "rs_steps_ae": PaperValue(384, "Sec. 4, random-search steps T for AlpacaEval 2.0"),
    "rs_instructions_ae": PaperValue(10, "Sec. 4, training instructions N for AlpacaEval 2.0 (UltraFeedback)"),
    "rs_tokens": PaperValue(128, "official notebook: adversarial prefix length (128 tokens of ' }')", "code"),
}
