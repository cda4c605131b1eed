"""Masked-token evaluation of a model on a corpus: accuracy, loss, calibration.

Each line of the corpus is one sequence. A fixed fraction of its maskable
tokens (at least one) is replaced by the mask token -- all of them, no
80/10/10 as in training -- and the model predicts every mask from the rest.
The choice is a hash of `(seed, line number, position)`, so it does not
depend on the batching or on the lines around it. Lines longer
than the model's limit are cut to it and counted.

The corpus streams: lines are read a chunk at a time, sorted by length
within the chunk (little padding), and run in batches. The numbers go into
`Metrics`, fixed-size sums that merge exactly, so shards of a corpus can be
evaluated apart and joined.

Summary fields (all over the masked tokens):
- `top1_accuracy`, `top5_accuracy`; `loss`, the mean cross-entropy of the
  label in nats, and `perplexity` = exp(loss);
- `ece`, the expected calibration error of the top-1 probability over
  `BINS` equal-width bins, and `reliability`, those bins;
- `best_temperature`: of the grid `TEMPERATURES`, the softmax temperature
  with the lowest mean loss, and that loss;
- `by_frequency`: accuracy per band (`BANDS`) of the label's frequency rank
  among the tokens of the evaluated lines (rank 1 = most frequent; ties by
  token id).
`lines` counts the lines scored; `skipped_lines` the blank ones and those
with nothing to mask; `cut_lines` those cut to the model's length.
`lines`, `masked_tokens` and every metric but `by_frequency` can be
recomputed from the `--details` records (each carries its label's loss at
every grid temperature); `by_frequency` also needs the token counts of the
scored lines, and `skipped_lines` and `cut_lines` the corpus itself.

With `pll`, each scored line is also scored whole by its pseudo-log-likelihood
(`pseudo_likelihood`: every scorable token masked on its own, the line
unmasked otherwise, in windows of `WINDOW` tokens; lines with fewer than two
scorable tokens are left out): `pll_per_token`, the mean log-probability per
scored token in nats, `pseudo_perplexity` = exp(-pll_per_token), and
`pll_tokens`, `pll_lines`, what they cover. One model call per window: far
slower than the masked evaluation.

With a second model (`compare`), B scores the same `Example`s (same lines,
cuts and masks) in the same pass, batch by batch, and the result is A's
summary as above plus `compare`: B's summary (same fields, `model` its
source) and `paired`, the paired figures of `paired.Paired.summary`
(accuracy difference B - A with a bootstrap interval over lines, the lines
where B gains or loses most). The per-line counts behind the bootstrap are
the one thing held for every line (O(lines) small integers, see `paired`);
everything else still streams. The two tokenizers must agree: the same
vocabulary, mask and special tokens, and the same tokens for every line.
"""

import itertools
import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from mlmviz.analysis.paired import Paired, check_same_line, check_same_tokenizer
from mlmviz.analysis.pseudo_likelihood import (
    WINDOW,
    combine,
    pseudo_log_likelihood,
    scorable_positions,
    window_parts,
)
from mlmviz.compiled import PAD_TO_BUCKETS, bucket, compile_scores

BINS = 10
TEMPERATURES = tuple(2.0 ** (k / 4) for k in range(-8, 9))  # 0.25 ... 4, 1.0 at index 8
UNIT = TEMPERATURES.index(1.0)
BANDS = ((1, 100), (101, 1000), (1001, 10000), (10001, None))  # frequency ranks, inclusive
CHUNK_BATCHES = 8  # batches read ahead and sorted by length


@dataclass(frozen=True)
class Example:
    """One corpus line, tokenized and masked.

    Attributes:
        line: its 0-based line number in the corpus.
        ids: the original token ids, special tokens included (cut to the limit).
        positions: the sorted masked positions.
        words: the ids of its maskable tokens (what the frequency counts count).
        cut: whether the line was cut to the model's length.
        text: the line as read, without its line break.
    """

    line: int
    ids: tuple
    positions: tuple
    words: tuple
    cut: bool
    text: str = ""


