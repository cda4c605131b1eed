"""`mlmviz.load(source)`: one entry point for every checkpoint format.

Sources:
    "default"           the trained model shipped in the package, `mlmviz/assets/default-model`
    a directory         a Hugging Face checkpoint (config.json +
                        model.safetensors + tokenizer.json, vocab.txt or
                        spiece.model),
                        or a keras-hub preset of a MaskedLM task
    a `.keras` file     written by `mlmviz.save`, or a keras-hub MaskedLM task
                        (loaded with safe_mode=True)
    a directory with    as written by `python -m mlmviz train-head --out DIR`
    model.keras         (no config.json): its model.keras
    "hf:ORG/NAME"       a Hugging Face Hub repository, through the local
                        Hugging Face cache (safetensors files only)
Pickle-based files (.bin, .pt, .pth, .ckpt, ...) are refused unopened.
"""

import functools
import hashlib
import json
from pathlib import Path

import keras

from mlmviz.model import MaskedLM, check_head, describe
from mlmviz.precision import check_precision, convert
from mlmviz.sources import hub, keras_hub_tasks, saving
from mlmviz.sources.checkpoints import CheckpointError, check_links, refuse_pickle
from mlmviz.sources.hf import load_hf_directory
from mlmviz.tokenization import Tokenizer

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "default-model"
# The default model's hits on the everyday cloze set (benchmarks/cloze/everyday.tsv),
# written by `benchmarks/bench_default_model.py --write-summary`.
DEFAULT_CLOZE = DEFAULT_MODEL / "cloze.json"
KERAS_FILE = "model.keras"  # what `train-head --out DIR` writes in DIR
# What a Hugging Face checkpoint folder holds that mlmviz reads.
HF_FILES = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt",
            "spiece.model", "tokenizer_config.json")
ACCEPTED = (
    "mlmviz loads a Hugging Face checkpoint folder (config.json, model.safetensors, and "
    "tokenizer.json, vocab.txt or spiece.model), a keras-hub preset folder (metadata.json, config.json, "
    "model.weights.h5), a .keras file (or a folder holding model.keras), or hf:ORG/NAME."
)


def load(source="default", precision="float32", name=None):
    """Load a masked LM from `source` (see the module docstring).

    Args:
        source: what to load.
        precision: "float32" (the default) or "bfloat16": the dtype the
            weights are held and computed in (see `mlmviz.precision`); the
            bundle's metadata says which, and for bfloat16 its agreement with
            float32 on a fixed sample.
        name: what the model's metadata and messages call its source
            (default: `source`); a shared server names the models it offers
            by their names, not their paths.

    Returns:
        `mlmviz.model.MaskedLM`.

    Raises:
        PrecisionError: (a ValueError) for a precision not offered, before
            anything is read.
        CheckpointError: with a message naming what is wrong: a path that is
            not a checkpoint, a missing or refused file, a link out of the
            checkpoint, an unknown architecture, a bad tensor.
    """
    check_precision(precision)
    return convert(_load_float32(str(source), str(name or source)), precision)


@functools.cache
def default_model_cloze():
    """How often the default model fills an everyday blank right:
    `{"sentences": n, "top1": hits, "top5": hits}` (its `cloze.json`, read
    once: the app's sidebar quotes it on every run). Do not mutate it."""
    return json.loads(DEFAULT_CLOZE.read_text())


def _load_float32(source, name):
    """The model at `source` as its checkpoint holds it (float32), called `name`."""
    if source == "default":
        return load_directory(DEFAULT_MODEL, source="default")
    if source.startswith("hf:"):
        snapshot = hub.snapshot(source[3:])
        # The snapshot's files are links to blobs/, beside snapshots/.
        return load_directory(snapshot, source=source, root=snapshot.parents[1])
    path = Path(source).expanduser()
    refuse_pickle(path)
    if not path.exists():
        raise CheckpointError(f"{source} does not exist.")
    if path.is_dir():
        return load_folder(path, name)
    if path.suffix == ".keras":
        return load_keras_file(path, name)
    raise CheckpointError(f"{path} is not a checkpoint. {ACCEPTED}")


def load_folder(path, source):
    """A keras-hub preset or a Hugging Face checkpoint folder.

    What the folder is, is decided from its file names first; only the
    files that will be read are then checked for links out of it.
    """
    check_links([path / "metadata.json"], path)
    if keras_hub_tasks.is_preset(path):
        keras_hub_tasks.check_preset_links(path)
        digest = file_hash(path / "model.weights.h5", path / "task.weights.h5")
        return keras_hub_tasks.load_preset(path, source, digest)
    config = path / "config.json"
    keras_file = path / KERAS_FILE
    if not (config.exists() or config.is_symlink()) and (keras_file.exists() or keras_file.is_symlink()):
        check_links([keras_file], path)
        return load_keras_file(keras_file, source)
    if not (config.exists() or config.is_symlink()):  # a link is refused by load_directory
        raise CheckpointError(
            f"{path} is not a checkpoint folder: it has no config.json (nor the metadata.json "
            f"of a keras-hub preset). {ACCEPTED}"
        )
    return load_directory(path, source=source)


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


def load_directory(directory, source, root=None):
    """Load a Hugging Face checkpoint directory.

    Its files must not lead outside `root` (default: the directory itself).
    """
    directory = Path(directory)
    check_links([directory / name for name in HF_FILES], root or directory)
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
