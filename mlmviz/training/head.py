"""Train a fresh `MaskedLMHead` on a frozen encoder, and watch it learn.

The encoder never changes, so its hidden states at the masked positions are
computed once (`cache_states`: lines packed into 64-token sequences as
`mlmviz.training.train` packs them, 15 % of each sequence's tokens selected
and all of them replaced by the mask token, kept as float16 with the
original token ids). A fresh head (`fresh_model`) then learns from those
states alone (`HeadTraining`): each step is one compiled Keras
`train_on_batch` of AdamW on the sparse cross-entropy of float32 logits, so
a step costs the head's work only, and the run can stop between any two
steps. Held-out accuracy is top-1 on states cached the same way from
the shipped held-out sample, which the default model never trained on.

The fresh head is a real `MaskedLMHead`: `mlmviz.save` writes it with the
encoder and `mlmviz.load` reads it back.
"""

import gzip
import json
import math
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
from keras import ops

from mlmviz.compiled import encoder_calls, encoder_inputs, sequence_output
from mlmviz.layers import MaskedLMHead
from mlmviz.model import MaskedLM, check_head
from mlmviz.precision import rebuild_head
from mlmviz.samples import HELDOUT_SAMPLE, TRAIN_SAMPLE
from mlmviz.training.corruption import corrupt
from mlmviz.training.train import max_predictions, pack

SEQUENCE_LENGTH = 64
SELECTION_RATE = 0.15
ACTIVATIONS = ("gelu", "relu")
# BERT's initialiser (Devlin et al. 2019; `initializer_range` 0.02 in Hugging
# Face configs), for the fresh head's dense kernel and its untied output kernel.
INITIALISER_STDDEV = 0.02
CHUNK_LINES = 4096  # lines tokenized and packed at a time while caching
ENCODER_BATCH = 32  # sequences per encoder call while caching (fastest here: cache-sized)
EVAL_BATCH = 1024  # held-out states per accuracy call
# XLA fuses the elementwise work around the matrix products (1.4-1.6x faster
# steps and encoder calls on this CPU); Keras's "auto" leaves it off on CPUs,
# and on PyTorch it would mean torch.compile.
JIT = keras.backend.backend() != "torch"


class Stopped(Exception):
    """Raised by `cache_states` when its stop event is set."""


@dataclass(frozen=True)
class HeadSettings:
    """How the fresh head is built and trained.

    Attributes:
        learning_rate: AdamW's (constant) learning rate.
        batch_size: cached states per step. 128 learns fastest per second on
            the 2-core reference machine (a step of 512 costs 5.5x one of 128;
            `benchmarks/bench_train_head.py`).
        tied: project through the encoder's token embedding (as BERT does);
            False gives the head its own `(feature, vocab)` output kernel.
        activation: the intermediate activation, "gelu" or "relu".
        train_embedding: tied only: let training change the tied embedding
            (the head then trains on a copy of the encoder, as the embedding
            is also the encoder's input; the cached states stay those of the
            unchanged encoder).
        seed: the head's initial weights and the order of the batches.
    """

    learning_rate: float = 3e-3
    batch_size: int = 128
    tied: bool = True
    activation: str = "gelu"
    train_embedding: bool = False
    seed: int = 0

    def __post_init__(self):
        check_settings(self)


def check_settings(settings):
    """Raise `ValueError`, saying what is wrong, for settings that cannot train."""
    rate = settings.learning_rate
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
        math.isfinite(rate) and rate > 0
    ):
        raise ValueError(f"The learning rate must be a positive number. Received {rate!r}")
    size = settings.batch_size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"The batch size must be a positive integer. Received {size!r}")
    if settings.activation not in ACTIVATIONS:
        raise ValueError(
            f"The activation must be one of {', '.join(ACTIVATIONS)}. "
            f"Received {settings.activation!r}"
        )
    if settings.train_embedding and not settings.tied:
        raise ValueError("train_embedding applies to a tied head only: an untied head "
                         "does not use the embedding.")


@dataclass(frozen=True)
class CachedStates:
    """Encoder outputs at masked positions.

    Attributes:
        hidden: `(n, hidden_dim)` float16, the encoder's output there.
        labels: `(n,)` int32, the original token ids there.
    """

    hidden: np.ndarray
    labels: np.ndarray

    def __len__(self):
        return len(self.labels)


