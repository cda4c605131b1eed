"""A ModernBERT encoder in Keras 3 (Answer.AI's architecture, Hugging Face's `modernbert`).

keras-hub has no ModernBERT backbone, so it is built here from Keras layers
and keras-hub's `RotaryEmbedding`, following transformers'
`ModernBertModel` (5.24) with its eager attention:

- token embedding → LayerNorm (no position embedding: rotary instead);
- each layer, pre-norm: `x + Wo(attention(attn_norm(x)))`, then
  `x + Wo(act(input) * gate)` with `input, gate = Wi(mlp_norm(x))` (GeGLU);
  layer 0's attention norm is the identity;
- attention from one fused `Wqkv`, rotary position embeddings on queries and
  keys, with the base of its kind: global layers (every
  `global_attn_every_n_layers`-th, from layer 0) see every token, local
  layers only tokens at most `local_attention // 2` positions away;
- a final LayerNorm. Biases and LayerNorm betas only where the config asks.

Hugging Face's unpadding and Flash Attention are speed paths with the same
numbers; they are not reproduced.
"""

import keras
import keras_hub
from keras import ops


def _norm(epsilon, bias, name):
    return keras.layers.LayerNormalization(epsilon=epsilon, center=bias, name=name)


@keras.saving.register_keras_serializable(package="mlmviz")
class ModernBertEncoderLayer(keras.layers.Layer):
    """One ModernBERT layer: pre-norm attention with rotary positions, then GeGLU.

    Args:
        hidden_dim, num_heads, intermediate_dim: sizes.
        rotary_base: the rotary embedding's base (`rope_theta`).
        window: None for a global layer, else the largest distance between
            two positions that attend to each other (`local_attention // 2`).
        first: True for layer 0, whose attention norm is the identity.
        activation: the feed-forward activation (Keras name or callable).
        epsilon, norm_bias, attention_bias, mlp_bias: as the checkpoint's config.
        dropout: on the attention and feed-forward outputs (training only).

    Called as keras-hub's `TransformerEncoder`: `layer(x, padding_mask=...,
    return_attention_scores=False)` → `(b, seq, hidden)`, or with
    `return_attention_scores=True` → `(hidden, weights (b, heads, seq, seq))`,
    weights 0 outside a local layer's window and on padding.
    """

    def __init__(self, hidden_dim, num_heads, intermediate_dim, rotary_base, window=None,
                 first=False, activation="gelu", epsilon=1e-5, norm_bias=False,
                 attention_bias=False, mlp_bias=False, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim, self.num_heads = hidden_dim, num_heads
        self.intermediate_dim, self.rotary_base = intermediate_dim, rotary_base
        self.window, self.first, self.epsilon = window, first, epsilon
        self.activation = keras.activations.get(activation)
        self.norm_bias, self.attention_bias, self.mlp_bias = norm_bias, attention_bias, mlp_bias
        self.dropout = dropout
        self.head_dim = hidden_dim // num_heads
        self.attn_norm = None if first else _norm(epsilon, norm_bias, "attn_norm")
        self.wqkv = keras.layers.Dense(3 * hidden_dim, use_bias=attention_bias, name="wqkv")
        self.rotary = keras_hub.layers.RotaryEmbedding(max_wavelength=rotary_base, name="rotary")
        self.attention_output = keras.layers.Dense(hidden_dim, use_bias=attention_bias,
                                                   name="attention_output")
        self.mlp_norm = _norm(epsilon, norm_bias, "mlp_norm")
        self.wi = keras.layers.Dense(2 * intermediate_dim, use_bias=mlp_bias, name="wi")
        self.mlp_output = keras.layers.Dense(hidden_dim, use_bias=mlp_bias, name="mlp_output")
        self.attention_dropout = keras.layers.Dropout(dropout)
        self.mlp_dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        if self.attn_norm is not None:
            self.attn_norm.build(input_shape)
        self.wqkv.build(input_shape)
        self.attention_output.build(input_shape)
        self.mlp_norm.build(input_shape)
        self.wi.build(input_shape)
        self.mlp_output.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.built = True

    def call(self, x, padding_mask=None, training=None, return_attention_scores=False):
        normed = x if self.attn_norm is None else self.attn_norm(x)  # (b, s, hidden)
        context, weights = self._attention(normed, padding_mask)
        x = x + self.attention_dropout(self.attention_output(context), training=training)
        inputs, gate = ops.split(self.wi(self.mlp_norm(x)), 2, axis=-1)  # 2 x (b, s, inter)
        glu = self.activation(inputs) * gate  # (b, s, inter)
        x = x + self.mlp_dropout(self.mlp_output(glu), training=training)  # (b, s, hidden)
        return (x, weights) if return_attention_scores else x

    def _attention(self, normed, padding_mask):
        """Rotary multi-head attention → `(context (b, s, hidden), weights (b, h, s, s))`."""
        b, s = ops.shape(normed)[0], ops.shape(normed)[1]
        qkv = ops.reshape(self.wqkv(normed), (b, s, 3, self.num_heads, self.head_dim))
        query = self.rotary(qkv[:, :, 0])  # (b, s, heads, dim)
        key = self.rotary(qkv[:, :, 1])  # (b, s, heads, dim)
        value = qkv[:, :, 2]  # (b, s, heads, dim)
        scores = ops.einsum("bqhd,bkhd->bhqk", query, key) * self.head_dim ** -0.5
        scores = ops.cast(scores, "float32")  # (b, heads, s, s), softmax in float32
        allowed = self._allowed(s, padding_mask)  # (b or 1, 1, s, s)
        scores = ops.where(allowed, scores, ops.full_like(scores, -1e9))
        weights = ops.where(allowed, ops.softmax(scores, axis=-1), 0.0)  # (b, heads, s, s)
        weights = ops.cast(weights, self.compute_dtype)
        context = ops.einsum("bhqk,bkhd->bqhd", weights, value)  # (b, s, heads, dim)
        return ops.reshape(context, (b, s, self.hidden_dim)), weights

    def _allowed(self, s, padding_mask):
        """Which keys each query may attend to: not padding, within the window."""
        allowed = ops.ones((1, 1, s, s), "bool")
        if padding_mask is not None:
            keys = ops.cast(padding_mask, "bool")[:, None, None, :]  # (b, 1, 1, s)
            allowed = ops.logical_and(allowed, keys)
        if self.window is not None:
            positions = ops.arange(s)
            distance = ops.abs(positions[:, None] - positions[None, :])  # (s, s)
            allowed = ops.logical_and(allowed, (distance <= self.window)[None, None])
        return allowed

    def compute_output_spec(self, x, padding_mask=None, training=None,
                            return_attention_scores=False):
        hidden = keras.KerasTensor(x.shape, self.compute_dtype)
        if not return_attention_scores:
            return hidden
        b, s = x.shape[0], x.shape[1]
        return hidden, keras.KerasTensor((b, self.num_heads, s, s), self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_dim": self.hidden_dim, "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim, "rotary_base": self.rotary_base,
            "window": self.window, "first": self.first,
            "activation": keras.activations.serialize(self.activation),
            "epsilon": self.epsilon, "norm_bias": self.norm_bias,
            "attention_bias": self.attention_bias, "mlp_bias": self.mlp_bias,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="mlmviz")
class ModernBertBackbone(keras_hub.models.Backbone):
    """The ModernBERT encoder: `{"token_ids", "padding_mask"}` (b, seq) → (b, seq, hidden).

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: sizes.
        global_every: every this many layers (from layer 0) attends globally.
        local_window: the local layers' window in tokens (`local_attention`);
            a token sees those at most half of it away.
        global_base, local_base: the rotary bases of the two kinds of layer.
        max_sequence_length: the longest input (`max_position_embeddings`).
        activation, epsilon, norm_bias, attention_bias, mlp_bias, dropout: as
            `ModernBertEncoderLayer`.
    """

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                 global_every=3, local_window=128, global_base=160_000.0, local_base=10_000.0,
                 max_sequence_length=8192, activation="gelu", epsilon=1e-5, norm_bias=False,
                 attention_bias=False, mlp_bias=False, dropout=0.0, dtype=None, **kwargs):
        self.token_embedding = keras.layers.ReversibleEmbedding(
            vocabulary_size, hidden_dim, dtype=dtype, name="token_embedding")
        self.embeddings_norm = _norm(epsilon, norm_bias, "embeddings_norm")
        self.transformer_layers = [
            ModernBertEncoderLayer(
                hidden_dim, num_heads, intermediate_dim,
                rotary_base=global_base if i % global_every == 0 else local_base,
                window=None if i % global_every == 0 else local_window // 2,
                first=i == 0, activation=activation, epsilon=epsilon, norm_bias=norm_bias,
                attention_bias=attention_bias, mlp_bias=mlp_bias, dropout=dropout,
                dtype=dtype, name=f"transformer_layer_{i}")
            for i in range(num_layers)
        ]
        self.final_norm = _norm(epsilon, norm_bias, "final_norm")

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        x = self.embeddings_norm(self.token_embedding(token_ids))  # (b, seq, hidden)
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)  # (b, seq, hidden)
        x = self.final_norm(x)  # (b, seq, hidden)
        super().__init__(inputs={"token_ids": token_ids, "padding_mask": padding_mask},
                         outputs=x, dtype=dtype, **kwargs)

        self.vocabulary_size, self.num_layers = vocabulary_size, num_layers
        self.num_heads = num_heads
        self.hidden_dim, self.intermediate_dim = hidden_dim, intermediate_dim
        self.global_every, self.local_window = global_every, local_window
        self.global_base, self.local_base = global_base, local_base
        self.max_sequence_length, self.activation, self.epsilon = (
            max_sequence_length, activation, epsilon)
        self.norm_bias, self.attention_bias, self.mlp_bias = norm_bias, attention_bias, mlp_bias
        self.dropout = dropout

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size, "num_layers": self.num_layers,
            "num_heads": self.num_heads, "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim, "global_every": self.global_every,
            "local_window": self.local_window, "global_base": self.global_base,
            "local_base": self.local_base, "max_sequence_length": self.max_sequence_length,
            "activation": keras.activations.serialize(keras.activations.get(self.activation)),
            "epsilon": self.epsilon, "norm_bias": self.norm_bias,
            "attention_bias": self.attention_bias, "mlp_bias": self.mlp_bias,
            "dropout": self.dropout,
        }