def check_rate(rate):
    """`rate` as a float; `ValueError` unless 0 < rate <= 1."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
        raise ValueError(f"The mask rate must be a number above 0 and at most 1. Received {rate!r}")
    return float(rate)


def choose_masks(maskable, rate, seed, line):
    """`max(1, round(rate * n))` of the `n` maskable positions, drawn for this line.

    Each position gets a pseudo-random key hashed from `(seed, line,
    position)` (SplitMix64, plain integer arithmetic: the same masks on
    every platform and version); the positions with the smallest keys are
    masked.

    Returns:
        sorted tuple of positions (empty when nothing is maskable).
    """
    if not maskable:
        return ()
    count = max(1, round(rate * len(maskable)))
    line_key = _mix(_mix(seed & _BITS) ^ line)
    chosen = sorted(maskable, key=lambda position: _mix(line_key ^ position))[:count]
    return tuple(sorted(chosen))


_BITS = 2**64 - 1


def _mix(value):
    """SplitMix64's finaliser: a well-spread 64-bit hash of a 64-bit integer."""
    value = (value + 0x9E3779B97F4A7C15) & _BITS
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _BITS
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _BITS
    return value ^ (value >> 31)


def examples(model, lines, rate, seed, max_lines=None, first_line=0):
    """The corpus lines as `Example`s, lazily; blank lines and lines with nothing
    to mask yield None (so they can be counted) instead of an `Example`.

    Args:
        lines: an iterable of strings (an open file streams).
        max_lines: read at most this many lines of `lines` (None: all).
        first_line: the corpus line number of the first of `lines` (a shard
            of a corpus gets the masks the whole corpus gives its lines).
    """
    for number, text in enumerate(itertools.islice(lines, max_lines), start=first_line):
        if not text.strip():
            yield None
            continue
        text = text.rstrip("\r\n")
        encoding = model.tokenizer.encode(text)
        maskable = model.maskable_positions(encoding)
        positions = choose_masks(maskable, rate, seed, number)
        words = tuple(encoding.ids[p] for p in maskable)
        yield (Example(number, encoding.ids, positions, words, encoding.truncated, text)
               if positions else None)


