"""Chapter 10_vocab_scaling: scaling laws with vocabulary (Tao et al., arXiv 2407.13623). ``laws`` (the
three published predictors, their refits on the paper's data, the tiny IsoFLOP study), ``datasets``
(the paper's measurements)."""
from lib.vocab_scaling import datasets  # noqa: F401  (registers the chapter's files)
