"""Hugging Face `*ForMaskedLM` checkpoints → a keras-hub backbone + our head.

Supported: BERT, DistilBERT, RoBERTa (and XLM-RoBERTa, CamemBERT), ALBERT,
ELECTRA (generators) and ModernBERT directories holding `config.json` and
`model.safetensors`. keras-hub's own converters need a pooler and drop the
MLM head, so the weights are ported here, tensor by tensor, with shape checks
that name the tensor and both shapes. ModernBERT runs on mlmviz's own
backbone (`mlmviz.modernbert`).

Hugging Face `Linear` weights are `(out, in)`; Keras kernels are `(in, out)`,
and keras-hub's attention kernels split the hidden axis into
`(heads, head_dim)`.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_hub
import numpy as np
from safetensors.numpy import save_file

from mlmviz.layers import MaskedLMHead
from mlmviz.modernbert import ModernBertBackbone
from mlmviz.sources.activations import from_hf_name
from mlmviz.sources.checkpoints import CheckpointError, read_safetensors

ARCHITECTURES = ("bert", "distilbert", "roberta", "xlm-roberta", "camembert", "albert", "electra",
                 "modernbert")


@dataclass
class Ported:
    """A Hugging Face checkpoint ported to Keras, able to save itself back.

    Attributes:
        config: the checkpoint's `config.json` as a dict.
        backbone: the keras-hub backbone holding the encoder weights.
        head: our `MaskedLMHead` holding the head weights.
        has_head_weights: False when the file had no MLM head tensors.
    """

    config: dict
    backbone: keras.Model
    head: MaskedLMHead
    has_head_weights: bool
    tensors: "_Tensors"

    def save(self, directory):
        """Write `config.json` and `model.safetensors` with the current weights.

        Tensors keep the checkpoint's names and layout, so the result loads
        in mlmviz and in Hugging Face `transformers` alike.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(self.config, indent=2) + "\n")
        save_file(self.tensors.exported(), directory / "model.safetensors", {"format": "pt"})


def load_hf_directory(directory, dropout=0.0):
    """Port the checkpoint in an HF directory to a keras-hub backbone + our head.

    `dropout` is the encoder's dropout rate: 0 for inference (the encoder is
    deterministic either way outside training), 0.1 to fine-tune.

    Returns:
        `Ported`.

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
    backbone, head, has_head = _PORTS[config["model_type"]](config, tensors, dropout)
    return Ported(config, backbone, head, has_head, tensors)


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


# (forward, backward): HF array -> Keras array, and back for export.
_COPY = (lambda x: x, lambda x: x)
_TRANSPOSE = (np.transpose, np.transpose)


def _split_heads(heads, head_dim):
    """HF q/k/v weight `(heads*dim, hidden)` <-> Keras `(hidden, heads, dim)`."""
    return (
        lambda w: w.T.reshape(-1, heads, head_dim),
        lambda k: k.reshape(k.shape[0], -1).T,
    )


def _split_bias(heads, head_dim):
    return (lambda b: b.reshape(heads, head_dim), lambda b: b.reshape(-1))


def _merge_heads(heads, head_dim):
    """HF output weight `(hidden, heads*dim)` <-> Keras `(heads, dim, hidden)`."""
    return (
        lambda w: w.T.reshape(heads, head_dim, -1),
        lambda k: k.reshape(heads * head_dim, -1).T,
    )


class _Tensors:
    """The checkpoint's tensors, ported into Keras weights one by one.

    Every port is recorded, so that `exported()` can write the (possibly
    trained) Keras weights back under the checkpoint's own names.
    """

    def __init__(self, tensors, filename):
        self._tensors = tensors
        self._filename = filename
        self._ported = {}

    def has(self, prefix):
        return any(name.startswith(prefix) for name in self._tensors)

    def get(self, *names):
        """The first of `names` that exists (old files say gamma/beta)."""
        return self._tensors[self._find(names)]

    def port_weight(self, weight, names, transform=_COPY):
        """Assign one HF tensor (first of `names` found) to a Keras weight."""
        names = (names,) if isinstance(names, str) else names
        name = self._find(names)
        forward, backward = transform
        if self._tensors[name].dtype.kind != "f":
            raise CheckpointError(
                f"Tensor {name!r} in {self._filename} holds {self._tensors[name].dtype} "
                f"values; the model expects floating-point weights for {weight.path}."
            )
        value = forward(self._tensors[name])
        if tuple(weight.shape) != value.shape:
            raise CheckpointError(
                f"Tensor {name!r} has shape {self._tensors[name].shape}; the "
                f"model expects {tuple(weight.shape)} for {weight.path} "
                f"(after conversion it has {value.shape})."
            )
        weight.assign(value)
        self._ported[name] = (weight, backward)

    def port_or_zero(self, weight, names):
        """`port_weight` if the file has one of `names`; else the weight is set
        to zeros and frozen (a bias the architecture leaves out), and not exported."""
        if any(name in self._tensors for name in names):
            self.port_weight(weight, names)
        else:
            weight.assign(np.zeros(weight.shape, "float32"))
            weight.trainable = False

    def port(self, layer, entries):
        """Assign `layer.weights` in order from `(names, transform)` entries."""
        for weight, (names, transform) in zip(layer.weights, entries):
            self.port_weight(weight, names, transform)

    def port_dense(self, layer, prefix):
        self.port(layer, [(f"{prefix}.weight", _TRANSPOSE), (f"{prefix}.bias", _COPY)])

    def port_norm(self, layer, prefix):
        self.port(layer, [
            ((f"{prefix}.weight", f"{prefix}.gamma"), _COPY),
            ((f"{prefix}.bias", f"{prefix}.beta"), _COPY),
        ])

    def export_alias(self, name, weight, backward=_COPY[1]):
        """Also write `weight` under `name` on export, if the file has it."""
        if name in self._tensors:
            self._ported[name] = (weight, backward)

    def exported(self):
        """All tensors, the ported ones replaced by their weights' values."""
        tensors = dict(self._tensors)
        for name, (weight, backward) in self._ported.items():
            value = backward(keras.ops.convert_to_numpy(weight).astype("float32"))
            tensors[name] = np.ascontiguousarray(value)
        return tensors

    def _find(self, names):
        for name in names:
            if name in self._tensors:
                return name
        raise CheckpointError(f"{self._filename} has no tensor {names[0]!r}.")


