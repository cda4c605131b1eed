"""Hugging Face `*ForMaskedLM` checkpoints → a keras-hub backbone + our head.

Supported: BERT, DistilBERT, RoBERTa and ALBERT directories holding
`config.json` and `model.safetensors`. keras-hub's own converters need a
pooler and drop the MLM head, so the weights are ported here, tensor by
tensor, with shape checks that name the tensor and both shapes.

Hugging Face `Linear` weights are `(out, in)`; Keras kernels are `(in, out)`,
and keras-hub's attention kernels split the hidden axis into
`(heads, head_dim)`.
"""

import json
from pathlib import Path

import keras
import keras_hub
import numpy as np

from mlmviz.activations import from_hf_name
from mlmviz.checkpoints import CheckpointError, read_safetensors
from mlmviz.layers import MaskedLMHead

ARCHITECTURES = ("bert", "distilbert", "roberta", "albert")


def load_hf_directory(directory):
    """Build `(config, backbone, head, has_head_weights)` from an HF directory.

    Raises:
        CheckpointError: missing files, an unknown architecture, or a tensor
            that is missing or has the wrong shape.
    """
    directory = Path(directory)
    config = read_config(directory)
    weights_path = directory / "model.safetensors"
    if not weights_path.is_file():
        raise CheckpointError(f"{directory} has no model.safetensors.")
    tensors = _Tensors(read_safetensors(weights_path), weights_path.name)
    port = _PORTS[config["model_type"]]
    backbone, head, has_head = port(config, tensors)
    return config, backbone, head, has_head


def read_config(directory):
    """`config.json` of an HF checkpoint, with a supported `model_type`."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{directory} has no config.json.")
    try:
        config = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from None
    model_type = config.get("model_type")
    if model_type not in ARCHITECTURES:
        raise CheckpointError(
            f"Unsupported architecture {model_type!r} in {path}; mlmviz reads "
            f"{', '.join(ARCHITECTURES)} masked-LM checkpoints."
        )
    return config


class _Tensors:
    """The checkpoint's tensors, taken one by one with clear errors."""

    def __init__(self, tensors, filename):
        self._tensors = tensors
        self._filename = filename

    def has(self, prefix):
        return any(name.startswith(prefix) for name in self._tensors)

    def get(self, *names):
        """The first of `names` that exists (old files say gamma/beta)."""
        for name in names:
            if name in self._tensors:
                return self._tensors[name]
        raise CheckpointError(f"{self._filename} has no tensor {names[0]!r}.")

    def norm(self, prefix):
        """(gamma, beta) of a LayerNorm, under new or old names."""
        return (
            self.get(f"{prefix}.weight", f"{prefix}.gamma"),
            self.get(f"{prefix}.bias", f"{prefix}.beta"),
        )


def _assign(layer, values, names):
    """Assign `values` to `layer`'s weights in order, checking every shape."""
    for weight, value, name in zip(layer.weights, values, names):
        if tuple(weight.shape) != value.shape:
            raise CheckpointError(
                f"Tensor {name!r} has shape {value.shape}; the model expects "
                f"{tuple(weight.shape)} for {weight.path}."
            )
        weight.assign(value)


def _port_dense(layer, tensors, prefix):
    kernel = tensors.get(f"{prefix}.weight").T  # (in, out)
    _assign(layer, [kernel, tensors.get(f"{prefix}.bias")], [f"{prefix}.weight", f"{prefix}.bias"])


def _port_norm(layer, tensors, prefix):
    _assign(layer, tensors.norm(prefix), [f"{prefix}.weight", f"{prefix}.bias"])


def _port_encoder_layer(layer, tensors, names):
    """One keras-hub `TransformerEncoder` from HF tensors; `names` maps parts."""
    attention = layer._self_attention_layer
    heads, head_dim = attention.num_heads, attention.key_dim
    for part in ("query", "key", "value"):
        prefix = names[part]
        kernel = tensors.get(f"{prefix}.weight").T  # (hidden, heads * head_dim)
        bias = tensors.get(f"{prefix}.bias")
        _assign(
            getattr(attention, f"_{part}_dense"),
            [kernel.reshape(-1, heads, head_dim), bias.reshape(heads, head_dim)],
            [f"{prefix}.weight", f"{prefix}.bias"],
        )
    prefix = names["attention_output"]
    kernel = tensors.get(f"{prefix}.weight").T  # (heads * head_dim, hidden)
    _assign(
        attention._output_dense,
        [kernel.reshape(heads, head_dim, -1), tensors.get(f"{prefix}.bias")],
        [f"{prefix}.weight", f"{prefix}.bias"],
    )
    _port_norm(layer._self_attention_layer_norm, tensors, names["attention_norm"])
    _port_dense(layer._feedforward_intermediate_dense, tensors, names["intermediate"])
    _port_dense(layer._feedforward_output_dense, tensors, names["output"])
    _port_norm(layer._feedforward_layer_norm, tensors, names["output_norm"])


