"""The compiled prediction path: encoder, head and read-out in one graph.

`MaskedLM.fill_mask` runs here. One Keras functional model per checkpoint
takes token ids, mask positions, a temperature and a few query token ids,
and returns only what the page shows: the top candidates with their logits
and probabilities, the entropy, and each query's probability and rank. The
`(masks, vocab)` distribution never leaves the device. Keras compiles it
through `predict_on_batch` (a `tf.function` on TensorFlow, `jax.jit` on JAX).

New input shapes must not mean new compilations. TensorFlow's function
(traced with `reduce_retracing`) generalises to any length after two
shapes, so `warm_up` traces two and inputs keep their exact size (padding a
9-token sentence to 16 would cost BERT-base 1.8x the encoder work). JAX
compiles one program per shape, so there inputs are padded to power-of-two
buckets (16, 32, 64 ... tokens; 1, 2, 4 ... masks). PyTorch runs eagerly:
inputs keep their size there too.

The layers here declare their outputs (`compute_output_spec`). Left to infer
them, PyTorch runs `call` on stand-in tensors, which for the unknown batch,
mask and query dimensions means many gigabytes (a `(b, m, q, vocab)`
comparison in `Readout`) or minutes of work.
"""

import threading

import keras
import numpy as np
from keras import ops

from mlmviz.distributions import float32_temperature

CANDIDATES = 32  # the read-out's top-k; larger requests get their own graph
PAD_TO_BUCKETS = keras.backend.backend() == "jax"
VOCABULARY_FIRST = keras.backend.backend() == "tensorflow"
# The encoder layer classes `encoder_calls` follows: keras-hub's and mlmviz's ModernBERT's.
ENCODER_LAYERS = ("TransformerEncoder", "ModernBertEncoderLayer")


class Readout(keras.layers.Layer):
    """Hidden states → the head's logits → the numbers a fill-mask view shows.

    Uses the head's logits before any output activation, in float32 whatever
    their dtype. Ranks are 1 + the number of tokens with a strictly higher
    probability, as `distributions.rank`.
    """

    def __init__(self, head, candidates, **kwargs):
        super().__init__(**kwargs)
        self.head = head
        self.candidates = candidates

    def call(self, hidden, positions, temperature, queries):
        logits = head_tensors(self.head, hidden, positions)["logits"]  # (b, m, V)
        logits = ops.cast(logits, "float32")  # (b, m, V)
        # The maximum comes off before dividing: with a tiny temperature the
        # gaps become -inf (probability 0) instead of logits overflowing to inf.
        gaps = logits - ops.max(logits, axis=-1, keepdims=True)  # (b, m, V), <= 0
        scaled = gaps / ops.reshape(temperature, (-1, 1, 1))  # (b, m, V)
        log_p = scaled - ops.logsumexp(scaled, axis=-1, keepdims=True)  # (b, m, V)
        p = ops.exp(log_p)  # (b, m, V)
        top_p, top_ids = ops.top_k(p, self.candidates, sorted=True)  # (b, m, k)
        top_ids = ops.cast(top_ids, "int32")  # int64 on PyTorch
        query_p = ops.take_along_axis(p, queries, axis=-1)  # (b, m, q)
        higher = ops.expand_dims(p, 2) > ops.expand_dims(query_p, -1)  # (b, m, q, V)
        return {
            "top_ids": top_ids,
            "top_probabilities": top_p,
            "top_logits": ops.take_along_axis(logits, top_ids, axis=-1),  # (b, m, k)
            # 0 log 0 = 0: with a tiny temperature most p are exactly 0 (log_p -inf)
            "entropy": -ops.sum(ops.where(p > 0, p * log_p, 0.0), axis=-1),  # (b, m)
            "query_probabilities": query_p,
            "query_ranks": 1 + ops.sum(ops.cast(higher, "int32"), axis=-1),  # (b, m, q)
        }

    def compute_output_spec(self, hidden, positions, temperature, queries):
        b, m = positions.shape
        q = queries.shape[-1]
        spec = keras.KerasTensor
        return {
            "top_ids": spec((b, m, self.candidates), "int32"),
            "top_probabilities": spec((b, m, self.candidates), "float32"),
            "top_logits": spec((b, m, self.candidates), "float32"),
            "entropy": spec((b, m), "float32"),
            "query_probabilities": spec((b, m, q), "float32"),
            "query_ranks": spec((b, m, q), "int32"),
        }


def head_tensors(head, hidden, positions):
    """Every stage of `head` on `hidden` at `positions` (as
    `head(hidden, positions, return_stages=True)`), for the compiled paths: on
    TensorFlow a tied product is taken vocabulary-first (`MaskedLMHead._forward`;
    the slow product is TensorFlow's, and on PyTorch the other order rounded
    differently by up to 1e-4 in log-probabilities on an AMD EPYC host)."""
    return head._forward(hidden, positions, vocabulary_first=VOCABULARY_FIRST)