def _port_encoder_layer(layer, tensors, names):
    """One keras-hub `TransformerEncoder` from HF tensors; `names` maps parts."""
    attention = layer._self_attention_layer
    heads, head_dim = attention.num_heads, attention.key_dim
    for part in ("query", "key", "value"):
        prefix = names[part]
        tensors.port(getattr(attention, f"_{part}_dense"), [
            (f"{prefix}.weight", _split_heads(heads, head_dim)),
            (f"{prefix}.bias", _split_bias(heads, head_dim)),
        ])
    prefix = names["attention_output"]
    tensors.port(attention._output_dense, [
        (f"{prefix}.weight", _merge_heads(heads, head_dim)),
        (f"{prefix}.bias", _COPY),
    ])
    tensors.port_norm(layer._self_attention_layer_norm, names["attention_norm"])
    tensors.port_dense(layer._feedforward_intermediate_dense, names["intermediate"])
    tensors.port_dense(layer._feedforward_output_dense, names["output"])
    tensors.port_norm(layer._feedforward_layer_norm, names["output_norm"])


def _set_feedforward_activation(layers, activation):
    """Use the checkpoint's activation (keras-hub's BERT hard-codes tanh GELU)."""
    for layer in layers:
        layer.activation = activation
        layer._feedforward_intermediate_dense.activation = activation


def _make_head(backbone, hidden_dim, activation, epsilon, tensors, prefix):
    """Our head with the checkpoint's head weights (under `prefix`), if any.

    The head is tied to the backbone's token embedding unless the file holds
    a decoder matrix that differs from it; then the head gets its own
    `output_kernel`. Returns `(head, has_head_weights)`; without head weights
    the head keeps its fresh initialisation.
    """
    embedding = backbone.token_embedding
    decoder = _HEAD_NAMES[prefix]["decoder"]
    untied = tensors.has(decoder) and not np.array_equal(
        tensors.get(decoder), keras.ops.convert_to_numpy(embedding.embeddings)
    )
    head = MaskedLMHead(
        vocabulary_size=embedding.input_dim,
        token_embedding=None if untied else embedding,
        intermediate_activation=activation,
        layer_norm_epsilon=epsilon,
        name="mlm_head",
    )
    head.build((None, None, hidden_dim))
    names = _HEAD_NAMES[prefix]
    has_head = tensors.has(names["dense"])
    if has_head:
        dense, norm = names["dense"], names["norm"]
        tensors.port_weight(head._intermediate_dense.kernel, f"{dense}.weight", _TRANSPOSE)
        tensors.port_weight(head._intermediate_layer_norm.gamma,
                            (f"{norm}.weight", f"{norm}.gamma"))
        # ModernBERT's configs may leave out these three biases: then they stay 0.
        bias = tensors.port_or_zero if names.get("optional_biases") else tensors.port_weight
        bias(head._intermediate_dense.bias, (f"{dense}.bias",))
        bias(head._intermediate_layer_norm.beta, (f"{norm}.bias", f"{norm}.beta"))
        bias(head.output_bias, (names["bias"],))
        tensors.export_alias(names["decoder_bias"], head.output_bias)
    if untied:
        tensors.port_weight(head.output_kernel, decoder, _TRANSPOSE)
    else:
        tensors.export_alias(decoder, embedding.embeddings)
    return head, has_head