class Metrics:
    """Merge-able sums behind the evaluation summary, fixed in size.

    Args:
        vocabulary_size: the model's vocabulary size (the frequency counts).
    """

    def __init__(self, vocabulary_size):
        self.lines = 0
        self.cut_lines = 0
        self.skipped_lines = 0
        self.masked_tokens = 0
        self.top1 = 0
        self.top5 = 0
        self.bin_count = np.zeros(BINS, "int64")
        self.bin_confidence = np.zeros(BINS)  # sums of the top-1 probability
        self.bin_correct = np.zeros(BINS, "int64")
        self.temperature_loss = np.zeros(len(TEMPERATURES))  # sums of the label's loss at each T
        self.token_count = np.zeros(vocabulary_size, "int64")  # tokens of the evaluated lines
        self.label_count = np.zeros(vocabulary_size, "int64")
        self.label_correct = np.zeros(vocabulary_size, "int64")
        self.pll_lines = 0  # lines with a pseudo-log-likelihood (--pll)
        self.pll_tokens = 0
        self.pll_sum = 0.0  # nats

    def add_lines(self, examples_):
        """Count evaluated lines (`Example`s) and their maskable tokens."""
        self.lines += len(examples_)
        self.cut_lines += sum(e.cut for e in examples_)
        words = np.fromiter((w for e in examples_ for w in e.words), "int64")  # (tokens,)
        self.token_count += np.bincount(words, minlength=len(self.token_count))

    def add_scores(self, scores):
        """Add one batch of `Scores`."""
        correct = scores.predicted_ids == scores.label_ids  # (n,)
        bins = confidence_bins(scores.predicted_probabilities)  # (n,)
        self.masked_tokens += len(correct)
        self.top1 += int(correct.sum())
        self.top5 += int(scores.in_top5.sum())
        self.bin_count += np.bincount(bins, minlength=BINS)
        self.bin_confidence += np.bincount(bins, scores.predicted_probabilities, minlength=BINS)
        self.bin_correct += np.bincount(bins, correct, minlength=BINS).astype("int64")
        self.temperature_loss += scores.temperature_losses.sum(axis=0)
        np.add.at(self.label_count, scores.label_ids, 1)
        np.add.at(self.label_correct, scores.label_ids, correct.astype("int64"))

    def add_pseudo_likelihoods(self, results):
        """Add `PseudoLikelihood`s of lines (None for a line with too few tokens)."""
        for result in results:
            if result is not None:
                self.pll_lines += 1
                self.pll_tokens += len(result.positions)
                self.pll_sum += float(result.log_probabilities.astype("float64").sum())

    def merge(self, other):
        """Add `other`'s sums to these (as if its lines had been added here)."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def summary(self, pll=False):
        """The summary dict (see the module docstring); metrics are None with no masks.

        With `pll`, also the pseudo-log-likelihood fields.
        """
        n = self.masked_tokens
        losses = self.temperature_loss / max(n, 1)  # (T,)
        best = int(np.argmin(losses))
        loss = float(losses[UNIT]) if n else None
        summary = {
            "lines": self.lines,
            "skipped_lines": self.skipped_lines,
            "masked_tokens": n,
            "cut_lines": self.cut_lines,
            "top1_accuracy": self.top1 / n if n else None,
            "top5_accuracy": self.top5 / n if n else None,
            "loss": loss,
            "perplexity": math.exp(loss) if n else None,
            "ece": self._ece() if n else None,
            "reliability": self._reliability(),
            "best_temperature": (
                {"temperature": TEMPERATURES[best], "loss": float(losses[best])} if n else None
            ),
            "by_frequency": self._by_frequency(),
        }
        if pll:
            per_token = self.pll_sum / self.pll_tokens if self.pll_tokens else None
            summary.update({
                "pll_per_token": per_token,
                "pseudo_perplexity": math.exp(-per_token) if self.pll_tokens else None,
                "pll_tokens": self.pll_tokens,
                "pll_lines": self.pll_lines,
            })
        return summary

    def _ece(self):
        gaps = np.abs(self.bin_correct - self.bin_confidence)  # (bins,) count * |acc - conf|
        return float(gaps.sum() / self.masked_tokens)

    def _reliability(self):
        return [
            {
                "low": b / BINS,
                "high": (b + 1) / BINS,
                "count": int(count),
                "confidence": float(self.bin_confidence[b] / count) if count else None,
                "accuracy": float(self.bin_correct[b] / count) if count else None,
            }
            for b, count in enumerate(self.bin_count)
        ]

    def _by_frequency(self):
        ranks = frequency_ranks(self.token_count)  # (vocab,)
        bands = []
        for low, high in BANDS:
            inside = (ranks >= low) & (ranks <= (high or len(ranks)))
            count = int(self.label_count[inside].sum())
            correct = int(self.label_correct[inside].sum())
            bands.append({"low_rank": low, "high_rank": high, "count": count,
                          "accuracy": correct / count if count else None})
        return bands


def confidence_bins(probabilities):
    """The reliability bin of each top-1 probability: [0, 0.1), ... [0.9, 1.0]."""
    return np.minimum((np.asarray(probabilities) * BINS).astype("int64"), BINS - 1)


def frequency_ranks(counts):
    """`(vocab,)` 1-based rank of each token by count, most frequent first, ties by id."""
    order = np.argsort(-np.asarray(counts), kind="stable")  # (vocab,)
    ranks = np.empty(len(order), "int64")
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


@dataclass(frozen=True)
class Scores:
    """Per-mask numbers of one batch, each `(n,)` unless noted."""

    label_ids: np.ndarray
    predicted_ids: np.ndarray
    label_probabilities: np.ndarray
    predicted_probabilities: np.ndarray
    in_top5: np.ndarray
    temperature_losses: np.ndarray  # (n, T) the label's cross-entropy at each temperature


def scores_of(readout, valid):
    """`Scores` of the valid slots `(b, masks)` of a `compile_scores` read-out.

    The rank of the label is 1 + the number of tokens with a strictly
    higher logit (top-5: fewer than five higher); top-1 is the arg-max.
    """
    losses = readout["temperature_losses"][valid].astype("float64")  # (n, T)
    return Scores(
        label_ids=readout["labels"][valid].astype("int64"),
        predicted_ids=readout["predicted_ids"][valid].astype("int64"),
        label_probabilities=np.exp(-losses[:, UNIT]),
        predicted_probabilities=np.exp(-readout["log_norm"][valid].astype("float64")),
        in_top5=readout["higher"][valid] < 5,
        temperature_losses=losses,
    )


def batches(examples_, batch_size):
    """Group `examples_` (None entries skipped) into lists of similar lengths.

    Reads `CHUNK_BATCHES * batch_size` examples ahead, sorts them by length
    and cuts them into batches, so memory holds one chunk at a time.
    Yields `(batch, skipped)`: the skipped count of None entries since the last batch.
    """
    iterator = iter(examples_)
    while True:
        chunk = list(itertools.islice(iterator, CHUNK_BATCHES * batch_size))
        if not chunk:
            return
        kept = sorted((e for e in chunk if e is not None), key=lambda e: len(e.ids))
        skipped = len(chunk) - len(kept)
        if not kept:
            yield [], skipped
        for start in range(0, len(kept), batch_size):
            yield kept[start:start + batch_size], skipped if start == 0 else 0


def pad(batch, mask_id, limit=None):
    """Padded arrays of a batch: ids with masks written in, padding mask, positions,
    labels, valid.

    Returns:
        `ids (b, seq)`, `padding (b, seq)`, `positions (b, masks)` (padding
        slots read position 0), `labels (b, masks)` (the original ids there)
        and `valid (b, masks)` bool.
    """
    seq = max(len(e.ids) for e in batch)
    width = max(len(e.positions) for e in batch)
    if PAD_TO_BUCKETS:  # one compiled program per bucket, not per shape
        seq, width = bucket(seq, 16, limit), bucket(width)
    ids = np.zeros((len(batch), seq), "int32")  # (b, seq)
    padding = np.zeros((len(batch), seq), "int32")  # (b, seq)
    positions = np.zeros((len(batch), width), "int32")  # (b, masks)
    labels = np.zeros((len(batch), width), "int32")  # (b, masks)
    valid = np.zeros((len(batch), width), bool)  # (b, masks)
    for row, example in enumerate(batch):
        ids[row, :len(example.ids)] = example.ids
        ids[row, list(example.positions)] = mask_id
        padding[row, :len(example.ids)] = 1
        positions[row, :len(example.positions)] = example.positions
        labels[row, :len(example.positions)] = [example.ids[p] for p in example.positions]
        valid[row, :len(example.positions)] = True
    return ids, padding, positions, labels, valid


def details(model, batch, scores, label=None):
    """One record per masked token of `batch`, in the order of `scores`; with a
    `label` ("A" or "B" when comparing), each record's `model` field holds it."""
    masks = [(e, p) for e in batch for p in e.positions]
    vocabulary = model.vocabulary
    tag = {} if label is None else {"model": label}
    return [
        {
            **tag,
            "line": example.line,
            "positions": list(example.positions),
            "position": position,
            "label_id": int(scores.label_ids[i]),
            "label": vocabulary[scores.label_ids[i]],
            "predicted_id": int(scores.predicted_ids[i]),
            "predicted": vocabulary[scores.predicted_ids[i]],
            "label_probability": float(scores.label_probabilities[i]),
            "predicted_probability": float(scores.predicted_probabilities[i]),
            "loss": float(scores.temperature_losses[i, UNIT]),
            "temperature_losses": scores.temperature_losses[i].tolist(),
        }
        for i, (example, position) in enumerate(masks)
    ]