def default_corpus():
    """The lines of the training sample shipped in the package (`mlmviz.samples.TRAIN_SAMPLE`)."""
    with gzip.open(TRAIN_SAMPLE, "rt", encoding="utf-8") as file:
        return _text_lines(file)


def heldout_corpus():
    """The lines of the shipped held-out sample (`mlmviz.samples.HELDOUT_SAMPLE`; the default model's held-out split)."""
    with open(HELDOUT_SAMPLE, encoding="utf-8") as file:
        return _text_lines(file)


def _text_lines(lines):
    return [line.strip() for line in lines if line.strip()]


def cache_states(model, lines, max_positions=200_000, seed=0, stop=None, on_progress=None):
    """The frozen encoder's hidden states at masked positions of `lines`.

    Lines are packed into `SEQUENCE_LENGTH`-token sequences in order (as
    `mlmviz.training.train.pack` packs them, `CHUNK_LINES` lines at a time);
    in each sequence 15 % of the line tokens (at least one) are selected with
    a generator seeded by `seed`, all replaced by the mask token, and the
    encoder runs once on the sequences needed for `max_positions`.

    Args:
        model: an `mlmviz` `MaskedLM` (only its tokenizer and encoder are used).
        lines: list of str, one sentence or passage each (blank ones skipped).
        max_positions: most positions to keep (the first ones, in order).
        seed: the selection's seed; the same seed gives the same states.
        stop: a `threading.Event` or None; checked between encoder calls.
        on_progress: called as `on_progress(done, total)` (positions) after
            each encoder call, or None.

    Returns:
        `CachedStates` (float16 hidden states, int32 labels).

    Raises:
        ValueError: no text line, or `max_positions` not a positive integer.
        Stopped: when `stop` was set (within one encoder call, ~0.3 s).
    """
    if isinstance(max_positions, bool) or not isinstance(max_positions, (int, np.integer)) or (
        max_positions < 1
    ):
        raise ValueError(f"max_positions must be a positive integer. Received {max_positions!r}")
    lines = _text_lines(lines)
    if not lines:
        raise ValueError("The corpus has no text lines.")
    pad_id = _pad_id(model.tokenizer)
    encoder = _gathering_encoder(model.backbone)
    hidden, labels, done = [], [], 0
    for batch in _prefetched(_selections(model, lines, max_positions, seed, pad_id)):
        for start in range(0, len(batch.labels), ENCODER_BATCH):
            if stop is not None and stop.is_set():
                raise Stopped("Caching the encoder's states was stopped.")
            states, chosen = _encode(encoder, model.backbone, batch, start, pad_id)
            hidden.append(states.astype("float16"))  # (k, hidden)
            labels.append(batch.labels[start:start + ENCODER_BATCH][chosen])  # (k,)
            done += len(states)
            if on_progress is not None:
                on_progress(min(done, max_positions), max_positions)
    hidden = np.concatenate(hidden)[:max_positions]
    return CachedStates(hidden, np.concatenate(labels)[:max_positions].astype("int32"))


def _encode(encoder, backbone, batch, start, pad_id):
    """States `(k, hidden)` at the selected positions of rows `start:start+ENCODER_BATCH`
    of `batch`, and the `(rows, width)` bool array saying which were selected."""
    # The last rows are padded to a full batch: a new shape means a new XLA program.
    rows = np.arange(start, start + ENCODER_BATCH) % len(batch.labels)  # (b,)
    ids = batch.token_ids[rows]  # (b, seq)
    inputs = encoder_inputs(backbone, ids, (ids != pad_id).astype("int32"))
    gathered = encoder.predict_on_batch({**inputs, "mask_positions": batch.positions[rows]})
    chosen = batch.weights[start:start + ENCODER_BATCH] > 0  # (real rows, width)
    return np.asarray(gathered)[: len(chosen)][chosen], chosen  # (k, hidden)


def _pad_id(tokenizer):
    """The padding token's id ([PAD] or <pad>; 0 when the vocabulary has neither)."""
    return tokenizer.special_tokens.get("[PAD]", tokenizer.special_tokens.get("<pad>", 0))


