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
