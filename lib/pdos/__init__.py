"""Chapter 07_pdos: denial-of-service poisoning of LLMs (P-DoS; Gao et al., arXiv 2410.10760).
``tasks`` (procedural instructions and the character vocabulary), ``poison`` (the data contributor's
DoS sample, CSF responses, poisoning at a rate with a trigger, the released 9+1 file), ``ldos`` (the
L_DoS term with a real gradient, the released constant form, the released length metric),
``experiment`` (SFT / fine-tuning / length measurement of the tiny Llama), ``paper`` (the paper's
numbers), ``datasets`` (the released poison file). SFT and length metrics: ``lib.core.generation``."""
from lib.core.plot import register_colors
from lib.pdos import datasets  # noqa: F401  (registers the chapter's files)

register_colors({"pdos clean": "#1f77b4", "pdos poisoned": "#d62728", "pdos control": "#7f7f7f",
                 "pdos triggered": "#ff7f0e"})
