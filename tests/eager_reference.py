"""The analysis numbers computed eagerly, layer by layer, as mlmviz did before its
compiled inspection paths (`mlmviz.inspection`): the reference those paths
must equal within float32 rounding."""

import keras
import numpy as np

from mlmviz.compiled import encoder_calls, encoder_inputs, layer_outputs


def layer_states(model, token_ids):
    """Every layer's hidden states `[(batch, seq, hidden)] * (layers + 1)`, numpy."""
    token_ids = np.asarray(token_ids, dtype="int32")  # (batch, seq)
    inputs = encoder_inputs(model.backbone, token_ids, np.ones_like(token_ids))
    layers = keras.Model(model.backbone.inputs, layer_outputs(model.backbone))
    return [keras.ops.convert_to_numpy(s) for s in layers(inputs, training=False)]


def stages(model, masked):
    """`model.head.stages` of the last layer at the masks (batch of one)."""
    final = layer_states(model, [masked.ids])[-1]  # (1, seq, hidden)
    return model.head.stages(final, np.array([masked.positions], dtype="int32"))


def states_at_masks(model, masked):
    """float32 `(layers + 1, masks, hidden)`."""
    index = list(masked.positions)
    return np.stack([s[0, index] for s in layer_states(model, [masked.ids])]).astype("float32")


def lens(model, masked):
    """The head on every layer's states at the masks: float32 `(layers + 1, masks, vocab)`."""
    states = states_at_masks(model, masked)  # (layers + 1, masks, hidden)
    layers, masks = states.shape[:2]
    positions = np.tile(np.arange(masks, dtype="int32"), (layers, 1))  # (layers + 1, masks)
    return model.head.stages(states, positions)["logits"]


def attention(model, masked):
    """Every layer's weights, float32 `(layers, heads, seq, seq)`: the backbone's
    layers called in turn with `return_attention_scores=True`."""
    token_ids = np.array([masked.ids], dtype="int32")  # (1, seq)
    inputs = encoder_inputs(model.backbone, token_ids, np.ones_like(token_ids))
    calls = encoder_calls(model.backbone)
    kwargs = [node.arguments.kwargs for node in calls]
    prelude = keras.Model(model.backbone.inputs, [calls[0].input_tensors[0], kwargs])
    hidden, arguments = prelude(inputs, training=False)
    weights = []
    for node, layer_kwargs in zip(calls, arguments):
        hidden, scores = node.operation(
            hidden, **layer_kwargs, training=False, return_attention_scores=True)
        weights.append(keras.ops.convert_to_numpy(scores).astype("float32"))
    return np.stack(weights, axis=1)[0]


def batch_logits(model, token_ids, positions):
    """The head's logits `(batch, masks, vocab)` at `positions` of each row."""
    final = layer_states(model, token_ids)[-1]  # (batch, seq, hidden)
    return model.head.stages(final, np.asarray(positions, dtype="int32"))["logits"]
