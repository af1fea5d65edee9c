# Two commands do all the set-up on a fresh machine:
#   make demo   -- create/reuse .venv, install, run the main job on the bundled data
#   make test   -- create/reuse .venv, install, run the test suite
#
# torch build: KGLM_TORCH=cpu (default) | cuda | cu126, cu128, ... (one of PyTorch's CUDA indexes)
#   make demo                    # CPU build of torch, everywhere
#   make demo KGLM_TORCH=cuda    # PyPI's default Linux build (bundles CUDA; several GB)
# The build is chosen when $(VENV) is first set up: to switch, `make clean` or use another VENV=.
#
# How the CPU build is picked: torch is pinned to TORCH_VERSION and PyTorch's CPU index is
# passed as an *extra* index. PyPI serves torch 2.13.0 (the CUDA build); the CPU index
# serves 2.13.0+cpu. Both satisfy ==2.13.0 (a pin without a local label accepts any
# local label, PEP 440), and pip installs the highest matching version, where
# 2.13.0+cpu sorts above 2.13.0: the CPU wheel wins by pip's own rules. Where the
# CPU index cannot be reached, pip warns and goes on with what the other indexes and
# --find-links folders offer (a local folder holding 2.13.0+cpu still wins);
# --retries/--timeout keep an unreachable index from stalling the install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kglm-installed
KGLM_TORCH ?= cpu
TORCH_VERSION ?= 2.13.0
PIP_NET ?= --retries 1 --timeout 20
ifeq ($(KGLM_TORCH),cpu)
TORCH_INDEX := --extra-index-url https://download.pytorch.org/whl/cpu
else ifeq ($(KGLM_TORCH),cuda)
TORCH_INDEX :=
else
TORCH_INDEX := --extra-index-url https://download.pytorch.org/whl/$(KGLM_TORCH)
endif

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PIP_NET) $(TORCH_INDEX) "torch==$(TORCH_VERSION)"
	@$(PY) -W ignore -c "import sys, torch; cuda = torch.version.cuda; \
		print('torch', torch.__version__, '(CUDA ' + cuda + ' build)' if cuda else '(CPU build)'); \
		(cuda is None) == ('$(KGLM_TORCH)' == 'cpu') or print('WARNING: not the torch build KGLM_TORCH=$(KGLM_TORCH) asks for' \
		' (PyTorch index unreachable?): make clean, then retry', file=sys.stderr)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/kglm demo

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

clean:
	rm -rf $(VENV) .kglm_cache