def _set_feedforward_activation(layers, activation):
    """Use the checkpoint's activation (keras-hub's BERT hard-codes tanh GELU)."""
    for layer in layers:
        layer.activation = activation
        layer._feedforward_intermediate_dense.activation = activation


def _bert_layer_names(prefix):
    return {
        "query": f"{prefix}.attention.self.query",
        "key": f"{prefix}.attention.self.key",
        "value": f"{prefix}.attention.self.value",
        "attention_output": f"{prefix}.attention.output.dense",
        "attention_norm": f"{prefix}.attention.output.LayerNorm",
        "intermediate": f"{prefix}.intermediate.dense",
        "output": f"{prefix}.output.dense",
        "output_norm": f"{prefix}.output.LayerNorm",
    }


def _make_head(embedding, hidden_dim, activation, epsilon, tensors, dense, norm, bias):
    """Our tied head with the checkpoint's head weights, if it has them.

    Returns `(head, has_head_weights)`; without head weights the head keeps
    its fresh initialisation.
    """
    head = MaskedLMHead(
        token_embedding=embedding,
        intermediate_activation=activation,
        layer_norm_epsilon=epsilon,
        name="mlm_head",
    )
    head.build((None, None, hidden_dim))
    has_head = tensors.has(dense)
    if has_head:
        _port_dense(head._intermediate_dense, tensors, dense)
        _port_norm(head._intermediate_layer_norm, tensors, norm)
        _assign(head, [tensors.get(bias)], [bias])  # the only own weight: output_bias
    return head, has_head


def _port_bert(config, tensors):
    prefix = "bert." if tensors.has("bert.") else ""
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        hidden_dim=config["hidden_size"],
        intermediate_dim=config["intermediate_size"],
        dropout=0.0,
        max_sequence_length=config["max_position_embeddings"],
        num_segments=config.get("type_vocab_size", 2),
    )
    embeddings = f"{prefix}embeddings"
    _port_embeddings(backbone, tensors, embeddings, segment=True)
    for i, layer in enumerate(backbone.transformer_layers):
        _port_encoder_layer(layer, tensors, _bert_layer_names(f"{prefix}encoder.layer.{i}"))
    activation = from_hf_name(config["hidden_act"])
    _set_feedforward_activation(backbone.transformer_layers, activation)
    head, has_head = _make_head(
        backbone.token_embedding, config["hidden_size"], activation,
        config.get("layer_norm_eps", 1e-12), tensors,
        "cls.predictions.transform.dense",
        "cls.predictions.transform.LayerNorm",
        "cls.predictions.bias",
    )
    return backbone, head, has_head


def _port_embeddings(backbone, tensors, prefix, segment):
    words = f"{prefix}.word_embeddings.weight"
    positions = f"{prefix}.position_embeddings.weight"
    _assign(backbone.token_embedding, [tensors.get(words)], [words])
    _assign(backbone.position_embedding, [tensors.get(positions)], [positions])
    if segment:
        types = f"{prefix}.token_type_embeddings.weight"
        _assign(backbone.segment_embedding, [tensors.get(types)], [types])
    _port_norm(backbone.get_layer("embeddings_layer_norm"), tensors, f"{prefix}.LayerNorm")


def _port_distilbert(config, tensors):
    prefix = "distilbert."
    backbone = keras_hub.models.DistilBertBackbone(
        vocabulary_size=config["vocab_size"],
        num_layers=config["n_layers"],
        num_heads=config["n_heads"],
        hidden_dim=config["dim"],
        intermediate_dim=config["hidden_dim"],
        dropout=0.0,
        max_sequence_length=config["max_position_embeddings"],
    )
    embedding = backbone.get_layer("token_and_position_embedding")
    for layer, name in (
        (embedding.token_embedding, f"{prefix}embeddings.word_embeddings.weight"),
        (embedding.position_embedding, f"{prefix}embeddings.position_embeddings.weight"),
    ):
        _assign(layer, [tensors.get(name)], [name])
    _port_norm(backbone.get_layer("embeddings_layer_norm"), tensors, f"{prefix}embeddings.LayerNorm")
    for i, layer in enumerate(backbone.transformer_layers):
        p = f"{prefix}transformer.layer.{i}"
        _port_encoder_layer(layer, tensors, {
            "query": f"{p}.attention.q_lin",
            "key": f"{p}.attention.k_lin",
            "value": f"{p}.attention.v_lin",
            "attention_output": f"{p}.attention.out_lin",
            "attention_norm": f"{p}.sa_layer_norm",
            "intermediate": f"{p}.ffn.lin1",
            "output": f"{p}.ffn.lin2",
            "output_norm": f"{p}.output_layer_norm",
        })
    activation = from_hf_name(config.get("activation", "gelu"))
    _set_feedforward_activation(backbone.transformer_layers, activation)
    head, has_head = _make_head(
        backbone.token_embedding, config["dim"], activation, 1e-12, tensors,
        "vocab_transform", "vocab_layer_norm", "vocab_projector.bias",
    )
    return backbone, head, has_head


