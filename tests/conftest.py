"""Shared pytest setup: quiet TensorFlow, the --check-gpu option, the
`backends` marker, the shared default model, and the hypothesis profiles."""

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pytest_addoption(parser):
    parser.addoption(
        "--check-gpu",
        action="store_true",
        help="fail unless Keras sees a GPU (for runs on a GPU machine)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "backends: runs on every Keras backend; `make test` also runs these "
        "under KERAS_BACKEND=jax and KERAS_BACKEND=torch (pytest -m backends)",
    )


@pytest.fixture(scope="session")
def default_model():
    """The shipped default model, loaded once for the whole run."""
    import mlmviz

    return mlmviz.load("default")


# Hypothesis profiles for tests/test_properties.py: "default" keeps `make test`
# quick; "fuzz" (`make fuzz`: HYPOTHESIS_PROFILE=fuzz) runs over 10,000 examples.
settings.register_profile("default", max_examples=40, deadline=None)  # about 25 s
settings.register_profile(
    "fuzz", max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_terminal_summary(terminalreporter):
    """How many examples each property of tests/test_properties.py ran."""
    counts = getattr(sys.modules.get("test_properties"), "EXAMPLES", None)
    if counts:
        terminalreporter.section("hypothesis examples")
        for name, count in sorted(counts.items()):
            terminalreporter.write_line(f"{count:8,d}  {name}")
        terminalreporter.write_line(f"{sum(counts.values()):8,d}  in all")
