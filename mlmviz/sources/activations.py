"""Activation functions named as Hugging Face configs name them."""

import keras

from mlmviz.sources.checkpoints import CheckpointError


@keras.saving.register_keras_serializable(package="mlmviz")
def gelu_tanh(x):
    """GELU with the tanh approximation (HF's "gelu_new"), serializable."""
    return keras.activations.gelu(x, approximate=True)


_HF_NAMES = {
    "gelu": keras.activations.gelu,  # exact (erf), as in HF's "gelu"
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_tanh,
    "relu": keras.activations.relu,
    "silu": keras.activations.silu,
    "swish": keras.activations.silu,
    "tanh": keras.activations.tanh,
}


def from_hf_name(name):
    """The Keras activation for an HF `hidden_act` name.

    Raises:
        CheckpointError: for a name mlmviz does not know.
    """
    if name not in _HF_NAMES:
        raise CheckpointError(
            f"Unsupported activation {name!r}; known: {', '.join(sorted(_HF_NAMES))}."
        )
    return _HF_NAMES[name]
