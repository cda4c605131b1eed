"""The compiled inspection paths: what the analysis pages read, traced once per model.

`MaskedLM` answers its analysis questions here, as `fill_mask` answers in
`compiled.Predictor`: one Keras functional model per question, run with
`predict_on_batch` (a `tf.function` on TensorFlow, `jax.jit` on JAX, eager on
PyTorch), with the inputs padded to power-of-two buckets on JAX only (see
`compiled`).

- `inspect`: every layer's hidden states at the masks, the head's stages at
  the masks, and the head applied to every layer (the logit lens), from one
  encoder run. Results are kept per model (`KEPT` texts), so the pages that
  read the same text and masks — in any session — share one run.
- `attention`: every layer's attention weights. keras-hub encoders return
  hidden states only, but their `TransformerEncoder` layers give their
  weights when called with `return_attention_scores=True`: the graph calls
  the backbone's own layers in turn with that flag, on what the backbone's
  first layer reads and with the arguments it was called with.
- `logits`: the head's logits at given positions of many sequences (the
  Masking lab, pseudo-likelihood, precision checks).

Every result is float32 numpy, whatever the compute dtype, and read-only:
kept results are shared between callers.
"""

import collections
import threading
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from mlmviz.compiled import (
    PAD_TO_BUCKETS, Logits, bucket, encoder_calls, encoder_inputs, head_tensors,
    layer_outputs, sequence_output_of,
)
from mlmviz.layers import STAGE_NAMES

KEPT = 32  # inspections kept per model: ~0.6 MB per mask for BERT-Tiny, ~2 MB for BERT-base


@dataclass(frozen=True)
class Inspection:
    """What the analysis pages read from one masked text (read-only arrays).

    Attributes:
        states: `(num_layers + 1, masks, hidden_dim)`, the hidden states at the
            masks after the embeddings and each layer; the last is what the
            head reads.
        stages: `MaskedLMHead.stages` of the last layer at the masks, for a
            batch of one (`gathered` `(1, masks, hidden_dim)` ... `bias`
            `(vocab,)`, `logits` `(1, masks, vocab)`).
        lens: `(num_layers + 1, masks, vocab)`, the head's logits for each
            entry of `states`; the last equals `stages["logits"][0]`.
    """

    states: np.ndarray
    stages: dict
    lens: np.ndarray


class Inspect(keras.layers.Layer):
    """Every layer's hidden states → the states, head stages and lens at the masks.

    Outputs float32 whatever the compute dtype; the head runs in its own.
    """

    def __init__(self, head, **kwargs):
        super().__init__(**kwargs)
        self.head = head

    def call(self, states, positions):
        index = ops.expand_dims(positions, -1)  # (b, m, 1)
        final = head_tensors(self.head, states[-1], positions)
        lens = [head_tensors(self.head, s, positions)["logits"] for s in states[:-1]]
        outputs = {name: final[name] for name in STAGE_NAMES if name != "bias"}
        outputs["states"] = ops.stack(  # (b, layers + 1, m, hidden)
            [ops.take_along_axis(s, index, axis=1) for s in states], axis=1)
        outputs["lens"] = ops.stack([*lens, final["logits"]], axis=1)  # (b, layers + 1, m, V)
        return {name: ops.cast(value, "float32") for name, value in outputs.items()}

    def compute_output_spec(self, states, positions):
        b, m = positions.shape
        hidden, feature = states[0].shape[-1], self.head._intermediate_dense.units
        vocab, depth = self.head.vocabulary_size, len(states)
        shapes = {"gathered": (b, m, hidden), "dense": (b, m, feature),
                  "activated": (b, m, feature), "normed": (b, m, feature),
                  "context_logits": (b, m, vocab), "logits": (b, m, vocab),
                  "states": (b, depth, m, hidden), "lens": (b, depth, m, vocab)}
        return {name: keras.KerasTensor(shape, "float32") for name, shape in shapes.items()}


