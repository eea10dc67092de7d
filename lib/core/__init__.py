"""Kernels and trainers shared by two or more chapters: ``models`` (tiny ``transformers`` models from
configs, hub models by name), ``train`` (the one Accelerate training loop), ``tokenizer``, ``lm_eval``
(held-out loss, n-gram baselines, sample quality and speed), ``preference`` (DPO / IPO / SLiC losses),
``attention`` (attention variants and sink metrics), ``bigram_backcopy`` (the sink-inducing task),
``flops`` (training FLOPs term by term), ``kv_cache`` (per-layer KV-cache policies, trimming and counted
generation), ``diffusion`` (a small DDPM with classifier-free guidance), ``generation`` (completion-only
SFT and output-length metrics),
``scaling_laws`` (power-law and IsoFLOP fits) and ``plot`` (colours and plotting helpers).
Never imports a paper package."""