# Where each architecture keeps its MLM head (keyed by the head's prefix).
_HEAD_NAMES = {
    "cls.predictions": {
        "dense": "cls.predictions.transform.dense",
        "norm": "cls.predictions.transform.LayerNorm",
        "bias": "cls.predictions.bias",
        "decoder": "cls.predictions.decoder.weight",
        "decoder_bias": "cls.predictions.decoder.bias",
    },
    "vocab": {
        "dense": "vocab_transform",
        "norm": "vocab_layer_norm",
        "bias": "vocab_projector.bias",
        "decoder": "vocab_projector.weight",
        "decoder_bias": "vocab_projector.bias",
    },
    "lm_head": {
        "dense": "lm_head.dense",
        "norm": "lm_head.layer_norm",
        "bias": "lm_head.bias",
        "decoder": "lm_head.decoder.weight",
        "decoder_bias": "lm_head.decoder.bias",
    },
    "head": {  # ModernBERT: no dense bias, no norm bias, no decoder bias by config
        "dense": "head.dense",
        "norm": "head.norm",
        "bias": "decoder.bias",
        "decoder": "decoder.weight",
        "decoder_bias": "decoder.bias",
        "optional_biases": True,
    },
    "generator_predictions": {  # ELECTRA generators
        "dense": "generator_predictions.dense",
        "norm": "generator_predictions.LayerNorm",
        "bias": "generator_lm_head.bias",
        "decoder": "generator_lm_head.weight",
        "decoder_bias": "generator_lm_head.bias",
    },
    "predictions": {
        "dense": "predictions.dense",
        "norm": "predictions.LayerNorm",
        "bias": "predictions.bias",
        "decoder": "predictions.decoder.weight",
        "decoder_bias": "predictions.decoder.bias",
    },
}


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


def _base_prefix(tensors, name):
    """`name.` for *ForMaskedLM files, "" for base-model files."""
    return f"{name}." if tensors.has(f"{name}.") else ""


def _port_embeddings(backbone, tensors, prefix, segment):
    tensors.port(backbone.token_embedding, [(f"{prefix}.word_embeddings.weight", _COPY)])
    tensors.port(backbone.position_embedding, [(f"{prefix}.position_embeddings.weight", _COPY)])
    if segment:
        tensors.port(
            backbone.segment_embedding, [(f"{prefix}.token_type_embeddings.weight", _COPY)]
        )
    tensors.port_norm(backbone.get_layer("embeddings_layer_norm"), f"{prefix}.LayerNorm")


def _sizes(config):
    """keras-hub backbone sizes from a BERT-style config (BERT, RoBERTa, ALBERT)."""
    return {
        "vocabulary_size": config["vocab_size"],
        "num_layers": config["num_hidden_layers"],
        "num_heads": config["num_attention_heads"],
        "hidden_dim": config["hidden_size"],
        "intermediate_dim": config["intermediate_size"],
    }


def _port_bert(config, tensors, dropout):
    prefix = _base_prefix(tensors, "bert")
    backbone = keras_hub.models.BertBackbone(
        **_sizes(config),
        dropout=dropout,
        max_sequence_length=config["max_position_embeddings"],
        num_segments=config.get("type_vocab_size", 2),
    )
    _port_embeddings(backbone, tensors, f"{prefix}embeddings", segment=True)
    for i, layer in enumerate(backbone.transformer_layers):
        _port_encoder_layer(layer, tensors, _bert_layer_names(f"{prefix}encoder.layer.{i}"))
    activation = from_hf_name(config["hidden_act"])
    _set_feedforward_activation(backbone.transformer_layers, activation)
    return backbone, *_make_head(
        backbone, config["hidden_size"], activation,
        config.get("layer_norm_eps", 1e-12), tensors, "cls.predictions",
    )