class Scored(keras.layers.Layer):
    """One encoder layer called with `return_attention_scores=True`.

    Declares its two outputs (keras-hub's `compute_output_shape` names one):
    the layer's hidden states and its float32 weights `(b, heads, seq, seq)`.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, hidden, **kwargs):
        hidden, scores = self.layer(hidden, **kwargs, training=False, return_attention_scores=True)
        return hidden, ops.cast(scores, "float32")

    def compute_output_spec(self, hidden, **kwargs):
        b, seq = hidden.shape[:2]
        heads = self.layer.num_heads
        return (keras.KerasTensor(hidden.shape, hidden.dtype),
                keras.KerasTensor((b, heads, seq, seq), "float32"))


class Inspector:
    """The compiled inspection paths of one encoder + head.

    Args:
        backbone: the keras-hub style encoder (see `MaskedLM`).
        head: its `MaskedLMHead`.
    """

    def __init__(self, backbone, head):
        self.backbone, self.head = backbone, head
        self._models = {}
        self._building = {name: threading.Lock() for name in ("inspect", "attention", "logits")}
        self._lock = threading.Lock()  # guards `_kept`; never held while computing
        self._kept = collections.OrderedDict()
        bias = ops.cast(ops.cast(head.output_bias, head.compute_dtype), "float32")
        self._bias = _frozen(ops.convert_to_numpy(bias))  # (vocab,) as the stages see it

    def inspect(self, ids, positions):
        """The `Inspection` of one sequence `ids` (masks written in) at `positions`."""
        key = (tuple(ids), tuple(positions))
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        result = self._inspect(ids, positions)
        with self._lock:
            self._kept[key] = result
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return result

    def _inspect(self, ids, positions):
        """`inspect` without keeping the result."""
        seq, width = self._sizes(len(ids), len(positions))
        slots = np.zeros((1, width), "int32")  # (1, width): padding slots read position 0
        slots[0, :len(positions)] = positions
        out = self._model("inspect").predict_on_batch(
            {**self._feed([ids], seq), "mask_positions": slots})
        masks = len(positions)
        stages = {name: _frozen(np.asarray(out[name])[:, :masks])
                  for name in STAGE_NAMES if name != "bias"}
        stages["bias"] = self._bias
        return Inspection(
            states=_frozen(np.asarray(out["states"])[0, :, :masks]),  # (layers + 1, m, hidden)
            stages={name: stages[name] for name in STAGE_NAMES},
            lens=_frozen(np.asarray(out["lens"])[0, :, :masks]),  # (layers + 1, m, V)
        )

    def attention(self, ids):
        """Every layer's attention on one sequence: float32 `(layers, heads, seq, seq)`.

        Raises:
            ValueError: for an encoder without `TransformerEncoder` layers.
        """
        if not encoder_calls(self.backbone):
            raise ValueError(
                "This encoder has no TransformerEncoder layers to read attention from.")
        length = len(ids)
        seq, _ = self._sizes(length, 1)
        weights = self._model("attention").predict_on_batch(self._feed([ids], seq))
        return _frozen(np.asarray(weights)[0, :, :, :length, :length])

    def logits(self, token_ids, positions):
        """The head's float32 logits `(batch, masks, vocab)` at `positions` `(batch, masks)`
        of the equal-length sequences `token_ids` `(batch, seq)`."""
        rows, length = token_ids.shape
        masks = positions.shape[1]
        seq, width = self._sizes(length, masks)
        depth = bucket(rows) if PAD_TO_BUCKETS else rows
        # Extra rows repeat the first (a real sequence); they are cut off again.
        filler = np.resize(np.arange(rows), depth)  # (depth,)
        slots = np.zeros((depth, width), "int32")  # (depth, width)
        slots[:, :masks] = positions[filler]
        feed = {**self._feed(token_ids[filler], seq), "mask_positions": slots}
        return np.asarray(self._model("logits").predict_on_batch(feed))[:rows, :masks]

    def _sizes(self, length, masks):
        """(sequence, masks) sizes to run: padded to buckets on JAX, exact elsewhere."""
        if not PAD_TO_BUCKETS:
            return length, masks
        limit = getattr(self.backbone, "max_sequence_length", None)
        return bucket(length, 16, limit), bucket(masks)

    def _feed(self, rows, seq):
        """The encoder's inputs for `rows` of equal length, padded to `seq` tokens."""
        rows = np.asarray(rows, dtype="int32")  # (b, length)
        ids = np.zeros((len(rows), seq), "int32")  # (b, seq) padded with id 0
        ids[:, :rows.shape[1]] = rows
        padding = np.zeros_like(ids)  # (b, seq)
        padding[:, :rows.shape[1]] = 1
        return encoder_inputs(self.backbone, ids, padding)

    def _model(self, name):
        """The compiled model `name` ("inspect", "attention" or "logits"), built at its
        first use (a second or two; the app's start does not wait for it), once."""
        with self._building[name]:
            if name not in self._models:
                model = {"inspect": self._build_inspect, "attention": self._build_attention,
                         "logits": self._build_logits}[name]()
                model.make_predict_function()  # one compiled function for all threads
                if keras.backend.backend() == "tensorflow":
                    _generalise(model, self._feed, name != "attention")
                self._models[name] = model
            return self._models[name]

    def _inputs(self):
        return {name: keras.Input(shape=(None,), dtype="int32", name=name)
                for name in self.backbone.input}

    def _build_inspect(self):
        inputs = self._inputs()
        positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        layers = keras.Model(self.backbone.inputs, layer_outputs(self.backbone))
        states = layers(inputs)  # (layers + 1) x (b, seq, hidden)
        outputs = Inspect(self.head)(states, positions)
        return keras.Model({**inputs, "mask_positions": positions}, outputs)

    def _build_attention(self):
        inputs = self._inputs()
        calls = encoder_calls(self.backbone)
        kwargs = [node.arguments.kwargs for node in calls]
        prelude = keras.Model(self.backbone.inputs, [calls[0].input_tensors[0], kwargs])
        hidden, arguments = prelude(inputs)  # (b, seq, hidden), each layer's kwargs
        weights = []
        for node, layer_kwargs in zip(calls, arguments):
            hidden, scores = Scored(node.operation)(hidden, **layer_kwargs)  # scores (b, H, s, s)
            weights.append(scores)
        return keras.Model(inputs, ops.stack(weights, axis=1))  # (b, layers, H, seq, seq)

    def _build_logits(self):
        inputs = self._inputs()
        positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        hidden = sequence_output_of(self.backbone(inputs))  # (b, seq, hidden)
        logits = ops.cast(Logits(self.head)(hidden, positions), "float32")  # (b, m, V)
        return keras.Model({**inputs, "mask_positions": positions}, logits)


def _generalise(model, feed, with_positions):
    """Run `model` on two input shapes, so that TensorFlow traces the graph for any
    shape before the first real call. Its first trace keeps the exact shapes
    of the first call, and sums in that graph may round in the last bit
    differently: the same text would get other numbers before and after."""
    for rows, length, masks in ((1, 12, 1), (2, 21, 2)):
        inputs = feed(np.ones((rows, length), "int32"), length)
        if with_positions:
            inputs["mask_positions"] = np.ones((rows, masks), "int32")
        model.predict_on_batch(inputs)


def _frozen(array):
    """`array` as float32 (a copy only when needed), made read-only."""
    array = np.asarray(array, dtype="float32")
    array.flags.writeable = False
    return array
