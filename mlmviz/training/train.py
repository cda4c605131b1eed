"""Continued masked-LM training of a Hugging Face checkpoint, with mlmviz's code.

The checkpoint is ported to a keras-hub backbone and our `MaskedLMHead`,
trained on plain text (one sentence or passage per line) with BERT's
corruption (`mlmviz.training.corruption`), the loss taken on the selected
positions only, and saved back in the checkpoint's own format (config.json +
model.safetensors + the tokenizer files), so `mlmviz.load` and Hugging Face
`transformers` both read the result.
"""

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from mlmviz.compiled import encoder_inputs, sequence_output
from mlmviz.sources.hf import load_hf_directory
from mlmviz.tokenization import Tokenizer
from mlmviz.training.corruption import corrupt

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


@dataclass(frozen=True)
class Packed:
    """Lines packed into fixed-length sequences.

    Attributes:
        token_ids: `(n, sequence_length)` ids: start token, whole lines,
            end token, padding.
        selectable: `(n, sequence_length)` True on line tokens (the ones
            masking may select).
    """

    token_ids: np.ndarray
    selectable: np.ndarray


def pack(tokenizer, lines, sequence_length, pad_id):
    """Pack consecutive lines into sequences `[start] line line ... [end] pad`.

    A line longer than a whole sequence is cut to fit.
    """
    start, end = _start_end_ids(tokenizer)
    room = sequence_length - 2
    sequences, current = [], []
    for ids in tokenizer.encode_words(lines):
        ids = ids[:room]
        if current and len(current) + len(ids) > room:
            sequences.append(current)
            current = []
        current = current + ids
    if current:
        sequences.append(current)
    token_ids = np.full((len(sequences), sequence_length), pad_id, dtype="int32")
    selectable = np.zeros(token_ids.shape, dtype=bool)
    for row, ids in enumerate(sequences):
        token_ids[row, : len(ids) + 2] = [start, *ids, end]
        selectable[row, 1 : len(ids) + 1] = True
    return Packed(token_ids, selectable)


def _start_end_ids(tokenizer):
    """The ids the tokenizer puts around a text ([CLS]/[SEP], <s>/</s>)."""
    ids = tokenizer.encode("").ids
    return ids[0], ids[-1]


def build_training_model(backbone, head):
    """A functional model: backbone inputs + `mask_positions` -> logits."""
    inputs = {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in backbone.input
    }
    positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    encoder = keras.Model(backbone.input, sequence_output(backbone))  # no pooler
    hidden = encoder(inputs)
    return keras.Model({**inputs, "mask_positions": positions}, head(hidden, positions))


def model_inputs(backbone, token_ids, pad_id, positions):
    """The input dict `build_training_model` expects, from token ids."""
    padding_mask = (token_ids != pad_id).astype("int32")
    return {**encoder_inputs(backbone, token_ids, padding_mask), "mask_positions": positions}


def masked_accuracy(model, backbone, packed, mask_id, pad_id, vocabulary_size, seed=0):
    """Top-1 accuracy on 15 % of the tokens, every selected one masked.

    Deterministic for a given `seed`: the same positions are masked each
    time, so numbers before and after training compare directly.
    """
    rng = np.random.default_rng(seed)
    width = max_predictions(packed.token_ids.shape[1])
    batch = corrupt(
        packed.token_ids, packed.selectable, rng, mask_id, vocabulary_size, width,
        mask_rate=1.0, random_rate=0.0,
    )
    hits = 0.0
    for rows in np.array_split(np.arange(len(batch.labels)), max(1, len(batch.labels) // 64)):
        inputs = model_inputs(backbone, batch.token_ids[rows], pad_id, batch.positions[rows])
        logits = model.predict_on_batch(inputs)  # (rows, width, vocab)
        hits += float(((logits.argmax(-1) == batch.labels[rows]) * batch.weights[rows]).sum())
    return hits / float(batch.weights.sum())


def max_predictions(sequence_length, selection_rate=0.15):
    return max(1, math.ceil(selection_rate * sequence_length))


def _batches(packed, backbone, config, mask_id, pad_id, vocabulary_size):
    """Endless shuffled training batches, freshly corrupted every time."""
    rng = np.random.default_rng(config.seed)
    width = max_predictions(config.sequence_length)
    while True:
        for rows in np.array_split(
            rng.permutation(len(packed.token_ids)),
            max(1, len(packed.token_ids) // config.batch_size),
        ):
            batch = corrupt(
                packed.token_ids[rows], packed.selectable[rows], rng, mask_id,
                vocabulary_size, width,
            )
            inputs = model_inputs(backbone, batch.token_ids, pad_id, batch.positions)
            yield inputs, batch.labels, batch.weights


def train(config, log=print):
    """Run one training; write the model to `config.out`; return the report.

    The report (also written as `training.json`) holds the settings, the
    loss and accuracy every `log_every` steps, and the held-out masked-token
    accuracy before and after training.
    """
    keras.utils.set_random_seed(config.seed)
    base = Path(config.base)
    ported = load_hf_directory(base, dropout=config.dropout)
    backbone, head = ported.backbone, ported.head
    tokenizer = Tokenizer.from_directory(base, max_length=config.sequence_length)
    pad_id = ported.config.get("pad_token_id") or 0
    vocabulary_size = head.vocabulary_size
    lines = _read_lines(config.corpus)
    train_data = pack(tokenizer, lines, config.sequence_length, pad_id)
    heldout = pack(tokenizer, _read_lines(config.heldout), config.sequence_length, pad_id)
    log(f"{len(lines)} lines -> {len(train_data.token_ids)} training sequences")

    model = build_training_model(backbone, head)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, max(1, config.steps - config.warmup_steps),
        warmup_target=config.learning_rate, warmup_steps=config.warmup_steps,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    accuracy = (tokenizer.mask_id, pad_id, vocabulary_size)
    before = masked_accuracy(model, backbone, heldout, *accuracy)
    log(f"held-out masked-token accuracy before: {before:.4f}")

    started = time.monotonic()
    chunk = min(config.log_every, config.steps)
    history = model.fit(
        _batches(train_data, backbone, config, tokenizer.mask_id, pad_id, vocabulary_size),
        steps_per_epoch=chunk,
        epochs=max(1, config.steps // chunk),
        shuffle=False,  # the generator shuffles
        verbose=2,
    ).history
    seconds = time.monotonic() - started
    after = masked_accuracy(model, backbone, heldout, *accuracy)
    log(f"held-out masked-token accuracy after: {after:.4f} ({seconds:.0f} s)")

    report = {
        "config": asdict(config),
        "training_sequences": len(train_data.token_ids),
        "heldout_sequences": len(heldout.token_ids),
        "seconds": round(seconds, 1),
        "loss": [round(v, 4) for v in history["loss"]],
        "accuracy": [round(v, 4) for v in history["accuracy"]],
        "heldout_accuracy_before": round(before, 4),
        "heldout_accuracy_after": round(after, 4),
    }
    _save(ported, base, Path(config.out), report)
    return report


def _read_lines(path):
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f"{path} has no text lines.")
    return lines


def _save(ported, base, out, report):
    ported.save(out)
    for name in TOKENIZER_FILES:
        if (base / name).is_file():
            shutil.copyfile(base / name, out / name)
    (out / "training.json").write_text(json.dumps(report, indent=2) + "\n")
