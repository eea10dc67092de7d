"""Chapter 06_attention_sink: when attention sinks emerge (Gu et al., arXiv 2410.10781). ``sink``
(training runs on Bigram-Backcopy with any attention variant of ``lib.core.attention``, sink metrics
during training, sweeps, natural-text probes) and ``mechanism`` (the no-op: copy accuracy, output norms at
idle and trigger positions, the sink token's key/value norms and cosines)."""
