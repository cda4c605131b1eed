"""Two models evaluated on the same masked lines: the paired figures.

Model A (the one evaluated) and model B (the one compared) predict the same
masks of the same lines, so their top-1 accuracies can be compared line by
line. `Paired` keeps, for every scored line, its number, its count of masks
and how many of them each model got right: four small integers a line
(about 20 bytes, so a million lines hold 20 MB), the one part of an
evaluation that grows with the corpus; the bootstrap needs them all.

Paired summary (`Paired.summary`):
- `lines`, `masked_tokens`: what the figures cover;
- `accuracy_difference`: B's top-1 accuracy minus A's, over the masked tokens;
- `interval`: `[low, high]`, its bootstrap 95 % interval. The masks of one
  line are correlated, so the bootstrap resamples *lines*: `RESAMPLES` times,
  draw as many line indices as there are lines, uniformly with replacement,
  from `numpy.random.default_rng(BOOTSTRAP_SEED)` (one `integers(0, lines,
  lines)` call per resample, lines in corpus order), and take the resample's
  difference (sum of B's correct minus A's over the sum of masks); the
  interval is the 2.5th and 97.5th percentiles of those differences
  (`numpy.quantile`, linear interpolation). `bootstrap` states that scheme.
- `gains`, `losses`: the `TOP_LINES` lines where B gets most more (fewer)
  masks right than A, each `line` (0-based), `masked_tokens`, `positions`,
  `labels` (the masked tokens), `correct_a`, `correct_b` and `difference`
  (`correct_b - correct_a`); largest difference first, ties by line number.
"""

import heapq
from array import array

import numpy as np

from mlmviz.analysis.compare import _check_same_tokens

RESAMPLES = 1000
BOOTSTRAP_SEED = 0
LEVEL = 0.95
TOP_LINES = 10


def check_same_tokenizer(model_a, model_b):
    """`ValueError` unless both models have the same vocabulary, mask and special tokens.

    Texts are checked apart (`check_same_line`): two tokenizers with the same
    tokens may still split a text differently.
    """
    tokenizer_a, tokenizer_b = model_a.tokenizer, model_b.tokenizer
    advice = "Compare models that share a tokenizer."
    if model_a.vocabulary != model_b.vocabulary:
        first = next((i for i, (a, b) in enumerate(zip(model_a.vocabulary, model_b.vocabulary))
                      if a != b), min(len(model_a.vocabulary), len(model_b.vocabulary)))
        raise ValueError(
            f"The two models have different vocabularies (A has {len(model_a.vocabulary)} "
            f"tokens, B {len(model_b.vocabulary)}; first difference at id {first}), so the "
            f"same masks cannot be scored by both. {advice}"
        )
    for what, a, b in (
        ("mask tokens", (tokenizer_a.mask_token, tokenizer_a.mask_id),
         (tokenizer_b.mask_token, tokenizer_b.mask_id)),
        ("special tokens", tokenizer_a.special_tokens, tokenizer_b.special_tokens),
    ):
        if a != b:
            raise ValueError(f"The two models have different {what} (A: {a}, B: {b}). {advice}")


def check_same_line(model_b, example, vocabulary):
    """`ValueError` unless `model_b` tokenizes `example`'s text into `example.ids`."""
    ids = model_b.tokenizer.encode(example.text).ids
    if tuple(ids) != tuple(example.ids):
        try:
            _check_same_tokens([vocabulary[i] for i in example.ids], [vocabulary[i] for i in ids])
        except ValueError as error:
            raise ValueError(f"Corpus line {example.line + 1}: {error}") from None


class Paired:
    """Per-line correct counts of models A and B, and the lines that differ most.

    Args:
        top: how many lines to keep where B gains most, and where it loses most.
    """

    def __init__(self, top=TOP_LINES):
        self.top = top
        self.line_numbers = array("q")
        self.masks = array("i")
        self.correct_a = array("i")
        self.correct_b = array("i")
        self._gains = []  # min-heaps of (difference, -line, record): the `top` largest kept
        self._losses = []  # (-difference, -line, record)

    def add(self, batch, correct_a, correct_b, vocabulary):
        """Add one batch of `Example`s and both models' hits `(n,)` bool, masks in batch order."""
        starts = np.cumsum([0] + [len(e.positions) for e in batch[:-1]])  # (lines,)
        per_line = [np.add.reduceat(np.asarray(c, "int64"), starts) for c in (correct_a, correct_b)]
        for example, a, b in zip(batch, *per_line):
            self.line_numbers.append(example.line)
            self.masks.append(len(example.positions))
            self.correct_a.append(int(a))
            self.correct_b.append(int(b))
            if a != b:
                self._keep(example, int(a), int(b), vocabulary)

    def _keep(self, example, a, b, vocabulary):
        record = {
            "line": example.line,
            "masked_tokens": len(example.positions),
            "positions": list(example.positions),
            "labels": [vocabulary[example.ids[p]] for p in example.positions],
            "correct_a": a,
            "correct_b": b,
            "difference": b - a,
        }
        heap, key = (self._gains, b - a) if b > a else (self._losses, a - b)
        item = (key, -example.line, record)
        if len(heap) < self.top:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)

    def summary(self):
        """The paired summary dict (see the module docstring); figures None without lines."""
        order = np.argsort(np.asarray(self.line_numbers), kind="stable")  # corpus order
        masks, a, b = (np.asarray(x, "int64")[order] for x in (self.masks, self.correct_a,
                                                              self.correct_b))
        total = int(masks.sum())
        difference = float((b.sum() - a.sum()) / total) if total else None
        interval = bootstrap_interval(masks, a, b) if total else None
        return {
            "lines": len(order),
            "masked_tokens": total,
            "accuracy_difference": difference,
            "interval": interval,
            "bootstrap": {"resamples": RESAMPLES, "seed": BOOTSTRAP_SEED, "level": LEVEL,
                          "unit": "line"},
            "gains": _ranked(self._gains),
            "losses": _ranked(self._losses),
        }


def _ranked(heap):
    """A heap's records, largest key first, ties by line number."""
    return [record for *_, record in sorted(heap, key=lambda item: item[:2], reverse=True)]


def bootstrap_interval(masks, correct_a, correct_b, resamples=RESAMPLES, seed=BOOTSTRAP_SEED,
                       level=LEVEL):
    """The bootstrap interval of B's accuracy minus A's, resampling lines.

    Args:
        masks, correct_a, correct_b: `(lines,)` per-line counts, in corpus order.

    Returns:
        `[low, high]` floats (the module docstring says how).
    """
    gains = np.asarray(correct_b, "int64") - np.asarray(correct_a, "int64")  # (lines,)
    masks = np.asarray(masks, "int64")  # (lines,)
    rng = np.random.default_rng(seed)
    differences = np.empty(resamples)  # (resamples,)
    for r in range(resamples):
        chosen = rng.integers(0, len(masks), len(masks))  # (lines,) line indices
        differences[r] = gains[chosen].sum() / masks[chosen].sum()
    low, high = np.quantile(differences, [(1 - level) / 2, (1 + level) / 2])
    return [float(low), float(high)]
