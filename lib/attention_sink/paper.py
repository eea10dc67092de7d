"""The numbers of *When Attention Sink Emerges in Language Models: An Empirical View* (Gu et al., arXiv
2410.10781, ICLR 2025) that the 06_attention_sink notebooks quote, plot or compare against.

All are read from a full-text transcription of the paper (``../shared/research/paper_numbers.md`` §6:
viktor-shcherb/msc_thesis, ``references/2025-04-attention-sink-emerges``), so they count as "paper".
Sink values are percentages of heads; the default model is the paper's 60M Llama trained on 5B Pile
tokens for 20k steps at lr 4e-4 (Sink₁ 18.18 %, validation loss 3.73)."""
from lib.book.paper import PaperValue

# Table 2's weight decays γ and the key suffix of their entries in PAPER (wd_<suffix>_sink1, wd_<suffix>_loss)
WEIGHT_DECAYS = {0.0: "0", 0.1: "0p1", 0.5: "0p5", 1.0: "1", 2.0: "2", 5.0: "5"}

PAPER = {
    # Sec. 3: the metric
    "eps": PaperValue(0.3, "Sec. 3: threshold ε of Sink₁^ε"),
    "probe_len": PaperValue(64, "Sec. 3: tokens per probe sequence T", unit="tokens"),
    "n_probe": PaperValue(100, "Sec. 3: probe sequences", unit="sequences"),
    # Table 1: open models on natural text
    "gpt2_xl_sink1": PaperValue(77.00, "Table 1, GPT2-XL", unit="%"),
    "mistral_7b_sink1": PaperValue(97.49, "Table 1, Mistral-7B", unit="%"),
    "llama2_7b_sink1": PaperValue(92.47, "Table 1, LLaMA2-7B", unit="%"),
    "llama3_8b_sink1": PaperValue(99.02, "Table 1, LLaMA3-8B", unit="%"),
    # the default 60M run (Sec. 4 and every ablation table's default row)
    "first_only": PaperValue("the sink is the first token; other positions ≈ 0", "Sec. 3 and Fig. 3 (Sink_k vs k)"),
    "model_size": PaperValue("60M", "Sec. 4: the default Llama's parameters"),
    "train_tokens": PaperValue("5B", "Sec. 4: Pile tokens of the default run"),
    "train_steps": PaperValue(20_000, "Sec. 4: optimiser steps of the default run", unit="steps"),
    "lr": PaperValue(4e-4, "Sec. 4 / Table 9: default peak learning rate"),
    "default_sink1": PaperValue(18.18, "Tables 2-6 and 9, default row (60M, 5B tokens, lr 4e-4)", unit="%"),
    "default_loss": PaperValue(3.73, "Tables 2-6, default row: validation loss", unit="nats/token"),
    "emergence": PaperValue("between 1k and 2k steps", "Fig. 4 (middle): Sink₁ vs training steps, 60M"),
    "sink_at_init": PaperValue("≈ 0 % before 1k steps", "Fig. 4 (middle)"),
    # Table 9: learning rate (Sink₁ after 20k steps)
    "lr_hi": PaperValue(8e-4, "Table 9: largest learning rate"),
    "lr_mid": PaperValue(2e-4, "Table 9: second-smallest learning rate"),
    "lr_low": PaperValue(1e-4, "Table 9: smallest learning rate"),
    "lr_8e-4_sink1": PaperValue(32.23, "Table 9, lr 8e-4, 20k steps", unit="%"),
    "lr_4e-4_sink1": PaperValue(18.18, "Table 9, lr 4e-4, 20k steps", unit="%"),
    "lr_2e-4_sink1": PaperValue(11.21, "Table 9, lr 2e-4, 20k steps", unit="%"),
    "lr_1e-4_sink1": PaperValue(2.90, "Table 9, lr 1e-4, 20k steps", unit="%"),
    "lr_ratio": PaperValue(2.90 / 18.18, "Table 9: Sink₁ at lr 1e-4 over Sink₁ at lr 4e-4 (2.90 / 18.18)"),
    # Table 6: attention operation
    "softmax_sink1": PaperValue(18.18, "Table 6, softmax", unit="%"),
    "softmax_loss": PaperValue(3.73, "Table 6, softmax: validation loss", unit="nats/token"),
    "sigmoid_sink1": PaperValue(0.44, "Table 6, sigmoid without normalisation, 60M", unit="%"),
    "sigmoid_loss": PaperValue(3.70, "Table 6, sigmoid without normalisation: validation loss", unit="nats/token"),
    "sigmoid_1b_sink1": PaperValue(2.46, "Sec. 7 / Table 6, sigmoid without normalisation, 1B", unit="%"),
    "sigmoid_dloss": PaperValue(3.70 - 3.73, "Table 6: validation loss, sigmoid w/o norm minus softmax "
                                "(3.70 − 3.73)", unit="nats/token"),
    "signorm_sink1": PaperValue(30.24, "Table 6, sigmoid with normalisation", unit="%"),
    "signorm_loss": PaperValue(3.74, "Table 6, sigmoid with normalisation: validation loss", unit="nats/token"),
    # Table 4: learnable key / value biases
    "kbias_sink1": PaperValue(0.00, "Table 4, learnable key bias: Sink₁ on the first token", unit="%"),
    "kbias_sinkstar": PaperValue(73.34, "Table 4, learnable key bias: Sink₁* on the bias", unit="%"),
    "kbias_loss": PaperValue(3.72, "Table 4, learnable key bias: validation loss", unit="nats/token"),
    "vbias_sink1": PaperValue(17.53, "Table 4, learnable value bias only", unit="%"),
    "vbias_loss": PaperValue(3.73, "Table 4, learnable value bias only: validation loss", unit="nats/token"),
    # Sec. 5 and Fig. 28: data amount
    "small_data_sink1": PaperValue(1.0, "Sec. 5 and Fig. 28: Sink₁ stays below this with 50M or 100M tokens",
                                   unit="%"),
    "small_data_tokens": PaperValue("50M or 100M", "Sec. 5 and Fig. 28: the smallest training sets"),
    "small_data_min": PaperValue(50e6, "Sec. 5: the smallest training set", unit="tokens"),
    "small_data_max": PaperValue(100e6, "Sec. 5 and Fig. 28: the largest training set with Sink₁ < 1 %",
                                 unit="tokens"),
    "data_claim": PaperValue("18.18 % at 5B tokens; < 1 % at 50M–100M tokens", "Sec. 5, Fig. 28"),
    # Table 2: weight decay γ (Sink₁ after 20k steps, validation loss); paper_numbers.md §6 adds γ = 0.001
    "wd_0_sink1": PaperValue(15.20, "Table 2, weight decay γ = 0", unit="%"),
    "wd_0_loss": PaperValue(3.72, "Table 2, γ = 0: validation loss", unit="nats/token"),
    "wd_0p1_sink1": PaperValue(18.18, "Table 2, weight decay γ = 0.1 (the default)", unit="%"),
    "wd_0p1_loss": PaperValue(3.73, "Table 2, γ = 0.1: validation loss", unit="nats/token"),
    "wd_0p5_sink1": PaperValue(41.08, "Table 2, weight decay γ = 0.5 (the largest sink)", unit="%"),
    "wd_0p5_loss": PaperValue(3.80, "Table 2, γ = 0.5: validation loss", unit="nats/token"),
    "wd_1_sink1": PaperValue(37.71, "Table 2, weight decay γ = 1", unit="%"),
    "wd_1_loss": PaperValue(3.90, "Table 2, γ = 1: validation loss", unit="nats/token"),
    "wd_2_sink1": PaperValue(6.13, "Table 2, weight decay γ = 2", unit="%"),
    "wd_2_loss": PaperValue(4.23, "Table 2, γ = 2: validation loss", unit="nats/token"),
    "wd_5_sink1": PaperValue(0.01, "Table 2, weight decay γ = 5", unit="%"),
    "wd_5_loss": PaperValue(5.24, "Table 2, γ = 5: validation loss", unit="nats/token"),
    "wd_dloss": PaperValue(5.24 - 3.73, "Table 2: validation loss at γ = 5 minus at γ = 0.1 (5.24 − 3.73)",
                           unit="nats/token"),
    "wd_ratio": PaperValue(0.01 / 18.18, "Table 2: Sink₁ at γ = 5 over Sink₁ at γ = 0.1 (0.01 / 18.18)"),
    "schedule": PaperValue("cosine decay after 100 warm-up steps", "Sec. 4 (experimental setup) of the paper's "
                           "text; the official config sets min_lr = lr, i.e. constant (paper_numbers.md §6)"),
    # Table 10 (right) and the random-token runs: the sink attaches to the fixed token wherever it sits
    "fixed_k1_sink": PaperValue(74.11, "Table 10 (right), fixed token at position k = 1: Sink₁", unit="%"),
    "fixed_k2_sink": PaperValue(69.03, "Table 10 (right), fixed token at position k = 2: Sink₂", unit="%"),
    "fixed_k3_sink": PaperValue(69.64, "Table 10 (right), fixed token at position k = 3: Sink₃", unit="%"),
    "fixed_elsewhere": PaperValue("≈ 0 % at every position other than the fixed token's",
                                  "Table 10 (right)"),
    "random_first_sink1": PaperValue(27.03, "random-token runs, x₁ random (no fixed token): Sink₁ "
                                     "(paper_numbers.md §6)", unit="%"),
    "random_x2_sink1": PaperValue(20.99, "random-token runs, only x₂ random: Sink₁ (paper_numbers.md §6)",
                                  unit="%"),
}
