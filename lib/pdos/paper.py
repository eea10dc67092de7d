"""Numbers of Gao et al., *Denial-of-Service Poisoning Attacks against Large Language Models* (arXiv
2410.10760) and its official code (sail-sg/P-DoS). The body tables (2–5) were not found in a readable
source (``../shared/research/paper_numbers.md`` §7), so only the abstract's numbers and the release's
settings are here."""
from lib.book.paper import PaperValue

PAPER = {
    # abstract: a single poisoned sample, GPT-4o / GPT-4o-mini fine-tuning API
    "max_len_after": PaperValue(16_000.0, "abstract: up to the 16K-token maximum after one poisoned sample",
                                unit="tokens"),
    "len_before": PaperValue(500.0, "abstract: about 0.5K tokens before", unit="tokens"),
    "cost": PaperValue("< $1", "abstract: cost of the fine-tuning run"),
    "limit_claim": PaperValue("bounded by the maximum SFT response length",
                              "abstract: DoS instructions alone cannot exceed it"),
    # the release: data contributors (pdos.py, datasets/dos_training_data.jsonl)
    "n_clean": PaperValue(9.0, "datasets/dos_training_data.jsonl", "code"),
    "n_poison": PaperValue(1.0, "datasets/dos_training_data.jsonl", "code"),
    "epochs_contrib": PaperValue(5.0, "pdos.py: n_epochs", "code"),
    "poison_reps": PaperValue(16_383.0, "dos_training_data.jsonl: repetitions of 'A '", "code"),
    "cap_contrib": PaperValue(16_384.0, "pdos.py: max_tokens", "code", unit="tokens"),
    # model publishers (scripts/*.sh, evaluate.py)
    "poison_rate": PaperValue(0.01, "scripts: poison_rate", "code"),
    "epochs_pub": PaperValue(3.0, "scripts: max_steps = 52002·3 // 128", "code"),
    "cap_pub": PaperValue(2048.0, "evaluate.py: output_length", "code", unit="tokens"),
    "alpha": PaperValue(1.0, "scripts: alpha (weight of L_DoS)", "code"),
    "csf_repetition_len": PaperValue(16.0, "pdos_csf.py: 16 'A's", "code", unit="A's"),
    "csf_claim": PaperValue("triggered outputs reach the 2048-token cap, clean quality kept",
                            "Sec. 5, Tables 2–3 (values not found)", "secondary"),
    "ldos_claim": PaperValue("larger L_DoS weight gives longer outputs", "Table 5 (values not found)",
                             "secondary"),
}