def _port_distilbert(config, tensors, dropout):
    prefix = _base_prefix(tensors, "distilbert")
    backbone = keras_hub.models.DistilBertBackbone(
        vocabulary_size=config["vocab_size"],
        num_layers=config["n_layers"],
        num_heads=config["n_heads"],
        hidden_dim=config["dim"],
        intermediate_dim=config["hidden_dim"],
        dropout=dropout,
        max_sequence_length=config["max_position_embeddings"],
    )
    embedding = backbone.get_layer("token_and_position_embedding")
    tensors.port(embedding.token_embedding, [(f"{prefix}embeddings.word_embeddings.weight", _COPY)])
    tensors.port(
        embedding.position_embedding, [(f"{prefix}embeddings.position_embeddings.weight", _COPY)]
    )
    tensors.port_norm(backbone.get_layer("embeddings_layer_norm"), f"{prefix}embeddings.LayerNorm")
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
    # DistilBERT's vocab_layer_norm uses eps 1e-12 whatever the config says.
    return backbone, *_make_head(backbone, config["dim"], activation, 1e-12, tensors, "vocab")


def _port_roberta(config, tensors, dropout):
    prefix = _base_prefix(tensors, "roberta")
    # RoBERTa numbers positions from padding_idx + 1; keras-hub from 0.
    offset = config.get("pad_token_id", 1) + 1
    backbone = keras_hub.models.RobertaBackbone(
        **_sizes(config),
        dropout=dropout,
        max_sequence_length=config["max_position_embeddings"] - offset,
    )
    embeddings = backbone.get_layer("embeddings")
    tensors.port(
        embeddings.token_embedding, [(f"{prefix}embeddings.word_embeddings.weight", _COPY)]
    )
    # HF adds token-type embedding 0 to every token: fold it into positions.
    positions = tensors.get(f"{prefix}embeddings.position_embeddings.weight")
    token_type = tensors.get(f"{prefix}embeddings.token_type_embeddings.weight")[0]
    tensors.port(embeddings.position_embedding, [(
        f"{prefix}embeddings.position_embeddings.weight",
        (
            lambda p: p[offset:] + token_type,
            lambda k: np.concatenate([positions[:offset], k - token_type]),
        ),
    )])
    tensors.port_norm(backbone.get_layer("embeddings_layer_norm"), f"{prefix}embeddings.LayerNorm")
    for i, layer in enumerate(backbone.transformer_layers):
        _port_encoder_layer(layer, tensors, _bert_layer_names(f"{prefix}encoder.layer.{i}"))
    _set_feedforward_activation(backbone.transformer_layers, from_hf_name(config["hidden_act"]))
    # HF's RobertaLMHead always uses exact GELU, whatever hidden_act says.
    return backbone, *_make_head(
        backbone, config["hidden_size"], from_hf_name("gelu"),
        config.get("layer_norm_eps", 1e-5), tensors, "lm_head",
    )


