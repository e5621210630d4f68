.PHONY: install test slow validate bench lint notebooks nbmake
install:
	python3 -m pip install -e ".[dev]"
test:
	python3 -m pytest
slow:
	python3 -m pytest -m slow
validate:
	python3 -m virtmodel validate
bench:
	python3 benchmarks/bench_fcfs.py
lint:
	ruff check virtmodel tests benchmarks
# executed copies of notebooks/*.py, with their figures, in build/notebooks/ (not committed); needs .[notebooks]
notebooks:
	mkdir -p build/notebooks
	for f in notebooks/*.py; do \
		jupytext --to ipynb --execute --output build/notebooks/$$(basename $$f .py).ipynb $$f || exit 1; \
	done
# the notebooks as nbmake tests (dev extra; no nbconvert needed): unexecuted .ipynb copies in build/nbmake/,
# then pytest --nbmake runs them; short runs; 06_real_data needs its datasets (virtmodel data fetch ...)
nbmake:
	mkdir -p build/nbmake
	for f in notebooks/*.py; do \
		jupytext --to ipynb --output build/nbmake/$$(basename $$f .py).ipynb $$f || exit 1; \
	done
	VIRTMODEL_NB_CUSTOMERS=3000 MPLBACKEND=Agg python3 -m pytest --nbmake build/nbmake
# the paper, paper/virtmodel.pdf, from the figures, tables and derivations in paper/ (committed; `make reproduce`
# rebuilds them); installs Debian's TeX Live first when latexmk is missing (apt-get, with sudo unless root)
.PHONY: paper texlive reproduce
paper:
	command -v latexmk >/dev/null 2>&1 || $(MAKE) texlive
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error virtmodel.tex
texlive:
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends \
		latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-bibtex-extra
# every figure and table of the paper (paper/figures, paper/tables, paper/derivations); needs the real data
# (VIRTMODEL_DATA) for the Azure, call-centre and clock-measurement items and pyarrow (.[paper]) for the sweep stores
reproduce:
	python3 -m virtmodel reproduce
# the documentation site in build/docs/ (needs .[docs]; sphinx-build with warnings as errors); the notebooks run short
# (VIRTMODEL_NB_CUSTOMERS=3000 unless set) and are cached in build/docs-jupyter-cache/; 06_real_data needs its datasets
.PHONY: docs
docs:
	python3 -m sphinx -W --keep-going -n -b html docs build/docs
