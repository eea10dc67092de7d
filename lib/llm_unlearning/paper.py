"""The numbers and claims of Yuan et al. (arXiv 2410.08109, ICLR 2025) that chapter 08 quotes, with their
sources. The paper's tables (MU/FE per method on forget01/05/10, continual curves, real-world results)
could not be transcribed here (``shared/research/paper_numbers.md``, section 8: not found), so the
chapter compares orderings, not values; the settings below come from the official release's configs."""
from lib.book.paper import PaperValue

PAPER = {
    # settings of the official release (config/tofu.yaml, scripts/tofu/*.sh)
    "lr": PaperValue(1e-5, "config/tofu.yaml, TOFU runs", "code"),
    "epochs": PaperValue(5, "config/tofu.yaml", "code"),
    "beta": PaperValue(0.1, "config/tofu.yaml (NPO, DPO, AP)", "code"),
    "me_coeff": PaperValue(0.1, "config/tofu.yaml, forget_coeff for ME+GD", "code"),
    "ap_coeff": PaperValue(1.0, "config/tofu.yaml, IDK+AP forget/regularization coefficients", "code"),
    "batch": PaperValue(32, "scripts: 4 per device x 4 accumulation x 2 GPUs", "code"),
    "ds_size": PaperValue(300, "eval ds_size", "code"),
    "model": PaperValue("locuslab/tofu_ft_llama2-7b", "config/tofu.yaml", "code"),
    "embedder": PaperValue("paraphrase-MiniLM-L6-v2", "metrics/metrics.py, cosine similarity", "code"),
    "nli": PaperValue("sileod/deberta-v3-base-tasksource-nli", "metrics/metrics.py, entailment", "code"),
    # continual unlearning (forget.py, scripts/continual_tofu/*.sh)
    "continual_tasks": PaperValue(10, "scripts/continual_tofu: forget01 split into tasks 1-10, applied in order", "code"),
    "continual_me_coeff": PaperValue(1.0, "scripts/continual_tofu/me_gd.sh, forget_coeff", "code"),
    # qualitative claims (abstract, Sec. 4-5); the table values are not available to us
    "untargeted_collapse": PaperValue(
        "GA/NPO-type untargeted unlearning produces unpredictable, often repetitive output on the forget set",
        "abstract; qualitative tables"),
    "me_best": PaperValue("ME+GD gives the best MU/FE trade-off among untargeted methods",
                          "abstract; Table 1 (values not transcribed)"),
    "idk_over_refusal": PaperValue(
        "IDK+GD under-regularises: the model also refuses retain questions; AP fixes it",
        "abstract ('insufficient regularization'); Sec. 5"),
    "ap_keeps_utility": PaperValue("IDK+AP keeps model utility while refusing forget questions",
                                   "abstract; Table 1 (values not transcribed)"),
    "continual": PaperValue("ME+GD and IDK+AP stay effective when forget requests arrive in sequence",
                            "abstract; continual-unlearning figure (values not transcribed)"),
    # TOFU (Maini et al. 2024): forget quality of a model never trained on the forget set is 1
    "fq_retain": PaperValue(1.0, "TOFU: KS test of the retain model against itself", "code"),
}
