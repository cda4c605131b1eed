# The two commands of the README: `make run` and `make test`.
VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test fuzz chromium nginx

run: $(VENV)/.installed-run
	$(PYTHON) -m streamlit run app.py --server.port 8501 --server.address localhost

# The whole suite on TensorFlow, then the `backends` tests on JAX and on PyTorch.
test: $(VENV)/.installed-test chromium nginx
	$(PYTHON) -m pytest
	KERAS_BACKEND=jax $(PYTHON) -m pytest -m backends
	KERAS_BACKEND=torch $(PYTHON) -m pytest -m backends

# The property tests with over 10,000 generated inputs (minutes); prints the count.
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=fuzz $(PYTHON) -m pytest tests/test_properties.py -p no:randomly \
		--hypothesis-show-statistics

$(PYTHON):
	python3 -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(PYTHON)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-dev.txt | $(PYTHON)
	$(PIP) install -r requirements.txt -r requirements-dev.txt
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