def _selections(model, lines, max_positions, seed, pad_id):
    """Packed, fully masked sequences (`Corruption`s), chunk by chunk of lines,
    until they hold `max_positions` selected positions.

    Each chunk of `CHUNK_LINES` lines is packed on its own (so its last
    sequence may be short); one generator seeded by `seed` selects in all.
    """
    rng = np.random.default_rng(seed)
    width = max_predictions(SEQUENCE_LENGTH, SELECTION_RATE)
    remaining = max_positions
    for first in range(0, len(lines), CHUNK_LINES):
        packed = pack(model.tokenizer, lines[first:first + CHUNK_LINES], SEQUENCE_LENGTH, pad_id)
        # `corrupt`'s count per sequence, to corrupt only the rows still needed.
        selectable = packed.selectable.sum(axis=1)  # (sequences,)
        counts = np.minimum(width, np.maximum(1, np.round(SELECTION_RATE * selectable)))
        rows = int(np.searchsorted(np.cumsum(counts), remaining)) + 1
        batch = corrupt(
            packed.token_ids[:rows], packed.selectable[:rows], rng, model.tokenizer.mask_id,
            model.head.vocabulary_size, width,
            selection_rate=SELECTION_RATE, mask_rate=1.0, random_rate=0.0,
        )
        yield batch
        remaining -= int(batch.weights.sum())
        if remaining <= 0:
            return


def _prefetched(items):
    """`items` (an iterator), each one prepared in a thread while the previous is used.

    Tokenizing and packing the next chunk then overlaps the encoder's work
    on this one (the encoder does not keep both cores busy at its batch size).
    """
    items = iter(items)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(next, items, None)
        while (item := future.result()) is not None:
            future = pool.submit(next, items, None)
            yield item


class GatherPositions(keras.layers.Layer):
    """`(batch, seq, hidden)` states, `(batch, k)` positions -> `(batch, k, hidden)`."""

    def call(self, hidden, positions):
        return ops.take_along_axis(hidden, ops.expand_dims(positions, -1), axis=1)

    def compute_output_shape(self, hidden_shape, positions_shape):
        return tuple(positions_shape) + (hidden_shape[-1],)


class LastLayerAtPositions(keras.layers.Layer):
    """A keras-hub `TransformerEncoder` computed for a few query positions only.

    The same arithmetic as the layer's own `call` (inference mode), but the
    queries, the attention output and the feed-forward block are computed
    at `positions` only, while keys and values still cover every token: the
    last layer's output there equals the full layer's, at a fraction of the
    cost (the whole sequence is needed only as context).
    """

    def __init__(self, encoder_layer, **kwargs):
        super().__init__(**kwargs)
        self.encoder_layer = encoder_layer

    def call(self, hidden, padding_mask, positions):
        layer = self.encoder_layer
        index = ops.expand_dims(positions, -1)  # (b, k, 1)
        query = ops.take_along_axis(hidden, index, axis=1)  # (b, k, h)
        context = hidden  # (b, s, h)
        if layer.normalize_first:
            query = layer._self_attention_layer_norm(query)
            context = layer._self_attention_layer_norm(context)
        mask = ops.cast(ops.expand_dims(padding_mask, 1), "bool")  # (b, 1, s), as keras-hub's
        x = layer._self_attention_layer(query=query, value=context, key=context,
                                        attention_mask=mask)  # (b, k, h)
        x = x + ops.take_along_axis(hidden, index, axis=1)  # (b, k, h)
        if not layer.normalize_first:
            x = layer._self_attention_layer_norm(x)
        residual = x
        if layer.normalize_first:
            x = layer._feedforward_layer_norm(x)
        x = layer._feedforward_output_dense(layer._feedforward_intermediate_dense(x))
        x = x + residual  # (b, k, h)
        if not layer.normalize_first:
            x = layer._feedforward_layer_norm(x)
        return x

    def compute_output_shape(self, hidden_shape, padding_mask_shape, positions_shape):
        return tuple(positions_shape) + (hidden_shape[-1],)


_GATHERING = weakref.WeakKeyDictionary()  # backbone -> its `_gathering_encoder`


def _gathering_encoder(backbone):
    """`_build_gathering_encoder(backbone)`, built once per encoder: its compiled
    program serves every later caching of that encoder (each page's training
    caches its training and held-out states; building and compiling took ~2 s)."""
    encoder = _GATHERING.get(backbone)
    if encoder is None:
        encoder = _GATHERING[backbone] = _build_gathering_encoder(backbone)
    return encoder


