"""Chapter 09_cheating_benchmarks: null models that win automatic LLM benchmarks (Zheng et al., arXiv
2410.07137). ``winrates`` (AlpacaEval 2.0's preference, raw / discrete / length-controlled win rates),
``benchmarks`` (MT-Bench averaging, Arena-Hard's Bradley–Terry score with bootstrap intervals, verdict
parsers), ``templates`` (the judges' prompt templates and the released cheating responses), ``attack`` (the
random search over adversarial tokens against any judge that returns log-probs), ``client`` (an
OpenAI-compatible judge), ``toy`` (the procedural instruction world and the small judge trained on it),
``defences`` (template paraphrases and a perplexity filter), ``datasets``, ``paper``."""
from lib.core.plot import register_colors
from lib.cheating import datasets  # noqa: F401  (registers the chapter's files)

register_colors({"null model": "#d62728", "empty constant": "#7f7f7f", "structured only": "#ff7f0e",
                 "search only": "#9467bd", "structured + search": "#8c564b", "real models": "#1f77b4"})
