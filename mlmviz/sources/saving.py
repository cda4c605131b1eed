"""mlmviz's own `.keras` format: encoder, head and tokenizer in one file.

`save(model, path)` writes a functional Keras model built from the encoder's
own layers (not from the backbone class, whose configuration does not record
every detail, such as a checkpoint's exact-GELU activation) plus our head,
so the tie between head and token embedding and every layer's settings
survive the round trip. The tokenizer travels in the same archive as an
asset of `TokenizerAssets`, an identity layer on the mask positions.
`mlmviz.load("file.keras")` reads it back with `safe_mode=True`.
"""

from pathlib import Path

import keras
import tokenizers

from mlmviz.compiled import sequence_output
from mlmviz.layers import MaskedLMHead
from mlmviz.model import MaskedLM, check_head
from mlmviz.tokenization import Tokenizer

TOKENIZER_FILE = "tokenizer.json"


@keras.saving.register_keras_serializable(package="mlmviz")
class TokenizerAssets(keras.layers.Layer):
    """Identity layer that carries a tokenizer and metadata through `.keras`.

    Args:
        mask_token: the tokenizer's mask token.
        max_length: the model's longest sequence.
        metadata: JSON-serialisable dict describing the model.
        tokenizer_json: the `tokenizers` JSON; saved as an asset file, not
            in the config (it is set again by `load_assets`).
    """

    def __init__(self, mask_token, max_length, metadata, tokenizer_json=None, **kwargs):
        super().__init__(**kwargs)
        self.mask_token = mask_token
        self.max_length = max_length
        self.metadata = metadata
        self.tokenizer_json = tokenizer_json

    def call(self, mask_positions):
        return mask_positions

    def save_assets(self, dir_path):
        (Path(dir_path) / TOKENIZER_FILE).write_text(self.tokenizer_json)

    def load_assets(self, dir_path):
        self.tokenizer_json = (Path(dir_path) / TOKENIZER_FILE).read_text()

    def get_config(self):
        return {
            **super().get_config(),
            "mask_token": self.mask_token,
            "max_length": self.max_length,
            "metadata": self.metadata,
        }


def save(model, path):
    """Write a `MaskedLM` to `path` (a `.keras` file) that `mlmviz.load` reads."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"The file name must end in .keras. Received {path.name}")
    embedding = model.head.token_embedding
    if embedding is not None and not any(layer is embedding for layer in model.backbone.layers):
        # Keras 3.15 cannot restore a head tied to an embedding nested in
        # another layer (keras-hub's TokenAndPositionEmbedding): the shared
        # embedding loads with no variables.
        raise ValueError(
            f"{model.metadata['architecture']} models cannot be saved as .keras yet: "
            "their token embedding is nested inside another layer. Keep the "
            "Hugging Face checkpoint directory instead."
        )
    metadata = {k: v for k, v in model.metadata.items() if k not in ("source", "weight_hash")}
    assets = TokenizerAssets(
        model.tokenizer.mask_token,
        model.tokenizer.max_length,
        metadata,
        model.tokenizer.to_json(),
        name="tokenizer_assets",
    )
    positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    logits = model.head(sequence_output(model.backbone), assets(positions))
    inputs = {**model.backbone.input, "mask_positions": positions}
    keras.Model(inputs, logits, name="mlmviz_masked_lm").save(path)


def is_saved_by_mlmviz(keras_model):
    return any(isinstance(layer, TokenizerAssets) for layer in keras_model.layers)


def from_saved(keras_model, source, weight_hash):
    """The `MaskedLM` inside a model written by `save`."""
    assets = next(l for l in keras_model.layers if isinstance(l, TokenizerAssets))
    head = next(l for l in keras_model.layers if isinstance(l, MaskedLMHead))
    hidden = head._inbound_nodes[0].input_tensors[0]  # the encoder's output
    inputs = {k: v for k, v in keras_model.input.items() if k != "mask_positions"}
    encoder = keras.Model(inputs, hidden, name="encoder")
    encoder.token_embedding = head.token_embedding or token_embedding(keras_model)
    tokenizer = Tokenizer(
        tokenizers.Tokenizer.from_str(assets.tokenizer_json), assets.mask_token, assets.max_length
    )
    metadata = {**assets.metadata, "source": source, "weight_hash": weight_hash}
    return MaskedLM(tokenizer, encoder, head, metadata, check_head(head))


def token_embedding(keras_model):
    """The input token embedding of a Keras model (its first reversible embedding)."""
    return next(
        layer for layer in keras_model._flatten_layers()
        if isinstance(layer, keras.layers.ReversibleEmbedding)
    )