def _build_gathering_encoder(backbone):
    """A compiled functional model: encoder inputs + `mask_positions` -> states there.

    When the encoder ends in a keras-hub `TransformerEncoder` whose output is
    the sequence output (BERT, RoBERTa, DistilBERT ...), its last layer runs
    at the positions only (`LastLayerAtPositions`); otherwise the whole
    encoder runs and its output is gathered.
    """
    positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name)
              for name in backbone.input}
    calls = encoder_calls(backbone)
    last = calls[-1] if calls else None
    kwargs = {} if last is None else last.arguments.kwargs
    if last is not None and last.output_tensors[0] is sequence_output(backbone) and (
        kwargs.get("padding_mask") is not None and kwargs.get("attention_mask") is None
    ):
        trunk = keras.Model(backbone.input, [last.input_tensors[0],
                                             last.arguments.kwargs["padding_mask"]])
        hidden, padding_mask = trunk(inputs)
        gathered = LastLayerAtPositions(last.operation)(hidden, padding_mask, positions)
    else:
        encoder = keras.Model(backbone.input, sequence_output(backbone))
        gathered = GatherPositions()(encoder(inputs), positions)
    model = keras.Model({**inputs, "mask_positions": positions}, gathered)
    model.compile(jit_compile=JIT)
    return model


def fresh_model(model, settings=HeadSettings()):
    """`model`'s encoder with a freshly initialised `MaskedLMHead`.

    The head has the base head's layer-norm epsilon, the settings' activation,
    and is tied to the encoder's token embedding or has its own output kernel
    (`settings.tied`); kernels start from a truncated normal of standard
    deviation 0.02 (BERT's initialiser, seeded by `settings.seed`), biases and
    LayerNorm beta at 0, gamma at 1, so `head_check` says "freshly
    initialised". `model` itself is never changed: with `train_embedding`
    the new model gets its own copy of the encoder.
    """
    check_settings(settings)
    backbone = _copy_encoder(model) if settings.train_embedding else model.backbone
    head = MaskedLMHead(
        vocabulary_size=model.head.vocabulary_size,
        token_embedding=backbone.token_embedding if settings.tied else None,
        intermediate_activation=settings.activation,
        layer_norm_epsilon=model.head.layer_norm_epsilon,
        kernel_initializer=keras.initializers.TruncatedNormal(
            stddev=INITIALISER_STDDEV, seed=settings.seed
        ),
        name="mlm_head",
    )
    head.build((None, None, model.metadata["hidden_dim"]))
    own = sum(math.prod(w.shape) for w in head.weights if "embeddings" not in w.path)
    metadata = {
        **model.metadata,
        "source": f"fresh head on {model.metadata['source']}",
        "tied": settings.tied,
        "parameters": backbone.count_params() + own,
        "weight_hash": None,
    }
    return MaskedLM(model.tokenizer, backbone, head, metadata, check_head(head))


def _copy_encoder(model):
    """A copy of `model`'s encoder with its own weights (via an `mlmviz.save` file)."""
    import tempfile

    from mlmviz.sources.load import load_keras_file
    from mlmviz.sources.saving import save

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "base.keras"
        save(model, path)
        return load_keras_file(path, model.metadata["source"]).backbone


@dataclass(frozen=True)
class Point:
    """One point of the learning curve.

    Attributes:
        step: training steps done.
        seconds: training time so far (the held-out evaluations and the
            step's compilation not counted).
        loss: mean training cross-entropy (nats) over the steps since the
            previous point; at step 0, that of the untrained head on the
            first batch.
        heldout_accuracy: top-1 accuracy on the held-out states.
    """

    step: int
    seconds: float
    loss: float
    heldout_accuracy: float


class _HeadOnStates(keras.Model):
    """The head applied to cached states: `(batch, hidden)` -> `(batch, vocab)` logits."""

    def __init__(self, head, **kwargs):
        super().__init__(**kwargs)
        self.head = head

    def call(self, hidden):
        hidden = ops.expand_dims(ops.cast(hidden, self.head.compute_dtype), 1)  # (b, 1, h)
        positions = ops.zeros((ops.shape(hidden)[0], 1), dtype="int32")  # (b, 1)
        logits = self.head(hidden, positions, return_stages=True)["logits"]  # (b, 1, V)
        return ops.cast(logits[:, 0, :], "float32")  # (b, V)


class _Predictions(keras.Model):
    """Top-1 token ids of the head on cached states: `(batch, hidden)` -> `(batch,)`."""

    def __init__(self, logits_model, **kwargs):
        super().__init__(**kwargs)
        self.logits_model = logits_model

    def call(self, hidden):
        return ops.cast(ops.argmax(self.logits_model(hidden), axis=-1), "int32")