def bucket(size, minimum=1, limit=None):
    """The padded size for `size`: the next power of two >= max(size, minimum), capped at `limit`."""
    padded = max(minimum, 1 << max(0, size - 1).bit_length())
    return padded if limit is None else min(padded, max(limit, size))


class Predictor:
    """A checkpoint's encoder + head compiled for fill-mask read-outs.

    Args:
        backbone: the keras-hub style encoder (see `MaskedLM`).
        head: its `MaskedLMHead`.
    """

    def __init__(self, backbone, head):
        self.backbone = backbone
        self.head = head
        self._models = {}
        self._lock = threading.Lock()

    def __call__(self, token_ids, positions, queries, temperature, candidates=CANDIDATES):
        """Read-outs for one sequence.

        Args:
            token_ids: the sequence's ids, masks written in.
            positions: `(masks,)` valid mask positions.
            queries: `(masks, q)` token ids whose probability and rank to
                return at each mask.
            temperature: softmax temperature, a finite number > 0 (kept
                within float32's normal range).
            candidates: how many top tokens to return (at most the vocabulary).

        Returns:
            dict of numpy arrays without the batch axis: `top_ids`,
            `top_probabilities`, `top_logits` `(masks, k)` with k >= candidates,
            `entropy` `(masks,)`, `query_probabilities`, `query_ranks` `(masks, q)`.
        """
        length, masks, q = len(token_ids), len(positions), len(queries[0])
        seq, width, depth = length, masks, q
        if PAD_TO_BUCKETS:
            limit = getattr(self.backbone, "max_sequence_length", None)
            seq, width, depth = bucket(length, 16, limit), bucket(masks), bucket(q)
        ids = np.zeros((1, seq), "int32")  # (1, seq) padded with id 0
        ids[0, :length] = token_ids
        padding = (np.arange(seq) < length).astype("int32")[None]  # (1, seq)
        slots = np.zeros((1, width), "int32")  # (1, width) padding masks read position 0
        slots[0, :masks] = positions
        asked = np.zeros((1, width, depth), "int32")  # (1, width, depth)
        asked[0, :masks, :q] = queries
        inputs = {
            **encoder_inputs(self.backbone, ids, padding),
            "mask_positions": slots,
            "temperature": np.array([float32_temperature(temperature)], "float32"),
            "queries": asked,
        }
        outputs = self._model(candidates).predict_on_batch(inputs)
        result = {name: np.asarray(value)[0, :masks] for name, value in outputs.items()}
        for name in ("query_probabilities", "query_ranks"):
            result[name] = result[name][:, :q]
        return result

    def warm_up(self):
        """Compile the default read-out for two shapes, so later ones need no tracing."""
        for length, masks in ((12, 1), (21, 2)):
            positions = list(range(1, masks + 1))
            self(list(range(length)), positions, [[0]] * masks, 1.0)

    def _model(self, candidates):
        """The compiled model returning `bucket(candidates)` tokens, built once."""
        k = min(bucket(candidates, CANDIDATES), self.head.vocabulary_size)
        with self._lock:
            if k not in self._models:
                self._models[k] = self._build(k)
                self._models[k].make_predict_function()  # one compiled function for all threads
            return self._models[k]

    def _build(self, k):
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in self.backbone.input
        }
        positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        temperature = keras.Input(shape=(), dtype="float32", name="temperature")
        queries = keras.Input(shape=(None, None), dtype="int32", name="queries")
        hidden = sequence_output_of(self.backbone(inputs))  # (b, seq, hidden)
        outputs = Readout(self.head, k)(hidden, positions, temperature, queries)
        return keras.Model(
            {**inputs, "mask_positions": positions, "temperature": temperature, "queries": queries},
            outputs,
        )


def sequence_output_of(output):
    """The hidden states from a backbone call's output (a dict or a tensor)."""
    return output["sequence_output"] if isinstance(output, dict) else output


def layer_outputs(backbone):
    """The backbone's hidden states after its embeddings and each layer (the
    last after a final LayerNormalization, if any), as transformers' `hidden_states`."""
    calls = encoder_calls(backbone)
    return [node.input_tensors[0] for node in calls] + [sequence_output(backbone)]


def encoder_calls(backbone):
    """The backbone's transformer layer calls, first to last, as Keras nodes.

    Walks back from the sequence output (or from the input of a final
    LayerNormalization, as ModernBERT's) through the chain of `ENCODER_LAYERS`
    calls (a shared ALBERT layer appears once per use), so it works for any
    encoder whose layers are called one after another. Each node's
    `operation` is the layer, its `input_tensors[0]` the hidden states it
    reads and `arguments.kwargs` what else it was called with (the padding mask).
    """
    calls = []
    tensor = sequence_output(backbone)
    history = tensor._keras_history
    if isinstance(history.operation, keras.layers.LayerNormalization):  # a final norm
        tensor = history.operation._inbound_nodes[history.node_index].input_tensors[0]
    while True:
        history = tensor._keras_history
        if type(history.operation).__name__ not in ENCODER_LAYERS:
            return calls[::-1]
        node = history.operation._inbound_nodes[history.node_index]
        calls.append(node)
        tensor = node.input_tensors[0]


