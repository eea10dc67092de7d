"""Chapter 03_smdm: masked diffusion language models (Nie et al., arXiv 2410.18514). ``mdm`` (the ELBO
loss, exact ELBO, sampler, unsupervised classifier-free guidance, ARM/MDM training and scaling runs),
``reverse_curse`` (procedural facts and Berglund et al.'s files), ``misleading_prior`` (the zero-shot
task for guidance), ``datasets`` (Berglund et al.'s files)."""
from lib.core.plot import register_colors
from lib.smdm import datasets  # noqa: F401  (registers the chapter's files)

register_colors({"ar": "#1f77b4", "mdm": "#d62728"})
