"""Turning logits into displayable distributions, always in float32 numpy."""

import numpy as np


def softmax(logits, temperature=1.0):
    """Probabilities over the last axis of `logits / temperature`, float32.

    Raises:
        ValueError: when `temperature` is not a finite positive number.
    """
    check_temperature(temperature)
    scaled = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=-1, keepdims=True)


def entropy(probabilities):
    """Entropy in nats over the last axis, float32 (0 * log 0 counts as 0)."""
    p = np.asarray(probabilities, dtype=np.float32)
    logs = np.log(np.where(p > 0, p, 1.0))
    return -(p * logs).sum(axis=-1)


def rank(probabilities, token_id):
    """1-based rank of `token_id` in one distribution (1 = most probable).

    Ties share the better rank: the rank is 1 + the number of tokens with a
    strictly higher probability.
    """
    p = np.asarray(probabilities, dtype=np.float32)
    return int((p > p[token_id]).sum()) + 1


def check_temperature(temperature):
    """Raise `ValueError` unless `temperature` is a finite number > 0."""
    try:
        valid = bool(np.isfinite(temperature) and temperature > 0)
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(f"temperature must be > 0. Received {temperature!r}")
    return float(temperature)
