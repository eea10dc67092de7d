# Two commands on a fresh machine:  `make book` (execute every notebook, build _build/html)
#                                    `make test` (unit tests, every notebook through nbval, build, browser check)
# Both execute the notebooks the same way (`nbtest`: the runner injects parameters and provenance, nbval
# executes each notebook once, two at a time, and writes it back with its wall time).
# One chapter: `make nbtest CH=00_intro`; one notebook with papermill: `python -m lib.run 02_sea/01_dueling_bandit`.
# Paper scale: `make gpu CH=01_dft`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CH ?=
MATHJAX := book/_static/mathjax/tex-mml-chtml.js
# The offline data mirror, when there is one beside the checkout (CI); otherwise lib.book.data downloads.
export BOOK_DATA ?= $(if $(wildcard ../shared/data/SOURCES.md),../shared/data,)
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PYTHONUNBUFFERED := 1

.PHONY: book test deps venv notebooks nbtest results html unit render gpu gpu-smoke clean

book: venv $(MATHJAX) nbtest results html

test: deps venv $(MATHJAX) unit nbtest results html render

# System packages (Debian/Ubuntu names; README "Install on a fresh machine"): Python 3.11 with venv, git (provenance),
# CA certificates (data downloads), npm (MathJax), Chromium (browser test), Quantum ESPRESSO + its data (DFT reference).
deps:
	@missing=""; python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || missing="$$missing python3"; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v git >/dev/null || missing="$$missing git"; \
	test -e /etc/ssl/certs/ca-certificates.crt || missing="$$missing ca-certificates"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pw.x >/dev/null || missing="$$missing quantum-espresso"; \
	test -e /usr/share/espresso/pseudo/H.coulomb-ae.UPF || missing="$$missing quantum-espresso-data"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "please install:$$missing (Debian packages)"; exit 1; fi; fi

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# MathJax 3 served from the book itself, so pages render math offline.
$(MATHJAX):
	rm -rf /tmp/mathjax-pack && mkdir -p /tmp/mathjax-pack book/_static/mathjax/output/chtml/fonts
	cd /tmp/mathjax-pack && npm pack -q mathjax@3.2.2 >/dev/null && tar xzf mathjax-3.2.2.tgz
	cp /tmp/mathjax-pack/package/es5/tex-mml-chtml.js book/_static/mathjax/
	cp -r /tmp/mathjax-pack/package/es5/output/chtml/fonts/woff-v2 book/_static/mathjax/output/chtml/fonts/

notebooks:   # papermill executes the notebooks at their defaults into book/, two side by side
	$(PY) -m lib.run -j 2 $(CH)

nbtest:      # the same notebooks executed once by nbval, outputs written back into book/
	$(PY) -m lib.run --prepare-only --profile ci $(CH)
	$(PY) -m pytest -n 2 --dist loadfile -p lib.book.nbval_writeback --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout 900 -q book/$(CH)

results:
	$(PY) -m lib.book.results

html:
	$(VENV)/bin/jupyter-book build . -W --keep-going --all

unit:
	$(PY) -m pytest -n 2 -q tests --ignore=tests/book/test_render.py

render:
	$(PY) -m pytest -q tests/book/test_render.py

gpu:
	$(PY) -m lib.run $(CH) --profile gpu

# The first thing to run on a lent GPU (~8 min): pytest -m gpu + the hub-free gpu-profile notebooks, reduced;
# writes benchmarks/gpu_smoke_report.md. Without CUDA: a dry run on the CPU (_build/gpu_smoke_report_dry.md).
gpu-smoke:
	$(PY) benchmarks/gpu_smoke.py

clean:
	rm -rf _build book/*/*.ipynb book/results.md book/_generated
