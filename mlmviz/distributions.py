"""Turning logits into displayable distributions, always in float32 numpy."""

import numpy as np
import pandas as pd


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


def top_k_table(logits, vocabulary, k=5, temperature=1.0):
    """The `k` most probable tokens of one distribution, most probable first.

    Args:
        logits: `(vocab,)` logits of one mask position.
        vocabulary: sequence of `vocab` token strings.
        k: number of rows (clipped to the vocabulary size).
        temperature: softmax temperature, > 0.

    Returns:
        DataFrame with columns `token`, `probability`, `logit`.
    """
    logits = np.asarray(logits, dtype=np.float32)
    probabilities = softmax(logits, temperature)
    k = max(1, min(int(k), logits.shape[-1]))
    order = np.argsort(-probabilities, kind="stable")[:k]
    return pd.DataFrame(
        {
            "token": [vocabulary[i] for i in order],
            "probability": probabilities[order],
            "logit": logits[order],
        }
    )
