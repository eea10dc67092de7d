"""Chapter 04_simlayerkv: layer-level KV-cache reduction (SimLayerKV, Zhang et al., arXiv 2410.13846).
``task`` (typed values hidden in Bigram-Backcopy filler with a fixed BOS, and the task model's training),
``experiments`` (policy sweeps and diagnostics over held-out inputs, on top of ``lib.core.kv_cache``),
``longbench`` (the ``gpu`` profile: LongBench prompts and F1 through the same library path), ``paper``
(the paper's and the release's numbers), ``datasets`` (LongBench's prompt files)."""
from lib.core.plot import register_colors
from lib.simlayerkv import datasets  # noqa: F401  (registers the chapter's files)

register_colors({"full cache": "#333333", "simlayerkv": "#d62728", "simlayerkv-decoding": "#ff9896",
                 "streamingllm": "#1f77b4", "random layers": "#9467bd", "oracle": "#2ca02c"})
