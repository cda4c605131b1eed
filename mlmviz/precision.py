"""The precision a loaded model's weights are held in, and how far it drifts from float32.

`mlmviz.load(source, precision=...)` loads every checkpoint in float32 and,
for "bfloat16", converts the whole model here: the encoder and the head are
rebuilt from their configs under a `bfloat16` dtype policy (weights stored
and computed in bfloat16, halving the bytes a batch-1 request reads) and
given the float32 weights rounded to bfloat16. What the user sees stays
float32: the prediction path and every analysis cast logits to float32
before the softmax, temperature, entropy and ranks.

The converted model carries its agreement with the float32 one on a fixed
sample (`sample_logits`): every hidden word of `mlmviz.examples.CANDIDATES`
masked together, then every word of each sentence masked on its own.
"""

import keras
import numpy as np

from mlmviz.distributions import softmax
from mlmviz.examples import CANDIDATES, HIDDEN
from mlmviz.model import MaskedLM
from mlmviz.sources.checkpoints import CheckpointError
from mlmviz.sources.saving import token_embedding

PRECISIONS = ("float32", "bfloat16")
DEFAULT = "float32"
TOP = 5  # the overlap is measured between the top-5 lists
HELP = (
    "float32 holds and computes the weights in 32-bit floats (exact). bfloat16 holds and "
    "computes them in 16-bit brain floats: half the memory and a faster encoder on CPUs "
    "with bfloat16 instructions, at the cost of slightly different probabilities. "
    "Softmax, temperature, entropy and ranks stay float32 either way."
)


class PrecisionError(ValueError):
    """A precision mlmviz does not offer."""


def check_precision(precision):
    """`precision` if it is one of `PRECISIONS`, else `PrecisionError` listing them."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise PrecisionError(
            f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}."
        )
    return precision


def convert(model, precision):
    """`model` (a float32 `MaskedLM`) held in `precision`, with its agreement figures.

    Returns:
        `model` itself for "float32" (metadata `precision` added); for
        "bfloat16" a new `MaskedLM` whose encoder and head weights are
        bfloat16, with metadata `precision` and `agreement` (see `agreement`).

    Raises:
        PrecisionError: for a precision not in `PRECISIONS`.
        CheckpointError: when the encoder or the head cannot be rebuilt.
    """
    check_precision(precision)
    if precision == "float32":
        model.metadata = {**model.metadata, "precision": "float32"}
        return model
    try:
        backbone = rebuild(model.backbone, precision)
        head = rebuild_head(model.head, backbone.token_embedding, precision)
    except Exception as error:  # deserializing a model raises many types
        raise CheckpointError(
            f"{model.metadata['source']} could not be converted to {precision}: {error}"
        ) from error
    metadata = {**model.metadata, "precision": precision}
    converted = MaskedLM(model.tokenizer, backbone, head, metadata, model.head_check)
    converted.metadata["agreement"] = agreement(model, converted)
    return converted


def rebuild(layer, precision):
    """A copy of `layer` (a model or a layer) built under `precision`, weights cast to it.

    The layer's serialized config is rewritten so that every float32 dtype
    policy in it becomes `precision`, deserialized, and given the original
    weights in the same order.
    """
    config = _with_policy(keras.saving.serialize_keras_object(layer), precision)
    copy = keras.saving.deserialize_keras_object(config)
    _copy_weights(layer.weights, copy.weights)
    if hasattr(layer, "token_embedding") and not hasattr(copy, "token_embedding"):
        copy.token_embedding = token_embedding(copy)  # an mlmviz.save encoder
    return copy


def rebuild_head(head, token_embedding, precision):
    """`head` rebuilt under `precision`, tied to `token_embedding` when it was tied."""
    config = {**head.get_config(), "dtype": precision, "token_embedding": None}
    if head.token_embedding is not None:
        config["token_embedding"] = token_embedding
    copy = type(head)(**config)  # from_config would deserialize the embedding anew
    copy.build((None, None, head._intermediate_dense.kernel.shape[0]))
    own = [w for w in head.weights if not _is_embedding(w, head)]
    _copy_weights(own, [w for w in copy.weights if not _is_embedding(w, copy)])
    return copy


def _is_embedding(weight, head):
    """Whether `weight` belongs to the tied token embedding rather than the head."""
    tied = head.token_embedding
    return tied is not None and any(weight is w for w in tied.weights)


def _copy_weights(sources, targets):
    """Assign each source weight to the target at the same place, cast to its dtype."""
    sources, targets = list(sources), list(targets)
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} weights to copy into {len(targets)}")
    for source, target in zip(sources, targets):
        if tuple(source.shape) != tuple(target.shape):
            raise ValueError(f"{source.path} {source.shape} does not fit {target.path}")
        target.assign(keras.ops.cast(source, target.dtype))


def _with_policy(config, precision):
    """`config` (nested dicts/lists) with every float32 dtype or policy set to `precision`."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and config["config"]["name"] == "float32":
            return {**config, "config": {**config["config"], "name": precision}}
        return {key: (precision if key == "dtype" and value == "float32"
                      else _with_policy(value, precision))
                for key, value in config.items()}
    if isinstance(config, list):
        return [_with_policy(value, precision) for value in config]
    return config