_SCORERS = weakref.WeakKeyDictionary()  # MaskedLM -> its compiled scorer
_SCORERS_LOCK = threading.Lock()


def scorer(model):
    """`model`'s `compile_scores` at `TEMPERATURES`, built once per model.

    A fresh build traces a new graph (seconds); every evaluation of the
    same model reuses this one.
    """
    with _SCORERS_LOCK:
        if model not in _SCORERS:
            _SCORERS[model] = compile_scores(model.backbone, model.head, TEMPERATURES)
        return _SCORERS[model]


def line_pseudo_likelihood(model, text):
    """The `PseudoLikelihood` of one line, scored in windows of `WINDOW` tokens;
    None when it has fewer than two tokens to score."""
    encoding = model.tokenizer.encode(text)
    scorable = scorable_positions(model, encoding)  # (n,)
    if len(scorable) < 2:
        return None
    windows = window_parts(scorable, len(encoding.ids), WINDOW).values()
    parts = [part for part in windows if part]
    return combine([pseudo_log_likelihood(model, text, part) for part in parts])


def evaluate(model, lines, rate=0.15, seed=0, max_lines=None, batch_size=64,
             on_details=None, on_progress=None, pll=False, compare=None):
    """Evaluate `model` on the masked lines of a corpus, optionally beside a second model.

    Args:
        model: a `MaskedLM` (model A).
        lines: an iterable of strings, one sequence each (an open file streams).
        rate: the fraction of each line's maskable tokens to mask (0 < rate <= 1).
        seed: the masking seed.
        max_lines: read at most this many lines (None: all).
        batch_size: sequences per model call.
        on_details: called with each batch's `details` records (with
            `compare`: A's records, then B's, each with a `model` field "A"/"B").
        on_progress: called with the number of corpus lines done after each batch.
        pll: also score every scored line's pseudo-log-likelihood (module docstring).
        compare: a second `MaskedLM` (model B), run on the same masked
            inputs, batch by batch in the same pass.

    Returns:
        the summary dict (module docstring) with `model` (the source) and
        `interrupted` (True when Ctrl-C stopped it: the numbers then cover
        the batches finished before); with `compare`, a `compare` dict holding
        B's summary (its `model` too) and `paired` (`paired.Paired.summary`).

    Raises:
        ValueError: for a bad rate, max_lines or batch_size, or two models
            whose tokenizers differ (their vocabulary, mask or special
            tokens up front; a line they split differently when it comes).
    """
    models = [model] if compare is None else [model, compare]
    if compare is not None:
        check_same_tokenizer(model, compare)
    totals, paired, interrupted = _run(models, lines, rate, seed, max_lines, batch_size,
                                       on_details, on_progress, 0, pll)
    summary = {"model": model.metadata["source"], **totals[0].summary(pll),
               "interrupted": interrupted}
    if compare is not None:
        summary["compare"] = {"model": compare.metadata["source"], **totals[1].summary(pll),
                              "paired": paired.summary()}
    return summary


