"""Chapter 05_meta_unlearning: meta-unlearning on diffusion models (Gao et al., arXiv 2410.12777).
``unlearn`` (the ESD and SDD losses, the meta objective, first-order as released and exact second-order
through ``torch.func``, the relearning attack, concept rates from a detector), ``digits`` (the CPU task: a
class-conditional DDPM on 8×8 digits and its digit detector), ``sd`` (the Stable Diffusion path of the
``gpu`` profile, with NudeNet as the detector), ``paper`` (the paper's numbers), ``datasets``. The DDPM
itself is ``lib.core.diffusion``."""
from lib.core.plot import register_colors
from lib.meta_unlearning import datasets  # noqa: F401  (registers the chapter's files)

register_colors({"esd": "#1f77b4", "meta-esd": "#d62728", "sdd": "#9467bd", "meta-sdd": "#e377c2"})