def weight_dtypes(model):
    """The set of dtype names of the encoder's and head's weights."""
    return {str(w.dtype) for w in model.backbone.weights + model.head.weights}


def sample_logits(model):
    """float32 logits `(sample masks, vocab)` of `model` on the agreement sample.

    The sample, for each sentence of `mlmviz.examples.CANDIDATES`: its hidden
    words masked together, then each of its words masked on its own.
    """
    rows = []
    for candidate in CANDIDATES:
        masked = model.mask(HIDDEN.sub(model.tokenizer.mask_token, candidate))
        rows.append(model.batch_logits([masked.ids], [masked.positions])[0])  # (masks, vocab)
        encoding = model.tokenizer.encode(HIDDEN.sub(r"\1", candidate))
        words = model.maskable_positions(encoding)
        ids = [_masked_at(encoding.ids, p, model.tokenizer.mask_id) for p in words]  # (n, seq)
        rows.append(model.batch_logits(ids, [[p] for p in words])[:, 0])  # (n, vocab)
    return np.concatenate(rows).astype("float32")  # (sample masks, vocab)


def _masked_at(ids, position, mask_id):
    ids = list(ids)
    ids[position] = mask_id
    return ids


def agreement(reference, model):
    """How closely `model` follows `reference` (float32) on the agreement sample.

    Returns:
        dict with `masks` (the sample size), `top1` (the fraction of masks
        with the same most probable token), `top5_overlap` (mean number of
        shared tokens between the two top-5 lists, 0 to 5) and `max_dp` (the
        largest |difference| of any token's probability at any mask).
    """
    expected = softmax(sample_logits(reference))  # (masks, vocab) float32
    found = softmax(sample_logits(model))  # (masks, vocab) float32
    top_expected = np.argsort(-expected, axis=-1)[:, :TOP]  # (masks, 5)
    top_found = np.argsort(-found, axis=-1)[:, :TOP]  # (masks, 5)
    overlap = [len(set(a) & set(b)) for a, b in zip(top_expected, top_found)]
    return {
        "masks": len(expected),
        "top1": float(np.mean(top_expected[:, 0] == top_found[:, 0])),
        "top5_overlap": float(np.mean(overlap)),
        "max_dp": float(np.abs(expected - found).max()),
    }


def describe_agreement(metadata):
    """The precision and its agreement with float32 in plain words, for the sidebar and CLI."""
    precision = metadata.get("precision", DEFAULT)
    figures = metadata.get("agreement")
    if not figures:
        return f"{precision} · the checkpoint's own weights (the reference)"
    same = round(figures["top1"] * figures["masks"])
    return (
        f"{precision} · same top answer as float32 on {same} of {figures['masks']} sample "
        f"masks · top-5 overlap {figures['top5_overlap']:.1f}/{TOP} · "
        f"max |Δp| {figures['max_dp']:.3f}"
    )
