"""Attention weights: how much each token reads from each other token, per layer and head.

keras-hub backbones return hidden states only; `MaskedLM.attention` reads the
weights in its compiled inspection path (`mlmviz.inspection`).
"""

import numpy as np

from mlmviz.compiled import encoder_calls


def attention(model, masked):
    """Every layer's attention weights on a masked text (`MaskedLM.mask`'s output).

    Returns:
        read-only float32 `(layers, heads, seq, seq)`: entry `[l, h, q, k]` is
        how much token `q` attends to token `k` in head `h` of layer `l`; each
        row over `k` sums to 1.

    Raises:
        ValueError: for an encoder without `TransformerEncoder` layers.
    """
    return model.attention(masked)


def strongest_keys(weights, query):
    """Per layer, the key that `query` attends to most, averaged over heads.

    Args:
        weights: `attention` output `(layers, heads, seq, seq)`.
        query: a token position.

    Returns:
        list of `(key position, mean weight)` pairs, one per layer.
    """
    mean = weights[:, :, query].mean(axis=1)  # (layers, seq)
    best = mean.argmax(axis=-1)  # (layers,)
    return [(int(key), float(row[key])) for key, row in zip(best, mean)]


def share_of(weights, query, keys):
    """How much of `query`'s attention goes to the positions `keys`, per layer and head.

    Args:
        weights: `attention` output `(layers, heads, seq, seq)`.
        query: a token position.
        keys: key positions (e.g. the special tokens a page hides).

    Returns:
        `(layers, heads)` sums of the weights, each in [0, 1] (0 for no keys).
    """
    return weights[:, :, query][..., list(keys)].sum(axis=-1)  # (layers, heads)


def windows(model):
    """Per layer, how far its tokens read: None where a layer reads the whole text,
    else the largest distance between a token and one it reads (ModernBERT's
    local layers)."""
    return [getattr(node.operation, "window", None) for node in encoder_calls(model.backbone)]


def blank_beyond_windows(weights, layer_windows):
    """`weights` `(layers, heads, seq, seq)` as float32 with NaN where a local
    layer's token cannot read (farther than its window), for charts that leave
    those cells empty; the weights there are 0."""
    seq = weights.shape[-1]
    distance = np.abs(np.arange(seq)[:, None] - np.arange(seq)[None, :])  # (seq, seq)
    limits = np.array([np.inf if w is None else w for w in layer_windows])  # (layers,)
    beyond = distance[None] > limits[:, None, None]  # (layers, seq, seq)
    return np.where(beyond[:, None], np.nan, weights).astype("float32")
