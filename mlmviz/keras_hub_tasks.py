"""keras-hub MaskedLM tasks (`.keras` files, preset directories) → `MaskedLM`.

The task's own backbone is kept; its `keras_hub.layers.MaskedLMHead` is
replaced by our head with the same configuration, tied to the same token
embedding, holding the same weights. A preset saved without task weights
(the usual case for keras-hub's backbone presets) gets a freshly initialised
head, which `check_head` reports as untrained.

Tokenizers: WordPiece tasks (BERT, DistilBERT) are converted to a
`tokenizers` WordPiece tokenizer with the same vocabulary and casing.
"""

import json
from pathlib import Path

import keras
import keras_hub
from tokenizers.implementations import BertWordPieceTokenizer

from mlmviz.checkpoints import CheckpointError
from mlmviz.layers import MaskedLMHead
from mlmviz.model import MaskedLM, check_head
from mlmviz.tokenization import Tokenizer


def is_preset(directory):
    """True for a directory written by keras-hub's `save_to_preset`."""
    metadata = Path(directory) / "metadata.json"
    return metadata.is_file() and "keras_hub_version" in json.loads(metadata.read_text())


def load_keras_file(path, source, weight_hash):
    """A `.keras` archive of a keras-hub MaskedLM task, loaded in safe mode."""
    try:
        task = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many types for bad archives
        raise CheckpointError(f"{Path(path).name} could not be loaded: {error}") from None
    return from_task(task, source, weight_hash)


def load_preset(directory, source, weight_hash):
    """A keras-hub preset directory holding a MaskedLM task (or a backbone)."""
    try:
        task = keras_hub.models.MaskedLM.from_preset(str(directory))
    except Exception as error:  # keras-hub raises many types for bad presets
        raise CheckpointError(f"{directory} is not a loadable keras-hub preset: {error}") from None
    return from_task(task, source, weight_hash)


def from_task(task, source, weight_hash):
    """Wrap a keras-hub MaskedLM task in a `MaskedLM` bundle with our head."""
    if not isinstance(task, keras_hub.models.MaskedLM):
        raise CheckpointError(
            f"{source} holds a {type(task).__name__}, not a keras-hub MaskedLM task."
        )
    theirs = next(
        (layer for layer in task.layers if isinstance(layer, keras_hub.layers.MaskedLMHead)),
        None,
    )
    if theirs is None:
        raise CheckpointError(f"{source}: the task has no MaskedLMHead.")
    head = _our_head(theirs)
    backbone = task.backbone
    tokenizer = _tokenizer(task.preprocessor.tokenizer, backbone.max_sequence_length)
    metadata = {
        "source": source,
        "architecture": type(task).__name__,
        "vocabulary_size": head.vocabulary_size,
        "hidden_dim": backbone.hidden_dim,
        "num_layers": backbone.num_layers,
        "max_length": backbone.max_sequence_length,
        "tied": head.token_embedding is not None,
        "parameters": task.count_params(),
        "weight_hash": weight_hash,
    }
    return MaskedLM(tokenizer, backbone, head, metadata, check_head(head))


def _our_head(theirs):
    """Our MaskedLMHead configured and weighted exactly like keras-hub's."""
    head = MaskedLMHead(
        vocabulary_size=theirs.vocabulary_size,
        token_embedding=theirs.token_embedding,
        intermediate_activation=theirs.intermediate_activation,
        activation=theirs.activation,
        layer_norm_epsilon=theirs.layer_norm_epsilon,
        kernel_initializer=theirs.kernel_initializer,
        bias_initializer=theirs.bias_initializer,
        dtype=theirs.dtype_policy,
        name="mlm_head",
    )
    hidden_dim = theirs._intermediate_dense.kernel.shape[0]
    head.build((None, None, hidden_dim))
    theirs_by_name = {w.path.split("/", 1)[1]: w for w in theirs.weights}
    for weight in head.weights:
        weight.assign(theirs_by_name[weight.path.split("/", 1)[1]])
    return head


def _tokenizer(keras_hub_tokenizer, max_length):
    if not isinstance(keras_hub_tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        raise CheckpointError(
            f"keras-hub tokenizer {type(keras_hub_tokenizer).__name__} is not supported "
            "yet (WordPiece tasks such as BERT and DistilBERT are); load the model's "
            "Hugging Face checkpoint instead."
        )
    vocabulary = {token: i for i, token in enumerate(keras_hub_tokenizer.vocabulary)}
    tokenizer = BertWordPieceTokenizer(
        vocabulary,
        lowercase=keras_hub_tokenizer.lowercase,
        strip_accents=keras_hub_tokenizer.strip_accents,
    )._tokenizer
    return Tokenizer(tokenizer, keras_hub_tokenizer.mask_token, max_length)
