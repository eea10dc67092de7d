"""The numbers of SimLayerKV (Zhang et al., arXiv 2410.13846 v1, "SimLayerKV: A Simple Framework for
Layer-Level KV Cache Reduction") and of its release ``sail-sg/SimLayerKV`` (HEAD 1fb6bda).

The v1 paper body (its Table 1, compression ratios, lazy-layer fractions, δ ablation) could not be
retrieved: later versions of the arXiv id are a different paper (LightTransfer, TMLR). Only the abstract's
numbers are "paper"; thresholds and window sizes come from the released code ("code"); LightTransfer's
LongBench averages are quoted as "secondary" context (``../shared/research/paper_numbers.md`` §4)."""
from lib.book.paper import PaperValue

PAPER = {
    # abstract (v1)
    "compression_with_kivi": PaperValue(5.0, "abstract: compression with 4-bit quantisation", "paper", "×"),
    "drop_with_kivi": PaperValue(1.2, "abstract: performance drop at 5× compression", "paper", "%"),
    "n_longbench_tasks": PaperValue(16, "abstract: LongBench tasks evaluated", "paper"),
    # released code (LongBench/pred.py, SimLayerKV_attention_llama.py)
    "delta_llama3": PaperValue(0.9, "pred.py threshold for LLaMA3-8B-Instruct", "code"),
    "delta_llama2": PaperValue(0.65, "pred.py threshold for LLaMA2-7B-chat", "code"),
    "delta_mistral": PaperValue(0.8, "pred.py threshold for Mistral-7B-Instruct", "code"),
    "delta_qwen": PaperValue(0.85, "pred.py threshold for Qwen2.5-3B-Instruct", "code"),
    "n_init": PaperValue(4, "SimLayerKV_attention_llama.py: initial tokens", "code", "tokens"),
    "n_recent": PaperValue(1024, "SimLayerKV_attention_llama.py: recent tokens", "code", "tokens"),
    "w_last_decoding": PaperValue(1, "released decoding variant: the first generated token's row", "code", "rows"),
    "w_last_prefilling_code": PaperValue(32, "commented-out prefilling variant: last 32 prompt rows", "code", "rows"),
    # LightTransfer (the later paper at the same arXiv id), Table 2: LongBench averages over 16 tasks
    "lt_llama3_full": PaperValue(40.8, "LightTransfer Table 2, LLaMA3-8B-Instruct, full cache", "secondary"),
    "lt_llama3_streaming": PaperValue(36.1, "LightTransfer Table 2, LLaMA3-8B-Instruct, StreamingLLM", "secondary"),
    "lt_llama3_lazy50": PaperValue(38.7, "LightTransfer Table 2, LLaMA3-8B-Instruct, 50 % lazy layers", "secondary"),
    "lt_mistral_full": PaperValue(47.6, "LightTransfer Table 2, Mistral-7B-Instruct, full cache", "secondary"),
    "lt_mistral_streaming": PaperValue(37.4, "LightTransfer Table 2, Mistral-7B-Instruct, StreamingLLM", "secondary"),
    "lt_mistral_lazy50": PaperValue(47.4, "LightTransfer Table 2, Mistral-7B-Instruct, 50 % lazy layers", "secondary"),
}
