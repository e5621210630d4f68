.PHONY: install test slow validate bench lint
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
