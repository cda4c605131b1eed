"""The masked-language-model prediction head, written for mlmviz.

`MaskedLMHead` keeps the constructor, call signature, weight names and config
of `keras_hub.layers.MaskedLMHead`, so code written for keras-hub runs with it
unchanged. On top of that it validates mask positions and can return every
intermediate of a forward pass (`stages`), which is what the app draws.
"""

import keras
import numpy as np
from keras import ops

ReversibleEmbedding = keras.layers.ReversibleEmbedding

STAGE_NAMES = (
    "gathered",
    "dense",
    "activated",
    "normed",
    "context_logits",
    "bias",
    "logits",
)


@keras.saving.register_keras_serializable(package="mlmviz")
class MaskedLMHead(keras.layers.Layer):
    """Masked language model head: hidden states at mask positions → logits.

    The layer takes the encoder's output for a batch of sequences and the
    integer positions to predict in each sequence. For every position it
    gathers the hidden vector, applies a dense layer with an intermediate
    activation and a layer normalisation, and projects the result onto the
    vocabulary, either through a tied `keras.layers.ReversibleEmbedding` (the
    input embedding matrix, transposed) or through a kernel of its own. A
    learned per-token output bias is added last, then an optional activation.

    Written as

        logits = LayerNorm(act(h[p] @ W + c)) @ E.T + b

    where `h[p]` is the hidden state at mask position `p`, `W, c` the dense
    kernel and bias, `E` the embedding matrix (or the transposed
    `output_kernel` when untied) and `b` the output bias.

    Mask positions are validated (see "Call arguments"). keras-hub's head
    does not validate them: negative positions wrap around and out-of-range
    ones raise, return zeros or return NaN depending on the backend.

    Args:
        vocabulary_size: int. Number of tokens to predict over. Optional when
            `token_embedding` is given; if both are given they must agree.
        token_embedding: Optional `keras.layers.ReversibleEmbedding` (or
            keras-hub's subclass). When given, the head is tied: it projects
            through this embedding with `reverse=True`, and its intermediate
            dense layer maps the hidden size to the embedding's `output_dim`
            (smaller than the hidden size in ALBERT-style models).
        intermediate_activation: activation of the intermediate dense layer,
            a name or a callable. Defaults to `"relu"`; BERT uses `"gelu"`.
        activation: activation applied to the final logits, usually `None`
            (return logits) or `"softmax"`.
        layer_norm_epsilon: float. Epsilon of the layer normalisation.
            Defaults to `1e-5`; Hugging Face BERT checkpoints use `1e-12`.
        kernel_initializer: initializer of the dense kernel and, when untied,
            of `output_kernel`. Defaults to `"glorot_uniform"`.
        bias_initializer: initializer of the dense bias and of `output_bias`.
            Defaults to `"zeros"`.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`,
            `trainable`, ...).

    Call arguments:
        inputs: float tensor `(batch, sequence_length, hidden_dim)`, the
            encoder's hidden states.
        mask_positions: integer tensor `(batch, masks_per_sequence)` of
            positions to predict. The number of masks may change from call to
            call. A `ValueError` is raised when the positions are not a 2-D
            integer tensor, when their batch size differs from `inputs`', or
            when a position is negative or not smaller than
            `sequence_length`. Ranks and dtypes are checked on every call;
            values are checked whenever they are known, i.e. in eager calls
            (including a functional model called directly). Inside a traced
            function (`model.predict`, `tf.function`, `jax.jit`) values are
            not known yet: check them first with `check_mask_positions`.
        return_stages: bool. If True, return the dict of intermediate
            tensors described in `stages` (in the compute dtype) instead of
            the output. Defaults to False.

    Returns:
        Tensor `(batch, masks_per_sequence, vocabulary_size)` in the layer's
        compute dtype (float16/bfloat16 under mixed precision). Use `stages`
        for float32 values.

    Example:

    >>> import numpy as np
    >>> import keras
    >>> from mlmviz import MaskedLMHead
    >>> vocab_size, hidden_dim = 100, 16
    >>> token_ids = np.random.randint(vocab_size, size=(2, 10))
    >>> embedding = keras.layers.ReversibleEmbedding(vocab_size, hidden_dim)
    >>> hidden_states = embedding(token_ids)  # stands in for an encoder
    >>> head = MaskedLMHead(
    ...     token_embedding=embedding, intermediate_activation="gelu"
    ... )
    >>> logits = head(hidden_states, np.array([[1, 4], [0, 9]]))
    >>> tuple(logits.shape)
    (2, 2, 100)
    >>> stages = head.stages(hidden_states, np.array([[3], [5]]))
    >>> stages["normed"].shape, stages["logits"].dtype
    ((2, 1, 16), dtype('float32'))

    References:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), BERT's
          masked language model objective and prediction head.
        - [Press and Wolf, 2017](https://arxiv.org/abs/1608.05859), tying
          the input embedding to the output projection.
    """

    def __init__(
        self,
        vocabulary_size=None,
        token_embedding=None,
        intermediate_activation="relu",
        activation=None,
        layer_norm_epsilon=1e-05,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(autocast=False, **kwargs)
        if vocabulary_size is None and token_embedding is None:
            raise ValueError(
                "MaskedLMHead needs `vocabulary_size` or `token_embedding`. "
                "Received: vocabulary_size=None, token_embedding=None"
            )
        if token_embedding is not None:
            if vocabulary_size and vocabulary_size != token_embedding.input_dim:
                raise ValueError(
                    "`vocabulary_size` must equal the input dimension of "
                    "`token_embedding`. Received: "
                    f"vocabulary_size={vocabulary_size}, "
                    f"token_embedding.input_dim={token_embedding.input_dim}"
                )
            vocabulary_size = token_embedding.input_dim
        self.vocabulary_size = vocabulary_size
        self.token_embedding = token_embedding
        self.intermediate_activation = keras.activations.get(
            intermediate_activation
        )
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, inputs_shape, mask_positions_shape=None):
        hidden_dim = inputs_shape[-1]
        if self.token_embedding is not None:
            feature_dim = self.token_embedding.output_dim
            if not self.token_embedding.built:
                self.token_embedding.build()
        else:
            feature_dim = hidden_dim
        # The activation is applied outside the Dense layer so that `stages`
        # can show the pre-activation values; the weights are the same.
        self._intermediate_dense = keras.layers.Dense(
            feature_dim,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self._intermediate_dense.build((None, None, hidden_dim))
        self._intermediate_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="intermediate_layer_norm",
        )
        self._intermediate_layer_norm.build((None, None, feature_dim))
        if self.token_embedding is None:
            self._kernel = self.add_weight(
                name="output_kernel",
                shape=(feature_dim, self.vocabulary_size),
                initializer=self.kernel_initializer,
                dtype=self.dtype,
            )
        self._bias = self.add_weight(
            name="output_bias",
            shape=(self.vocabulary_size,),
            initializer=self.bias_initializer,
            dtype=self.dtype,
        )

    @property
    def output_bias(self):
        """The learned per-token bias `(vocabulary_size,)` added last."""
        return self._bias

    @property
    def output_kernel(self):
        """The untied projection `(feature_dim, vocabulary_size)`, else None."""
        return None if self.token_embedding is not None else self._kernel

    def call(self, inputs, mask_positions, return_stages=False):
        tensors = self._forward(inputs, mask_positions)
        if return_stages:
            return tensors
        return self.activation(tensors["logits"])

    def stages(self, inputs, mask_positions):
        """Every intermediate of one forward pass, as float32 numpy arrays.

        Runs `self(inputs, mask_positions, return_stages=True)`, exactly the
        computation of a normal call (in the layer's compute dtype), and
        converts each intermediate to float32 afterwards.

        Args:
            inputs: `(batch, sequence_length, hidden_dim)` hidden states.
            mask_positions: `(batch, masks)` integer positions, validated as
                in `call`.

        Returns:
            A dict with keys, in forward order:
            `gathered` `(batch, masks, hidden_dim)`, the hidden states at the
            positions; `dense` `(batch, masks, feature_dim)`, the dense layer
            before its activation; `activated`, after it; `normed`, after the
            layer normalisation; `context_logits` `(batch, masks, vocab)`,
            the projection before the bias; `bias` `(vocab,)`; `logits`
            `(batch, masks, vocab)` = `context_logits + bias`, equal to
            `self(inputs, mask_positions)` when `activation` is None.
        """
        tensors = self(inputs, mask_positions, return_stages=True)
        return {
            name: ops.convert_to_numpy(ops.cast(tensors[name], "float32"))
            for name in STAGE_NAMES
        }

    def _forward(self, inputs, mask_positions, vocabulary_first=False):
        """The head's computation; returns a dict of tensors keyed by stage.

        With `vocabulary_first` (mlmviz's compiled paths) a plain tied
        embedding's product is taken as `embeddings @ normedᵀ`, then
        transposed: the same numbers within float32 rounding, but TensorFlow's
        `normed @ embeddingsᵀ` takes several times longer for 2 to 3 rows than
        for 1 (80 vs 9 ms at BERT-base size). Calls of the layer keep
        keras-hub's product.
        """
        mask_positions = check_mask_positions(mask_positions, inputs)
        # (batch, masks, 1): one index per gathered row, broadcast over hidden.
        index = ops.expand_dims(mask_positions, axis=-1)
        gathered = ops.take_along_axis(inputs, index, axis=1)  # (b, m, hidden)
        dense = self._intermediate_dense(gathered)  # (b, m, feature)
        activated = self.intermediate_activation(dense)  # (b, m, feature)
        normed = self._intermediate_layer_norm(activated)  # (b, m, feature)
        if vocabulary_first and _plain_tie(self.token_embedding):
            projected = _vocabulary_first(normed, self.token_embedding.embeddings)  # (b, m, V)
        elif self.token_embedding is not None:
            projected = self.token_embedding(normed, reverse=True)  # (b, m, V)
        else:
            projected = ops.matmul(normed, self._kernel)  # (b, m, V)
        context_logits = ops.cast(projected, self.compute_dtype)
        bias = ops.cast(self._bias, self.compute_dtype)  # (V,)
        logits = context_logits + bias  # (b, m, V)
        return {
            "gathered": gathered,
            "dense": dense,
            "activated": activated,
            "normed": normed,
            "context_logits": context_logits,
            "bias": bias,
            "logits": logits,
        }

    def compute_output_shape(self, inputs_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.vocabulary_size,)

    def get_config(self):
        config = super().get_config()
        embedding = None
        if self.token_embedding is not None:
            embedding = keras.layers.serialize(self.token_embedding)
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "token_embedding": embedding,
                "intermediate_activation": keras.activations.serialize(
                    self.intermediate_activation
                ),
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("token_embedding"):
            config["token_embedding"] = keras.layers.deserialize(
                config["token_embedding"]
            )
        return cls(**config)


