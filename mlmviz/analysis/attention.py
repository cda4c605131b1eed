"""Attention weights: how much each token reads from each other token, per layer and head.

keras-hub backbones return hidden states only, but their `TransformerEncoder`
layers return their attention weights when called with
`return_attention_scores=True`. So the encoder is re-run here: one Keras model
computes what the first layer reads (the embeddings, after ALBERT's projection)
and the arguments each layer was called with (the padding mask), then every
layer is called in turn on the previous layer's output, as the backbone calls
them. The final hidden states of the re-run are the backbone's own output.
"""

import keras
import numpy as np

from mlmviz.compiled import encoder_inputs
from mlmviz.model import encoder_calls


def encoder_attention(backbone, inputs):
    """Run `backbone` layer by layer, keeping every layer's attention weights.

    Args:
        backbone: a keras-hub style encoder (see `MaskedLM`).
        inputs: its input dict (`token_ids`, `padding_mask`, ...), each
            `(batch, seq)`; keys where `padding_mask` is 0 get no attention,
            as in the backbone's own forward pass.

    Returns:
        `(hidden, weights)`: float32 numpy `(batch, seq, hidden_dim)`, the
        last layer's output, and `(batch, layers, heads, seq, seq)`, the
        softmax weights of each query (axis 3) over the keys (axis 4).
    """
    calls = encoder_calls(backbone)
    if not calls:
        raise ValueError("This encoder has no TransformerEncoder layers to read attention from.")
    kwargs = [node.arguments.kwargs for node in calls]
    prelude = keras.Model(backbone.inputs, [calls[0].input_tensors[0], kwargs])
    hidden, arguments = prelude(inputs, training=False)  # (batch, seq, hidden), per-layer kwargs
    weights = []
    for node, layer_kwargs in zip(calls, arguments):
        hidden, scores = node.operation(
            hidden, **layer_kwargs, training=False, return_attention_scores=True
        )  # (batch, seq, hidden), (batch, heads, seq, seq)
        weights.append(keras.ops.convert_to_numpy(scores).astype("float32"))
    hidden = keras.ops.convert_to_numpy(hidden).astype("float32")
    return hidden, np.stack(weights, axis=1)  # (batch, layers, heads, seq, seq)


def attention(model, masked):
    """Every layer's attention weights on a masked text (`MaskedLM.mask`'s output).

    Returns:
        float32 `(layers, heads, seq, seq)`: entry `[l, h, q, k]` is how much
        token `q` attends to token `k` in head `h` of layer `l`; each row
        over `k` sums to 1.
    """
    token_ids = np.array([masked.ids], dtype="int32")  # (1, seq)
    inputs = encoder_inputs(model.backbone, token_ids, np.ones_like(token_ids))
    return encoder_attention(model.backbone, inputs)[1][0]  # (layers, heads, seq, seq)


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
