"""Device detection, and the --check-gpu run for GPU machines."""

import keras
import numpy as np
import pytest

import mlmviz.device
from mlmviz import MaskedLMHead


def test_describe_names_cpu_or_every_gpu():
    names = mlmviz.device.gpu_names()
    description = mlmviz.device.describe()
    if names:
        assert all(name in description for name in names)
    else:
        assert description == "CPU"


def test_gpu_is_visible_and_runs_the_head(request):
    if not request.config.getoption("--check-gpu"):
        pytest.skip("run with --check-gpu on a GPU machine")
    assert mlmviz.device.gpu_names(), "no GPU visible to Keras"
    import tensorflow as tf

    with tf.device("/GPU:0"):
        embedding = keras.layers.ReversibleEmbedding(100, 16)
        head = MaskedLMHead(token_embedding=embedding)
        logits = head(np.random.rand(2, 8, 16).astype("float32"), np.array([[1], [7]]))
    assert "GPU" in logits.device
