"""BERT's masked-LM corruption: select tokens, then mask / randomise / keep.

The procedure of Devlin et al. (2019): select `selection_rate` (15 %) of the
non-special tokens of each sequence; replace a selected token by the mask
token with probability `mask_rate` (80 %), by a random token with
probability `random_rate` (10 %), and leave it unchanged otherwise (10 %).
The model is trained to predict the original token at every selected
position, and only there.

`corrupt` does this to training batches (`mlmviz.training.train`);
`mlmviz.analysis.masking_lab` does it to one sentence and scores the model.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Corruption:
    """A corrupted batch and its labels.

    Attributes:
        token_ids: `(batch, seq)` corrupted ids.
        positions: `(batch, max_predictions)` selected positions, sorted,
            padded with 0.
        labels: `(batch, max_predictions)` original ids at `positions`.
        weights: `(batch, max_predictions)` 1.0 for real selections, 0.0 for
            padding.
    """

    token_ids: np.ndarray
    positions: np.ndarray
    labels: np.ndarray
    weights: np.ndarray


def corrupt(
    token_ids,
    selectable,
    rng,
    mask_id,
    vocabulary_size,
    max_predictions,
    selection_rate=0.15,
    mask_rate=0.8,
    random_rate=0.1,
):
    """Apply MLM corruption to a batch.

    Args:
        token_ids: `(batch, seq)` int array.
        selectable: `(batch, seq)` bool array, False for special and padding
            tokens (they are never selected).
        rng: a `numpy.random.Generator`; the same seed gives the same result.
        mask_id: the mask token's id.
        vocabulary_size: random replacements are drawn from `[0, vocab)`.
        max_predictions: most selections per sequence (the output width).
        selection_rate, mask_rate, random_rate: see the module docstring.

    Returns:
        `Corruption`. Each sequence gets `round(selection_rate * n)`
        selections, where `n` is its number of selectable tokens (at least 1
        when the rate and `n` are positive, at most `max_predictions`).

    Raises:
        ValueError: if the rates are outside [0, 1] or mask + random > 1.
    """
    check_rates(selection_rate, mask_rate, random_rate)
    token_ids = np.array(token_ids, dtype="int32")
    batch = token_ids.shape[0]
    positions = np.zeros((batch, max_predictions), dtype="int32")
    labels = np.zeros((batch, max_predictions), dtype="int32")
    weights = np.zeros((batch, max_predictions), dtype="float32")
    for row in range(batch):
        candidates = np.flatnonzero(selectable[row])
        count = round(selection_rate * len(candidates))
        if selection_rate > 0 and len(candidates):
            count = max(1, count)
        count = min(max_predictions, count)
        chosen = np.sort(rng.permutation(candidates)[:count])
        count = len(chosen)
        positions[row, :count] = chosen
        labels[row, :count] = token_ids[row, chosen]
        weights[row, :count] = 1.0
        action = rng.random(count)
        masked = chosen[action < mask_rate]
        randomised = chosen[(action >= mask_rate) & (action < mask_rate + random_rate)]
        token_ids[row, masked] = mask_id
        token_ids[row, randomised] = rng.integers(0, vocabulary_size, len(randomised))
    return Corruption(token_ids, positions, labels, weights)


def check_rates(selection_rate, mask_rate, random_rate):
    """Raise `ValueError` unless each rate is in [0, 1] and mask + random <= 1."""
    for name, rate in (("selection_rate", selection_rate), ("mask_rate", mask_rate),
                       ("random_rate", random_rate)):
        if not 0 <= rate <= 1:
            raise ValueError(f"{name} must lie in [0, 1]. Received {rate}")
    if mask_rate + random_rate > 1:
        raise ValueError(
            f"mask_rate + random_rate must be <= 1. Received {mask_rate} + {random_rate}"
        )