def sequence_output(backbone):
    """The symbolic tensor of the backbone's last hidden states."""
    output = backbone.output
    return output["sequence_output"] if isinstance(output, dict) else output


def encoder_inputs(backbone, token_ids, padding_mask):
    """The input dict of a keras-hub encoder (single segment), by its input names."""
    inputs = {
        "token_ids": token_ids,
        "padding_mask": padding_mask,
        "segment_ids": np.zeros_like(token_ids),
    }
    return {name: inputs[name] for name in backbone.input}


class Logits(keras.layers.Layer):
    """A head's logits before any output activation, as one layer."""

    def __init__(self, head, **kwargs):
        super().__init__(**kwargs)
        self.head = head

    def call(self, hidden, positions):
        return head_tensors(self.head, hidden, positions)["logits"]

    def compute_output_spec(self, hidden, positions):
        return keras.KerasTensor(positions.shape + (self.head.vocabulary_size,),
                                 self.head.compute_dtype)


def compile_head(head, hidden_dim):
    """`head` alone, compiled as `Predictor` compiles it (for benchmarks).

    Returns:
        `logits(hidden (b, seq, hidden_dim), positions (b, masks))` → numpy
        `(b, masks, vocab)`, the logits before any output activation.
    """
    hidden = keras.Input(shape=(None, hidden_dim), dtype=head.compute_dtype, name="hidden")
    positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    model = keras.Model([hidden, positions], Logits(head)(hidden, positions))
    return lambda states, slots: model.predict_on_batch([states, slots])


class MaskScores(keras.layers.Layer):
    """Hidden states → the head's logits at the masks → what an evaluation sums.

    In float32 whatever the logits' dtype. The `(b, masks, vocab)` logits
    stay inside the graph.
    """

    def __init__(self, head, temperatures, **kwargs):
        super().__init__(**kwargs)
        self.head = head
        self.temperatures = tuple(temperatures)

    def call(self, hidden, positions, labels):
        logits = head_tensors(self.head, hidden, positions)["logits"]  # (b, m, V)
        logits = ops.cast(logits, "float32")  # (b, m, V)
        gaps = logits - ops.max(logits, axis=-1, keepdims=True)  # (b, m, V), <= 0
        label_gaps = ops.take_along_axis(gaps, ops.expand_dims(labels, -1), axis=-1)  # (b, m, 1)
        losses = [  # T x (b, m): log sum exp(gaps / T) - label gap / T
            # the largest gap is 0, so the sum is >= 1: no max to subtract first
            ops.log(ops.sum(ops.exp(gaps * (1 / t)), axis=-1)) - label_gaps[..., 0] / t
            for t in self.temperatures
        ]
        return {
            "predicted_ids": ops.argmax(logits, axis=-1),  # (b, m)
            "log_norm": ops.logsumexp(gaps, axis=-1),  # (b, m): -log p(top-1)
            "higher": ops.sum(ops.cast(gaps > label_gaps, "int32"), axis=-1),  # (b, m)
            "temperature_losses": ops.stack(losses, axis=-1),  # (b, m, T)
        }

    def compute_output_spec(self, hidden, positions, labels):
        b, m = positions.shape
        return {
            "predicted_ids": keras.KerasTensor((b, m), "int32"),
            "log_norm": keras.KerasTensor((b, m), "float32"),
            "higher": keras.KerasTensor((b, m), "int32"),
            "temperature_losses": keras.KerasTensor((b, m, len(self.temperatures)), "float32"),
        }


def compile_scores(backbone, head, temperatures):
    """Encoder + head + `MaskScores`, compiled; the head projects the masks only.

    Returns:
        `scores(token_ids (b, seq), padding_mask (b, seq), positions (b, m),
        labels (b, m))` → dict of numpy `predicted_ids`, `log_norm`
        (−log of the top-1 probability), `higher` (tokens with a higher logit
        than the label) `(b, m)` and `temperature_losses` `(b, m, T)`, the
        label's cross-entropy at each temperature.
    """
    inputs = {
        name: keras.Input(shape=(None,), dtype="int32", name=name) for name in backbone.input
    }
    positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    labels = keras.Input(shape=(None,), dtype="int32", name="labels")
    hidden = sequence_output_of(backbone(inputs))  # (b, seq, hidden)
    outputs = MaskScores(head, temperatures)(hidden, positions, labels)
    model = keras.Model({**inputs, "mask_positions": positions, "labels": labels}, outputs)

    def scores(token_ids, padding_mask, slots, label_ids):
        feed = {**encoder_inputs(backbone, token_ids, padding_mask),
                "mask_positions": slots, "labels": label_ids}
        return {name: np.asarray(value) for name, value in model.predict_on_batch(feed).items()}

    return scores