def evaluate_metrics(model, lines, rate=0.15, seed=0, max_lines=None, batch_size=64,
                     on_details=None, on_progress=None, first_line=0, pll=False):
    """`evaluate`'s sums: `(Metrics, interrupted)`, for shards that merge later.

    `first_line` is the corpus line number of the first of `lines` (see
    `examples`); the other arguments are `evaluate`'s.
    """
    totals, _, interrupted = _run([model], lines, rate, seed, max_lines, batch_size,
                                  on_details, on_progress, first_line, pll)
    return totals[0], interrupted


def _run(models, lines, rate, seed, max_lines, batch_size, on_details, on_progress,
         first_line, pll):
    """Score every batch with each of `models` (one or two, same tokenizer).

    Returns:
        `(Metrics per model, Paired or None, interrupted)`; a batch counts
        once every model has scored it.
    """
    rate = check_rate(rate)
    for name, value in (("batch_size", batch_size), ("max_lines", max_lines)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive integer. Received {value!r}")
    scorers = [scorer(m) for m in models]
    totals = [Metrics(m.head.vocabulary_size) for m in models]
    paired = Paired() if len(models) == 2 else None
    corpus = examples(models[0], lines, rate, seed, max_lines, first_line)
    try:
        for batch, skipped in batches(corpus, batch_size):
            parts, hits = _batch(models, scorers, batch, skipped, pll, on_details)
            for total, part in zip(totals, parts):
                total.merge(part)
            if paired and batch:
                paired.add(batch, *hits, models[0].vocabulary)
            if on_progress is not None:
                on_progress(len(batch) + skipped)
    except KeyboardInterrupt:
        return totals, paired, True
    return totals, paired, False


def _batch(models, scorers, batch, skipped, pll, on_details):
    """One batch scored by each model: `(Metrics per model, hits per model)`,
    the hits `(n,)` bool, True where the top-1 prediction is the label."""
    parts = [Metrics(m.head.vocabulary_size) for m in models]
    for part in parts:
        part.skipped_lines = skipped
    if not batch:
        return parts, []
    if len(models) == 2:
        for example in batch:
            check_same_line(models[1], example, models[0].vocabulary)
    arrays = pad(batch, models[0].tokenizer.mask_id, models[0].metadata.get("max_length"))
    labels = ("A", "B") if len(models) == 2 else (None,)
    hits = []
    for model, score_batch, part, label in zip(models, scorers, parts, labels):
        scores = _score(score_batch, arrays)
        part.add_lines(batch)
        part.add_scores(scores)
        if pll:
            part.add_pseudo_likelihoods(line_pseudo_likelihood(model, e.text) for e in batch)
        if on_details is not None:
            on_details(details(model, batch, scores, label))
        hits.append(scores.predicted_ids == scores.label_ids)
    return parts, hits


def _score(score_batch, arrays):
    """`Scores` of one padded batch (`pad`'s arrays) from a `scorer` function."""
    ids, padding, positions, labels, valid = arrays
    readout = score_batch(ids, padding, positions, labels)
    return scores_of({**readout, "labels": labels}, valid)
