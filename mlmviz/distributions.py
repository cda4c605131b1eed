"""Turning logits into displayable distributions, always in float32 numpy."""

import numpy as np


def softmax(logits, temperature=1.0):
    """Probabilities over the last axis of `logits / temperature`, float32.

    Raises:
        ValueError: when `temperature` is not a finite positive number.
    """
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be > 0. Received {temperature}")
    scaled = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=-1, keepdims=True)
