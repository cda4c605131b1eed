"""The vectors the head reads, collected across masks and sentences.

For every mask of every sentence: the gathered hidden state (what the
encoder produced there), the normalised vector after the head's transform
(what is projected onto the vocabulary), and the head's top prediction.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gathered:
    """Vectors of many masks, one row each.

    Attributes:
        sentence: index of the sentence each row comes from.
        position: token position of the mask.
        token: the token at the position before masking (the mask token
            where it was typed).
        text: the sentence the row comes from, as typed.
        start: where the masked token starts in `text` (a character offset).
        predicted: the head's most probable token.
        gathered: `(rows, hidden_dim)` hidden states at the masks.
        normed: `(rows, feature_dim)` after dense, activation and LayerNorm.
        skipped: `(line number, message)` of sentences that gave no rows.
    """

    sentence: tuple
    position: tuple
    token: tuple
    text: tuple
    start: tuple
    predicted: tuple
    gathered: np.ndarray
    normed: np.ndarray
    skipped: tuple


def collect(model, texts, positions=None):
    """Run every text through the model and keep the vectors at its masks.

    Args:
        model: a `MaskedLM`.
        texts: sentences; each needs a typed mask token, or positions.
        positions: optional per-text extra mask positions.

    Returns:
        `Gathered`. A text the model cannot mask (empty, no mask, bad
        position) is skipped with its message, not raised.
    """
    positions = positions or [()] * len(texts)
    rows, gathered, normed, skipped = [], [], [], []
    for number, (text, extra) in enumerate(zip(texts, positions)):
        try:
            masked = model.mask(text, extra)
        except ValueError as error:
            skipped.append((number + 1, str(error)))
            continue
        stages = model.stages(masked)
        best = stages["logits"][0].argmax(axis=-1)  # (masks,)
        for n, position in enumerate(masked.positions):
            rows.append((number, position, masked.encoding.tokens[position], text,
                         masked.encoding.offsets[position][0], model.vocabulary[best[n]]))
        gathered.append(stages["gathered"][0])  # (masks, hidden)
        normed.append(stages["normed"][0])  # (masks, feature)
    columns = list(zip(*rows)) or [()] * 6
    return Gathered(
        *(tuple(c) for c in columns),
        gathered=np.concatenate(gathered) if gathered else np.zeros((0, 0), "float32"),
        normed=np.concatenate(normed) if normed else np.zeros((0, 0), "float32"),
        skipped=tuple(skipped),
    )


LEAD_WORDS = 3  # words of the sentence a label starts with
LEAD_CHARACTERS = 24
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def labels(result):
    """A short, unique label per row: its sentence's start, the token and its position.

    The label is the words before the mask (at most three, then "…") and the
    masked token with its token position as a subscript, as the token pills
    write it: "the old man … [MASK]₅", "the [MASK]₂". Rows whose labels
    would be equal (two lines that start alike) get their line number:
    "the [MASK]₂ (line 3)".
    """
    short = [_lead(text[:start]) + token + str(position).translate(SUBSCRIPTS)
             for text, start, token, position
             in zip(result.text, result.start, result.token, result.position)]
    repeated = {label for label in short if short.count(label) > 1}
    return [f"{label} (line {sentence + 1})" if label in repeated else label
            for label, sentence in zip(short, result.sentence)]


def _lead(before):
    """The first words of `before` (the text up to a mask), shortened, with a trailing space."""
    words = before.split()
    lead = " ".join(words[:LEAD_WORDS])
    if len(lead) > LEAD_CHARACTERS:
        lead = lead[:LEAD_CHARACTERS - 1].rstrip()
    elif len(words) <= LEAD_WORDS:
        return f"{lead} " if lead else ""
    return f"{lead} … "
