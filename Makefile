# The two commands of the README: `make run` and `make test`.
VENV := .venv
PYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# uv installs the requirements (seconds from its cache, where pip takes minutes);
# `make INSTALLER=pip ...` installs with pip instead. uv reads no pip
# configuration, so the find-links pip is given in PIP_FIND_LINKS are passed on.
INSTALLER ?= uv
UV := $(VENV)/bin/uv
ifeq ($(INSTALLER),pip)
INSTALL := $(PYTHON) -m pip install
INSTALL_TOOL :=
else
INSTALL := $(UV) pip install --python $(PYTHON) $(addprefix --find-links ,$(PIP_FIND_LINKS))
INSTALL_TOOL := $(UV)
endif
# Test processes per leg (pytest-xdist; a file's tests stay in one process, so its
# module fixtures are built once): the browser, server and subprocess tests wait
# more than they compute.
WORKERS ?= 2

.PHONY: run test check fuzz chromium nginx

run: $(VENV)/.installed-run
	$(PYTHON) -m streamlit run app.py --server.port 8501 --server.address localhost

# The whole suite on TensorFlow, then the `backends` tests on JAX and on PyTorch.
# JAX keeps what it compiled in a folder of this run (a new model object tracing
# a program compiled before reuses it), removed at the end.
test: $(VENV)/.installed-test chromium nginx
	$(PYTHON) -m pytest -n $(WORKERS) --dist loadfile
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
		KERAS_BACKEND=jax JAX_COMPILATION_CACHE_DIR="$$cache" \
		JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1 \
		$(PYTHON) -m pytest -m backends -n $(WORKERS) --dist loadfile
	KERAS_BACKEND=torch $(PYTHON) -m pytest -m backends

# The quick loop while working: the TensorFlow tests without the browser, the
# servers, the wheel and Ray (make test runs everything).
check: $(VENV)/.installed-test
	$(PYTHON) -m pytest -n $(WORKERS) --dist loadfile --ignore=tests/e2e \
		--ignore=tests/test_wheel.py --ignore=tests/analysis/test_ray_evaluation.py

# The property tests with over 10,000 generated inputs (minutes); prints the count.
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=fuzz $(PYTHON) -m pytest tests/test_properties.py -p no:randomly \
		--hypothesis-show-statistics

$(PYTHON):
	python3 -m venv $(VENV)

$(UV): | $(PYTHON)
	$(PYTHON) -m pip install --quiet uv==0.13.8

# The checkout itself is installed in editable mode, so that .venv/bin/python and
# .venv/bin/mlmviz find mlmviz from any folder.
$(VENV)/.installed-run: requirements.txt pyproject.toml | $(PYTHON) $(INSTALL_TOOL)
	$(INSTALL) -r requirements.txt
	$(INSTALL) --no-deps -e .
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-dev.txt pyproject.toml | $(PYTHON) $(INSTALL_TOOL)
	$(INSTALL) -r requirements.txt -r requirements-dev.txt
	$(INSTALL) --no-deps -e .
	touch $@ $(VENV)/.installed-run

# Debian's Chromium for the browser tests (Playwright drives it; no download).
chromium:
	@command -v chromium >/dev/null || { \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium; }

# Debian's nginx for the replica tests (tests/e2e/test_replicas.py runs its own nginx).
nginx:
	@[ -x /usr/sbin/nginx ] || { \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y nginx; }