def _plain_tie(embedding):
    """True for a tied `ReversibleEmbedding` whose reverse call is a bare product
    (no soft cap, no other dtype, not quantized)."""
    return (
        isinstance(embedding, keras.layers.ReversibleEmbedding)
        and embedding.tie_weights
        and embedding.reverse_dtype is None
        and embedding.logit_soft_cap is None
        and embedding.quantization_mode is None
    )


def _vocabulary_first(normed, embeddings):
    """`normed @ embeddingsᵀ` computed as `(embeddings @ normedᵀ)ᵀ`.

    Args:
        normed: `(b, m, feature)`; embeddings: `(vocab, feature)`.

    Returns:
        `(b, m, vocab)`.
    """
    batch, masks, feature = ops.shape(normed)
    rows = ops.reshape(normed, (-1, feature))  # (b·m, feature)
    product = ops.matmul(embeddings, ops.transpose(rows))  # (vocab, b·m)
    return ops.reshape(ops.transpose(product), (batch, masks, embeddings.shape[0]))  # (b, m, V)


def check_mask_positions(mask_positions, inputs):
    """Validate mask positions against hidden states; return them as a tensor.

    Args:
        mask_positions: `(batch, masks)` integer positions (array or tensor).
        inputs: `(batch, sequence_length, hidden_dim)` hidden states, or any
            object with that `shape` (only the shape is read).

    Returns:
        `mask_positions` as a backend tensor (its dtype unchanged).

    Raises:
        ValueError: when `inputs` is not 3-D, or the positions are not
            integers, not 2-D, have another batch size than `inputs`, or
            (when their values are known, i.e. not while tracing) contain a
            position that is negative or not smaller than `sequence_length`.
    """
    mask_positions = ops.convert_to_tensor(mask_positions)
    dtype = keras.backend.standardize_dtype(mask_positions.dtype)
    if "int" not in dtype:
        raise ValueError(
            f"mask_positions must be integers. Received dtype {dtype}"
        )
    if len(mask_positions.shape) != 2:
        raise ValueError(
            "mask_positions must be 2-D, (batch, masks_per_sequence). "
            f"Received shape {tuple(mask_positions.shape)}"
        )
    if len(inputs.shape) != 3:
        raise ValueError(
            "inputs must be 3-D, (batch, sequence_length, hidden_dim). "
            f"Received shape {tuple(inputs.shape)}"
        )
    batch, sequence_length = inputs.shape[0], inputs.shape[1]
    if None not in (batch, mask_positions.shape[0]) and (
        mask_positions.shape[0] != batch
    ):
        raise ValueError(
            "mask_positions must have one row per sequence in `inputs`. "
            f"Received {mask_positions.shape[0]} rows for a batch of {batch}"
        )
    values = _known_values(mask_positions)
    if values is None:
        return mask_positions
    if sequence_length is None:
        sequence_length = int(ops.shape(inputs)[1])
    bad = np.argwhere((values < 0) | (values >= sequence_length))
    if len(bad):
        row, col = bad[0]
        raise ValueError(
            "mask_positions must lie in [0, sequence_length) = "
            f"[0, {sequence_length}). Received {values[row, col]} at "
            f"[{row}, {col}] ({len(bad)} invalid position(s) in all)"
        )
    return mask_positions


def _known_values(tensor):
    """The values of `tensor` as numpy, or None while it is being traced."""
    if keras.backend.is_keras_tensor(tensor):
        return None
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return None
    elif backend == "jax":
        import jax

        try:
            return np.asarray(tensor)
        except jax.errors.TracerArrayConversionError:
            return None
    return ops.convert_to_numpy(tensor)
