"""Pseudo-log-likelihood: how natural a masked LM finds a whole sentence.

A masked LM gives no left-to-right probability of a text. Salazar et al.
(2020, "Masked Language Model Scoring") mask each token in turn and add up
the log-probability of the original token given all the others:
PLL = sum_i log p(w_i | w without w_i). Pseudo-perplexity is
exp(-PLL / n) over the n scored tokens; lower means more expected.

Scoring a text of n tokens runs the encoder n times on the whole text, so a
long text is scored in parts (`positions`, a window of `WINDOW` tokens each:
`window_parts`), which `combine` joins.
"""

from dataclasses import dataclass

import numpy as np

from mlmviz.distributions import cross_entropy

WINDOW = 24  # tokens per window of a long text, shown and scored together


@dataclass(frozen=True)
class PseudoLikelihood:
    """Per-token log-probabilities of one text, each token masked on its own.

    Attributes:
        positions: `(n,)` the scored positions (not special, not typed masks).
        tokens: the n scored token strings.
        log_probabilities: `(n,)` log p(token | the rest) in nats, float32.
        typed_masks: how many typed mask tokens were left out of the score
            (they stay masked in every row).
        scorable: how many tokens of the text could be scored (n when the
            whole text was).
    """

    positions: np.ndarray
    tokens: tuple
    log_probabilities: np.ndarray
    typed_masks: int
    scorable: int

    @property
    def surprise(self):
        """`(n,)` −log p per token, in nats."""
        return -self.log_probabilities

    @property
    def total(self):
        """The pseudo-log-likelihood, the sum of `log_probabilities`."""
        return float(self.log_probabilities.sum())

    @property
    def pseudo_perplexity(self):
        """exp(−PLL / n)."""
        return float(np.exp(-self.total / len(self.positions)))


def masked_rows(token_ids, positions, mask_id):
    """One copy of `token_ids` per position, with that position masked.

    Returns:
        int32 `(n, seq)`: row i is `token_ids` with `positions[i]` masked.
    """
    rows = np.repeat(np.asarray(token_ids, dtype="int32")[None], len(positions), axis=0)  # (n, seq)
    rows[np.arange(len(positions)), positions] = mask_id
    return rows


def scorable_positions(model, encoding):
    """`(n,)` int64: the positions of `encoding` a PLL scores (not special, not masks)."""
    return np.array(model.maskable_positions(encoding), dtype="int64")


def windows(length, size=WINDOW):
    """The `(start, stop)` windows of `size` tokens covering `length` tokens."""
    return [(start, min(start + size, length)) for start in range(0, length, size)]


def window_parts(scorable, length, size=WINDOW):
    """Each window of `windows(length, size)` -> its scorable positions, a tuple of ints
    (empty for a window of special tokens only)."""
    return {(start, stop): tuple(int(p) for p in scorable if start <= p < stop)
            for start, stop in windows(length, size)}


def pseudo_log_likelihood(model, text, positions=None):
    """Score the tokens of `text` with `model`, masking one at a time.

    Args:
        positions: the positions to score, a subset of `scorable_positions`
            (a part of a long text); None scores them all. Each is predicted
            from the whole text either way.

    Raises:
        ValueError: when the text has fewer than two tokens to score, or
            `positions` holds one that cannot be scored.
    """
    encoding = model.tokenizer.encode(text)
    scorable = scorable_positions(model, encoding)  # (n,)
    if len(scorable) < 2:
        raise ValueError("The text needs at least two tokens (besides mask tokens): "
                         "each one is predicted from the others.")
    if positions is None:
        positions = scorable
    positions = np.array(positions, dtype="int64").reshape(-1)  # (k,)
    if not np.isin(positions, scorable).all():
        raise ValueError(f"Only positions {scorable.tolist()} can be scored.")
    ids = np.array(encoding.ids, dtype="int32")  # (seq,)
    rows = masked_rows(ids, positions, model.tokenizer.mask_id)  # (k, seq)
    logits = model.batch_logits(rows, positions[:, None])[:, 0]  # (k, vocab)
    log_probabilities = -cross_entropy(logits, ids[positions])  # (k,)
    typed = int(np.sum(ids == model.tokenizer.mask_id))
    tokens = tuple(encoding.tokens[i] for i in positions)
    return PseudoLikelihood(positions, tokens, log_probabilities, typed, len(scorable))


def combine(parts):
    """One `PseudoLikelihood` from parts of the same text, in the parts' order."""
    return PseudoLikelihood(
        np.concatenate([p.positions for p in parts]),
        tuple(token for p in parts for token in p.tokens),
        np.concatenate([p.log_probabilities for p in parts]),
        parts[0].typed_masks, parts[0].scorable,
    )