def _port_albert(config, tensors, dropout):
    prefix = _base_prefix(tensors, "albert")
    backbone = keras_hub.models.AlbertBackbone(
        **_sizes(config),
        embedding_dim=config["embedding_size"],
        num_groups=config.get("num_hidden_groups", 1),
        num_inner_repetitions=config.get("inner_group_num", 1),
        dropout=dropout,
        max_sequence_length=config["max_position_embeddings"],
        num_segments=config.get("type_vocab_size", 2),
    )
    _port_embeddings(backbone, tensors, f"{prefix}embeddings", segment=True)
    tensors.port_dense(
        backbone.get_layer("embedding_projection"),
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
    return backbone, *_make_head(
        backbone, config["hidden_size"], activation,
        config.get("layer_norm_eps", 1e-12), tensors, "predictions",
    )


def _port_electra(config, tensors, dropout):
    """An ELECTRA generator (`ElectraForMaskedLM`): BERT's encoder behind an
    embedding projection, a head whose dense layer maps to the embedding size."""
    prefix = _base_prefix(tensors, "electra")
    sizes = _sizes(config)
    backbone = keras_hub.models.ElectraBackbone(
        vocab_size=sizes.pop("vocabulary_size"),
        **sizes,
        embedding_dim=config["embedding_size"],
        dropout=dropout,
        max_sequence_length=config["max_position_embeddings"],
        num_segments=config.get("type_vocab_size", 2),
    )
    _port_embeddings(backbone, tensors, f"{prefix}embeddings", segment=True)
    if config["embedding_size"] != config["hidden_size"]:
        tensors.port_dense(backbone.get_layer("embeddings_projection"),
                           f"{prefix}embeddings_project")
    epsilon = config.get("layer_norm_eps", 1e-12)
    for i, layer in enumerate(backbone.transformer_layers):
        _port_encoder_layer(layer, tensors, _bert_layer_names(f"{prefix}encoder.layer.{i}"))
        # keras-hub's ELECTRA layers fix epsilon at 1e-12; the config's is used.
        layer._self_attention_layer_norm.epsilon = epsilon
        layer._feedforward_layer_norm.epsilon = epsilon
    backbone.get_layer("embeddings_layer_norm").epsilon = epsilon
    _set_feedforward_activation(backbone.transformer_layers, from_hf_name(config["hidden_act"]))
    # HF's ElectraGeneratorPredictions always uses exact GELU.
    return backbone, *_make_head(
        backbone, config["hidden_size"], from_hf_name("gelu"), epsilon, tensors,
        "generator_predictions",
    )


def _modernbert_layout(config):
    """(global_every, global base, local base) from a ModernBERT config, as
    transformers 5 reads it (`layer_types` and `rope_parameters`, or the older
    `global_attn_every_n_layers` and `global_rope_theta`/`local_rope_theta`)."""
    types = config.get("layer_types") or _layer_types(
        config.get("global_attn_every_n_layers", 3), config["num_hidden_layers"])
    global_layers = [i for i, kind in enumerate(types) if kind == "full_attention"]
    every = global_layers[1] if len(global_layers) > 1 else len(types)
    if types != _layer_types(every, len(types)):
        raise CheckpointError(
            f"ModernBERT layer_types {types} do not repeat one global layer every n layers; "
            f"mlmviz reads only that layout."
        )
    rope = config.get("rope_parameters") or {}
    bases = []
    for kind, old, default in (("full_attention", "global_rope_theta", 160_000.0),
                               ("sliding_attention", "local_rope_theta", 10_000.0)):
        parameters = rope.get(kind) or {}
        if parameters.get("rope_type", "default") != "default" or config.get("rope_scaling"):
            raise CheckpointError(
                f"This ModernBERT scales its rotary embedding "
                f"({parameters or config['rope_scaling']}); mlmviz reads only the default "
                f"rotary embedding."
            )
        bases.append(float(parameters.get("rope_theta", config.get(old, default))))
    return every, *bases


def _layer_types(every, count):
    """ModernBERT's layer kinds with a global layer every `every` layers from layer 0."""
    return ["sliding_attention" if i % every else "full_attention" for i in range(count)]


def _port_modernbert(config, tensors, dropout):
    prefix = _base_prefix(tensors, "model")
    every, global_base, local_base = _modernbert_layout(config)
    backbone = ModernBertBackbone(
        **_sizes(config),
        global_every=every,
        local_window=config.get("local_attention", 128),
        global_base=global_base,
        local_base=local_base,
        max_sequence_length=config.get("max_position_embeddings", 8192),
        activation=from_hf_name(config.get("hidden_activation", "gelu")),
        epsilon=config.get("norm_eps", 1e-5),
        norm_bias=config.get("norm_bias", False),
        attention_bias=config.get("attention_bias", False),
        mlp_bias=config.get("mlp_bias", False),
        dropout=dropout,
    )
    tensors.port(backbone.token_embedding, [(f"{prefix}embeddings.tok_embeddings.weight", _COPY)])
    tensors.port_norm(backbone.embeddings_norm, f"{prefix}embeddings.norm")
    for i, layer in enumerate(backbone.transformer_layers):
        p = f"{prefix}layers.{i}"
        if layer.attn_norm is not None:
            tensors.port_norm(layer.attn_norm, f"{p}.attn_norm")
        tensors.port_dense(layer.wqkv, f"{p}.attn.Wqkv")
        tensors.port_dense(layer.attention_output, f"{p}.attn.Wo")
        tensors.port_norm(layer.mlp_norm, f"{p}.mlp_norm")
        tensors.port_dense(layer.wi, f"{p}.mlp.Wi")
        tensors.port_dense(layer.mlp_output, f"{p}.mlp.Wo")
    tensors.port_norm(backbone.final_norm, f"{prefix}final_norm")
    activation = from_hf_name(config.get("classifier_activation", "gelu"))
    return backbone, *_make_head(
        backbone, config["hidden_size"], activation, config.get("norm_eps", 1e-5), tensors, "head",
    )


_PORTS = {
    "bert": _port_bert,
    "distilbert": _port_distilbert,
    "roberta": _port_roberta,
    "xlm-roberta": _port_roberta,  # RoBERTa's tensors and head, another tokenizer
    "camembert": _port_roberta,
    "albert": _port_albert,
    "electra": _port_electra,
    "modernbert": _port_modernbert,
}
