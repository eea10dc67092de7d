"""Chapter 08_llm_unlearning: Yuan et al., *A Closer Look at Machine Unlearning for Large Language
Models* (arXiv 2410.08109, ICLR 2025). ``losses`` (GA, GD, KL, NPO, DPO, IDK, ME, AP and their
combinations by name, with the release's quirks), ``metrics`` (TOFU's ROUGE-L recall, probability, truth
ratio, forget quality, model utility; the paper's token entropy, cosine similarity, entailment and its
CPU substitute; MU and FE), ``tofu`` (the real TOFU splits and a procedural world in one format),
``embed`` (offline all-MiniLM-L6-v2 embeddings), ``toy`` (the tiny-GPT unlearning experiment),
``datasets`` (TOFU files and official eval logs), ``paper`` (the paper's settings)."""
from lib.core.plot import register_colors
from lib.llm_unlearning import datasets  # noqa: F401  (registers the chapter's files)

COLORS = {"GA": "#8c564b", "GA+GD": "#d62728", "NPO+GD": "#ff7f0e",
          "ME+GD": "#2ca02c", "IDK+GD": "#9467bd", "IDK+AP": "#17becf", "DPO+GD": "#e377c2",
          "DPO+AP": "#bcbd22"}
register_colors(COLORS)
