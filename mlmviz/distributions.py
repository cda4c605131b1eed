"""Turning logits into displayable distributions, always in float32 numpy."""

import math
import numbers

import numpy as np

FLOAT32 = np.finfo(np.float32)


def softmax(logits, temperature=1.0):
    """Probabilities over the last axis of `logits / temperature`, float32.

    The maximum is subtracted before dividing, so a tiny temperature gives
    the arg-max (ties shared) instead of overflowing into NaN.

    Raises:
        ValueError: when `temperature` is not a finite positive number.
    """
    temperature = float32_temperature(check_temperature(temperature))
    logits = np.asarray(logits, dtype=np.float32)
    with np.errstate(over="ignore"):  # gaps / tiny temperature -> -inf -> probability 0
        scaled = (logits - logits.max(axis=-1, keepdims=True)) / temperature
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
    """`temperature` as a float; `ValueError` unless it is a finite real number > 0."""
    valid = isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
    try:
        valid = valid and math.isfinite(float(temperature)) and float(temperature) > 0
    except OverflowError:  # an int too large for a float
        valid = False
    if not valid:
        raise ValueError(
            "temperature must be > 0 and finite (a number such as 0.5 or 2). "
            f"Received {temperature!r}"
        )
    return float(temperature)


def float32_temperature(temperature):
    """A checked temperature as float32, kept within float32's normal range.

    Below the smallest normal float32 a temperature would round to 0 (or
    lose precision); above the largest it would become infinity. In float32
    the limits give the same distributions as such temperatures: the
    arg-max, and the uniform distribution.
    """
    return np.float32(min(max(temperature, float(FLOAT32.tiny)), float(FLOAT32.max)))


def cross_entropy(logits, labels):
    """`-log softmax(logits)[label]` in nats over the last axis, float32.

    Args:
        logits: `(..., vocab)`.
        labels: `(...)` int ids.
    """
    logits = np.asarray(logits, dtype=np.float32)  # (..., vocab)
    top = logits.max(axis=-1, keepdims=True)  # (..., 1)
    log_norm = top[..., 0] + np.log(np.exp(logits - top).sum(axis=-1))  # (...)
    picked = np.take_along_axis(logits, np.asarray(labels)[..., None], axis=-1)  # (..., 1)
    return log_norm - picked[..., 0]