class HeadTraining:
    """A fresh head learning from cached states, resumable and stoppable.

    Args:
        model: the base `MaskedLM`; its encoder is frozen (never changed).
        train: `CachedStates` to learn from.
        heldout: `CachedStates` for the held-out accuracy.
        settings: `HeadSettings`.

    Attributes:
        model: the `MaskedLM` being trained (`fresh_model(model, settings)`).
        curve: list of `Point`, the first at step 0 (before training); it
            grows while `run` runs (appending is atomic, so another thread
            may read it at any time).
        steps, seconds: training steps and training seconds so far (the
            step's compilation, done in the constructor, is not counted).
        compile_seconds: how long that compilation took.
        baseline_accuracy: held-out accuracy of always answering the most
            frequent training label (what a head that learned only its
            bias would reach).
    """

    def __init__(self, model, train, heldout, settings=HeadSettings()):
        if not len(train) or not len(heldout):
            raise ValueError("Training needs cached states for training and held-out accuracy.")
        self.settings = settings
        self.model = fresh_model(model, settings)
        self.train, self.heldout = train, heldout
        head = self.model.head
        if head.token_embedding is not None:
            head.token_embedding.trainable = settings.train_embedding
        self._logits = _HeadOnStates(head, name="head_on_states")
        self._logits.compile(
            optimizer=keras.optimizers.AdamW(settings.learning_rate, weight_decay=0.01),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=JIT,
        )
        self._predictions = _Predictions(self._logits, name="predictions")
        self._predictions.compile(jit_compile=JIT)
        self._rng = np.random.default_rng(settings.seed)
        self._order, self._next = self._rng.permutation(len(train)), 0
        self._lock = threading.Lock()  # one run at a time
        self.steps, self.seconds = 0, 0.0
        counts = np.bincount(train.labels, minlength=head.vocabulary_size)
        self.baseline_accuracy = float(np.mean(heldout.labels == np.argmax(counts)))
        hidden, labels = self._batch()
        self._next = 0  # the first batch is also the first training batch
        started = time.perf_counter()
        self._compile_step(hidden, labels)
        self.compile_seconds = time.perf_counter() - started
        first_loss = float(self._logits.test_on_batch(hidden, labels))
        self.curve = [Point(0, 0.0, first_loss, self.heldout_accuracy())]

    def _compile_step(self, hidden, labels):
        """Compile the training step ahead (seconds of XLA work), changing nothing.

        The step runs once with learning rate 0 (no update, no weight
        decay), then the optimizer's state (step count, moments) is zeroed.
        """
        optimizer = self._logits.optimizer
        optimizer.learning_rate = 0.0
        self._logits.train_on_batch(hidden, labels)
        for variable in optimizer.variables:
            variable.assign(ops.zeros_like(variable))
        optimizer.learning_rate = self.settings.learning_rate

    def _batch(self):
        """The next training batch: `(batch, hidden)` float32 states, `(batch,)` labels."""
        size = min(self.settings.batch_size, len(self.train))
        if self._next + size > len(self._order):
            self._order, self._next = self._rng.permutation(len(self.train)), 0
        rows = self._order[self._next:self._next + size]
        self._next += size
        return self.train.hidden[rows].astype("float32"), self.train.labels[rows]

    def heldout_accuracy(self):
        """Top-1 accuracy of the head as it is now on the held-out states."""
        hits = 0
        for start in range(0, len(self.heldout), EVAL_BATCH):
            hidden = self.heldout.hidden[start:start + EVAL_BATCH].astype("float32")
            predicted = np.asarray(self._predictions.predict_on_batch(hidden))  # (b,)
            hits += int((predicted == self.heldout.labels[start:start + EVAL_BATCH]).sum())
        return hits / len(self.heldout)

    def run(self, seconds=None, steps=None, stop=None, on_point=None, every=100):
        """Train until `seconds` more training seconds or `steps` more steps, or `stop`.

        Args:
            seconds: training time to add (evaluations not counted), or None.
            steps: steps to add, or None. With neither, it runs until `stop`.
            stop: a `threading.Event`, checked before every step (a step
                takes well under a second), or None.
            on_point: called with each new `Point`, or None.
            every: a `Point` every `every` steps, and one when the run ends
                (unless it ends on one).

        May be called again to continue; one call at a time (a second
        concurrent call waits for the first).
        """
        if seconds is None and steps is None and stop is None:
            raise ValueError("Give seconds, steps or a stop event: the run would never end.")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer. Received {every!r}")
        with self._lock:
            self._run(seconds, steps, stop, on_point, every)

    def _run(self, seconds, steps, stop, on_point, every):
        end_step = None if steps is None else self.steps + steps
        end_time = None if seconds is None else self.seconds + seconds
        losses = []
        while not (
            (stop is not None and stop.is_set())
            or (end_step is not None and self.steps >= end_step)
            or (end_time is not None and self.seconds >= end_time)
        ):
            started = time.perf_counter()
            loss = self._logits.train_on_batch(*self._batch())
            losses.append(float(loss))
            self.seconds += time.perf_counter() - started
            self.steps += 1
            if self.steps % every == 0:
                self._point(losses, on_point)
                losses = []
        if losses:
            self._point(losses, on_point)
        self.model.head_check = check_head(self.model.head)  # no longer fresh

    def _point(self, losses, on_point):
        point = Point(self.steps, self.seconds, float(np.mean(losses)), self.heldout_accuracy())
        self.curve.append(point)
        if on_point is not None:
            on_point(point)

    def current_model(self):
        """The base encoder with a copy of the head as trained so far.

        The copy's own weights are a snapshot, so it can be used from another
        thread while training continues (with `train_embedding`, the tied
        embedding is shared with the training and moves on).
        """
        head = self.model.head
        copy = rebuild_head(head, head.token_embedding, head.dtype_policy.name)
        metadata = {**self.model.metadata, "source": f"trained head on {self._base_source()}"}
        return MaskedLM(self.model.tokenizer, self.model.backbone, copy, metadata,
                        check_head(copy))

    def _base_source(self):
        return self.model.metadata["source"].removeprefix("fresh head on ")


