"""`mlmviz.load(source)`: one entry point for every checkpoint format.

Sources:
    "default"           the trained model embedded in `assets/default-model`
    a directory         a Hugging Face checkpoint (config.json +
                        model.safetensors + tokenizer.json and/or vocab.txt),
                        or a keras-hub preset of a MaskedLM task
    a `.keras` file     written by `mlmviz.save`, or a keras-hub MaskedLM task
                        (loaded with safe_mode=True)
    "hf:ORG/NAME"       a Hugging Face Hub repository, through the local
                        Hugging Face cache (safetensors files only)
Pickle-based files (.bin, .pt, .pth, .ckpt, ...) are refused unopened.
"""

import hashlib
from pathlib import Path

import keras

from mlmviz.model import MaskedLM, check_head, describe
from mlmviz.sources import keras_hub_tasks, saving
from mlmviz.sources.checkpoints import CheckpointError, check_links, refuse_pickle
from mlmviz.sources.hf import load_hf_directory
from mlmviz.tokenization import Tokenizer

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "assets" / "default-model"
HUB_FILES = ("*.json", "*.safetensors", "vocab.txt")


def load(source="default"):
    """Load a masked LM from `source` (see the module docstring).

    Returns:
        `mlmviz.model.MaskedLM`.

    Raises:
        CheckpointError: with a message naming what is wrong: a missing or
            refused file, an unknown architecture, a bad tensor.
    """
    source = str(source)
    if source == "default":
        return load_directory(DEFAULT_MODEL, source="default")
    if source.startswith("hf:"):
        snapshot = hub_snapshot(source[3:])
        check_links(snapshot, root=snapshot.parents[1])  # blobs live beside snapshots/
        return load_directory(snapshot, source=source)
    path = Path(source).expanduser()
    refuse_pickle(path)
    if not path.exists():
        raise CheckpointError(f"{source} does not exist.")
    if path.is_dir():
        check_links(path)
    if path.is_dir() and keras_hub_tasks.is_preset(path):
        digest = file_hash(path / "model.weights.h5", path / "task.weights.h5")
        return keras_hub_tasks.load_preset(path, source, digest)
    if path.is_dir():
        return load_directory(path, source=source)
    if path.suffix == ".keras":
        return load_keras_file(path, source)
    raise CheckpointError(
        f"{path.name}: mlmviz loads checkpoint directories (Hugging Face or "
        "keras-hub preset), .keras files of keras-hub MaskedLM tasks, and hf:ORG/NAME."
    )


def load_keras_file(path, source):
    """A `.keras` file written by `mlmviz.save` or holding a keras-hub MaskedLM task.

    Loaded with `safe_mode=True`: archives that would run code (a `Lambda`
    layer, say) are refused.
    """
    try:
        keras_model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many types for bad archives
        raise CheckpointError(f"{Path(path).name} could not be loaded: {error}") from None
    if saving.is_saved_by_mlmviz(keras_model):
        return saving.from_saved(keras_model, source, file_hash(path))
    return keras_hub_tasks.from_task(keras_model, source, file_hash(path))


def load_directory(directory, source):
    """Load a Hugging Face checkpoint directory."""
    directory = Path(directory)
    if not (directory / "model.safetensors").is_file():
        for path in sorted(directory.iterdir()):
            refuse_pickle(path)  # a pickle-only checkpoint: say how to convert
    ported = load_hf_directory(directory)
    backbone, head = ported.backbone, ported.head
    tokenizer = Tokenizer.from_directory(directory, max_length=backbone.max_sequence_length)
    metadata = describe(
        source, ported.config["model_type"], backbone, head,
        file_hash(directory / "model.safetensors"),
    )
    return MaskedLM(
        tokenizer, backbone, head, metadata, check_head(head, ported.has_head_weights)
    )


def hub_snapshot(repo_id):
    """Local directory of `repo_id` from the Hugging Face cache.

    Downloads the safetensors/JSON/vocab files when online; with
    `HF_HUB_OFFLINE=1` (or no network) it uses what the cache holds.
    """
    import huggingface_hub

    try:
        return Path(huggingface_hub.snapshot_download(repo_id, allow_patterns=list(HUB_FILES)))
    except Exception as error:  # hub errors have many types; the message says enough
        raise CheckpointError(
            f"hf:{repo_id} could not be fetched or found in the Hugging Face cache: {error}"
        ) from None


def file_hash(*paths, length=16):
    """First `length` hex digits of the SHA-256 of the files that exist."""
    digest = hashlib.sha256()
    for path in paths:
        if not Path(path).is_file():
            continue
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(2**20), b""):
                digest.update(block)
    return digest.hexdigest()[:length]
