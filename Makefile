# Two entry points for a newcomer: `make demo` and `make test`. Both create .venv and
# install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench bench-data bench-train bench-infer bench-render bench-ikea-reference bench-ttq clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# torch 2.13.0 is the version shapespace is developed against (a CPU build where one is
	# available locally); pyproject.toml accepts any torch 2.x from 2.2.
	$(BIN)/pip install --quiet "torch==2.13.0" || $(BIN)/pip install --quiet "torch>=2.2,<3"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/shapespace demo --out runs/demo --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/demo_quality.py

bench-data: $(STAMP)
	$(BIN)/python benchmarks/data_prepare.py

bench-train: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py

bench-infer: $(STAMP)
	$(BIN)/python benchmarks/bench_infer.py

bench-render: $(STAMP)
	$(BIN)/python benchmarks/bench_render.py

bench-ikea-reference: $(STAMP)
	$(BIN)/python benchmarks/ikea_reference.py

# Hours of training in the background; resumable (run it again to continue).
bench-ttq: $(STAMP)
	$(BIN)/python benchmarks/time_to_quality.py --minutes 60 --eval-every 10

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