def train_head(model, lines, settings, out, seconds=None, steps=None, positions=200_000,
               every=100, log=None):
    """Cache, train and save: what `python -m mlmviz train-head` does.

    Args:
        model: the base `MaskedLM`.
        lines: training corpus lines, or None for `default_corpus()`.
        settings: `HeadSettings`.
        out: folder to write `model.keras` (the encoder with the trained head,
            `mlmviz.sources.saving.save`) and `training.json` (this report) to.
        seconds, steps: the training budget (see `HeadTraining.run`).
        positions: training positions to cache.
        every: steps between points of the curve.
        log: called with a line of text at each stage and point, or None.

    Returns:
        the report dict: `base`, `settings`, `train_positions`,
        `heldout_positions`, `caching_seconds`, `steps`, `seconds`,
        `heldout_accuracy`, `loss` (of the last point), `baseline_accuracy`,
        `curve` (list of dicts of `Point`'s fields) and `out` (the model file).
    """
    from mlmviz.sources.saving import save

    log = log or (lambda text: None)
    started = time.perf_counter()
    train = cache_states(model, default_corpus() if lines is None else lines, positions,
                         settings.seed)
    heldout = cache_states(model, heldout_corpus())
    caching = time.perf_counter() - started
    log(f"cached {len(train):,} training and {len(heldout):,} held-out states in {caching:.1f} s")
    job = HeadTraining(model, train, heldout, settings)
    log(f"bias-only baseline accuracy {job.baseline_accuracy:.4f}")

    def show(point):
        log(f"step {point.step:>6,}  {point.seconds:7.1f} s  loss {point.loss:.4f}  "
            f"held-out accuracy {point.heldout_accuracy:.4f}")

    show(job.curve[0])
    job.run(seconds=seconds, steps=steps, on_point=show, every=every)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save(job.model, out / "model.keras")
    last = job.curve[-1]
    report = {
        "base": model.metadata["source"],
        "settings": asdict(settings),
        "train_positions": len(train),
        "heldout_positions": len(heldout),
        "caching_seconds": round(caching, 2),
        "steps": job.steps,
        "seconds": round(job.seconds, 2),
        "heldout_accuracy": last.heldout_accuracy,
        "loss": last.loss,
        "baseline_accuracy": job.baseline_accuracy,
        "curve": [asdict(point) for point in job.curve],
        "out": str(out / "model.keras"),
    }
    (out / "training.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {out / 'model.keras'}")
    return report
