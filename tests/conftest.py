"""Shared pytest setup: quiet TensorFlow, the --check-gpu option."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pytest_addoption(parser):
    parser.addoption(
        "--check-gpu",
        action="store_true",
        help="fail unless Keras sees a GPU (for runs on a GPU machine)",
    )


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def default_model():
    """The shipped default model, loaded once for the whole run."""
    import mlmviz

    return mlmviz.load("default")
