"""The shared library of *Ten Papers, Executed*: infrastructure (paths, notebook setup, data, runner,
claims, plotting) and shared ML parts (models, training loop, tokenizers). Paper modules sit beside them."""
