"""The library behind *Ten Papers, Executed*, in three layers:

- ``lib.book``: the machinery that runs and publishes the book (runner, notebook setup, claims, results
  page, data registry, nbval plugin, paths). It imports neither of the layers below.
- ``lib.core``: kernels and trainers shared by two or more papers (models, training loop, tokenizers,
  evaluation, preference losses, attention kernels, scaling-law fits, the figure style). It never imports
  a paper package.
- one package per paper, named after its chapter (``lib.dft``, ``lib.sea``, ``lib.smdm``,
  ``lib.attention_sink``, ``lib.vocab_scaling``, ...): its algorithms, procedural tasks, dataset
  registrations and figure colours. Paper packages never import each other.

``tests/test_layout.py`` enforces these rules. ``python -m lib.run`` is the book's command line."""
