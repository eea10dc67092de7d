"""The machinery that runs and publishes the book: ``paths`` (where things live), ``nb`` (one-line
notebook setup), ``style`` (the figure style), ``run`` (the papermill runner behind ``python -m lib.run``),
``claims`` (asserted, glued, recorded numbers), ``results`` (the results page), ``data`` (the dataset
registry and loader) and ``nbval_writeback`` (the pytest plugin that keeps what nbval executed).
Used by every chapter; imports neither ``lib.core`` nor a paper package."""