def _port_roberta(config, tensors):
    prefix = "roberta."
    # RoBERTa numbers positions from padding_idx + 1; keras-hub from 0.
    offset = config.get("pad_token_id", 1) + 1
    backbone = keras_hub.models.RobertaBackbone(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        hidden_dim=config["hidden_size"],
        intermediate_dim=config["intermediate_size"],
        dropout=0.0,
        max_sequence_length=config["max_position_embeddings"] - offset,
    )
    embeddings = backbone.get_layer("embeddings")
    words = f"{prefix}embeddings.word_embeddings.weight"
    _assign(embeddings.token_embedding, [tensors.get(words)], [words])
    # HF adds token-type embedding 0 to every token; fold it into positions.
    positions = tensors.get(f"{prefix}embeddings.position_embeddings.weight")[offset:]
    token_type = tensors.get(f"{prefix}embeddings.token_type_embeddings.weight")[0]
    _assign(
        embeddings.position_embedding,
        [positions + token_type],
        [f"{prefix}embeddings.position_embeddings.weight"],
    )
    _port_norm(backbone.get_layer("embeddings_layer_norm"), tensors, f"{prefix}embeddings.LayerNorm")
    for i, layer in enumerate(backbone.transformer_layers):
        _port_encoder_layer(layer, tensors, _bert_layer_names(f"{prefix}encoder.layer.{i}"))
    _set_feedforward_activation(backbone.transformer_layers, from_hf_name(config["hidden_act"]))
    # HF's RobertaLMHead always uses exact GELU, whatever hidden_act says.
    head, has_head = _make_head(
        backbone.token_embedding, config["hidden_size"], from_hf_name("gelu"),
        config.get("layer_norm_eps", 1e-5), tensors,
        "lm_head.dense", "lm_head.layer_norm", "lm_head.bias",
    )
    return backbone, head, has_head


def _port_albert(config, tensors):
    prefix = "albert."
    groups, inner = config.get("num_hidden_groups", 1), config.get("inner_group_num", 1)
    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        embedding_dim=config["embedding_size"],
        hidden_dim=config["hidden_size"],
        intermediate_dim=config["intermediate_size"],
        num_groups=groups,
        num_inner_repetitions=inner,
        dropout=0.0,
        max_sequence_length=config["max_position_embeddings"],
        num_segments=config.get("type_vocab_size", 2),
    )
    _port_embeddings(backbone, tensors, f"{prefix}embeddings", segment=True)
    _port_dense(
        backbone.get_layer("embedding_projection"), tensors,
        f"{prefix}encoder.embedding_hidden_mapping_in",
    )
    for g, group in enumerate(backbone.transformer_layers):
        for k, layer in enumerate(group):
            p = f"{prefix}encoder.albert_layer_groups.{g}.albert_layers.{k}"
            _port_encoder_layer(layer, tensors, {
                "query": f"{p}.attention.query",
                "key": f"{p}.attention.key",
                "value": f"{p}.attention.value",
                "attention_output": f"{p}.attention.dense",
                "attention_norm": f"{p}.attention.LayerNorm",
                "intermediate": f"{p}.ffn",
                "output": f"{p}.ffn_output",
                "output_norm": f"{p}.full_layer_layer_norm",
            })
    all_layers = [layer for group in backbone.transformer_layers for layer in group]
    activation = from_hf_name(config["hidden_act"])
    _set_feedforward_activation(all_layers, activation)
    head, has_head = _make_head(
        backbone.token_embedding, config["hidden_size"], activation,
        config.get("layer_norm_eps", 1e-12), tensors,
        "predictions.dense", "predictions.LayerNorm", "predictions.bias",
    )
    return backbone, head, has_head


_PORTS = {
    "bert": _port_bert,
    "distilbert": _port_distilbert,
    "roberta": _port_roberta,
    "albert": _port_albert,
}
