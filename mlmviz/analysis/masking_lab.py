"""The masking lab: one sentence corrupted as MLM training would, then scored.

The selection and the mask / random / keep choice follow BERT's procedure
(`mlmviz.training.corruption`), token by token or by whole words; the model
reads the corrupted sentence and is scored against the original tokens at
the selected positions only, as the training loss is.
"""

from dataclasses import dataclass

import numpy as np

from mlmviz.distributions import cross_entropy
from mlmviz.training.corruption import check_rates

ACTIONS = ("mask", "random", "keep")


def continuation_prefix(vocabulary):
    """The prefix "##" for a WordPiece vocabulary, else None (words told by offsets).

    A vocabulary counts as WordPiece when over 5 % of its entries are "##"
    pieces (bert-base-uncased: 19 %); byte-level BPE vocabularies hold a
    few "##"-like strings ("###") but far fewer.
    """
    pieces = sum(token.startswith("##") and len(token) > 2 for token in vocabulary)
    return "##" if pieces > 0.05 * len(vocabulary) else None


def word_groups(tokens, offsets, selectable, prefix="##"):
    """Group token positions into words, for whole-word masking.

    Args:
        tokens: token strings of one encoding.
        offsets: `(start, end)` character span of each token.
        selectable: one bool per token; False tokens (special tokens, typed
            mask tokens) belong to no group and end the word before them.
        prefix: the mark of a word-continuing piece ("##" for WordPiece),
            or None: then a token continues the word when it starts exactly
            where the previous token ended (BPE / SentencePiece, whose
            word-start marks differ: "Ġ", "▁").

    Returns:
        list of lists of positions, each list one word's pieces, in order.
    """
    groups, previous = [], None  # previous: the last token's position if selectable
    for position, (token, (start, _)) in enumerate(zip(tokens, offsets)):
        if not selectable[position]:
            previous = None
            continue
        if prefix is not None:
            continues = token.startswith(prefix)
        else:
            continues = previous is not None and start == offsets[previous][1]
        if continues and previous is not None:
            groups[-1].append(position)
        else:
            groups.append([position])
        previous = position
    return groups


def select_groups(groups, rng, selection_rate):
    """Choose whole groups at random until `round(rate * tokens)` are covered.

    As BERT's whole-word masking: groups are visited in random order and
    one that would overshoot the budget is skipped, except the first, so
    a positive rate always selects something.

    Returns:
        sorted int array `(selected,)` of positions.
    """
    budget = round(selection_rate * sum(len(group) for group in groups))
    if selection_rate > 0 and groups:
        budget = max(1, budget)
    chosen = []
    for index in rng.permutation(len(groups)):
        if len(chosen) >= budget:
            break
        if chosen and len(chosen) + len(groups[index]) > budget:
            continue
        chosen.extend(groups[index])
    return np.sort(np.array(chosen, dtype="int64"))  # (selected,)


@dataclass(frozen=True)
class SentenceCorruption:
    """One sequence corrupted as in training.

    Attributes:
        token_ids: `(seq,)` what the model reads.
        positions: `(selected,)` selected positions, sorted.
        labels: `(selected,)` the original ids there (the targets).
        actions: `(selected,)` "mask", "random" or "keep" per position.
    """

    token_ids: np.ndarray
    positions: np.ndarray
    labels: np.ndarray
    actions: np.ndarray


def corrupt_sentence(token_ids, groups, rng, mask_id, vocabulary_size,
                     selection_rate=0.15, mask_rate=0.8, random_rate=0.1):
    """`corrupt` for one sequence whose selectable tokens come in groups.

    Singleton groups give token-level masking, `word_groups` whole-word
    masking. The mask / random / keep choice is made per token, as in
    BERT's whole-word masking.

    Raises:
        ValueError: for rates outside [0, 1] or mask + random > 1.
    """
    check_rates(selection_rate, mask_rate, random_rate)
    ids = np.array(token_ids, dtype="int32")  # (seq,)
    chosen = select_groups(groups, rng, selection_rate)  # (selected,)
    draw = rng.random(len(chosen))  # (selected,)
    actions = np.select([draw < mask_rate, draw < mask_rate + random_rate],
                        ACTIONS[:2], ACTIONS[2])  # (selected,)
    labels = ids[chosen]  # (selected,)
    ids[chosen[actions == "mask"]] = mask_id
    randomised = chosen[actions == "random"]
    ids[randomised] = rng.integers(0, vocabulary_size, len(randomised))
    return SentenceCorruption(ids, chosen, labels, actions)


@dataclass(frozen=True)
class LabResult:
    """A sentence corrupted as in training and the model's loss on it.

    Attributes:
        tokens: the original token strings (special tokens included).
        shown: the token strings the model reads.
        corruption: the `SentenceCorruption`.
        groups: the groups selection drew from (words or single tokens).
        losses: `(selected,)` cross-entropy in nats at each selected position.
        predictions: `(selected,)` the model's top-1 token id there.
        loss: mean of `losses`, the MLM training loss of this sentence.
        accuracy: fraction of selected positions where top-1 == label.
    """

    tokens: tuple
    shown: tuple
    corruption: SentenceCorruption
    groups: list
    losses: np.ndarray
    predictions: np.ndarray
    loss: float
    accuracy: float

    @property
    def actions(self):
        """Per token: "" where not selected, else "mask", "random" or "keep"."""
        actions = [""] * len(self.tokens)
        for position, action in zip(self.corruption.positions, self.corruption.actions):
            actions[position] = str(action)
        return actions


def masking_lab(model, text, seed=0, whole_word=False,
                selection_rate=0.15, mask_rate=0.8, random_rate=0.1):
    """Corrupt `text` as MLM training would, run `model` on it, score it.

    Special tokens and typed mask tokens are never selected. The model
    reads the corrupted ids (`model.batch_logits`) and is scored at the
    selected positions only, against the original tokens.

    Raises:
        ValueError: for fewer than two selectable tokens, bad rates, or
            when nothing is selected (a zero rate).
    """
    encoding, groups, corruption = _corrupt_text(
        model, text, seed, whole_word, selection_rate, mask_rate, random_rate)
    batch = corruption.token_ids[None], corruption.positions[None]  # (1, seq), (1, selected)
    logits = model.batch_logits(*batch)[0]  # (selected, vocab)
    losses = cross_entropy(logits, corruption.labels)  # (selected,)
    predictions = logits.argmax(axis=-1)  # (selected,)
    shown = [model.vocabulary[i] for i in corruption.token_ids]
    return LabResult(
        tuple(encoding.tokens), tuple(shown), corruption, groups, losses, predictions,
        float(losses.mean()), float(np.mean(predictions == corruption.labels)),
    )


def first_seed_with_a_mask(model, text, whole_word=False, selection_rate=0.15, mask_rate=0.8,
                           random_rate=0.1, tries=100):
    """The first seed (0, 1, …) whose draw on `text` replaces a token by the mask
    token, so that a short sentence shows what training mostly does; 0 when the
    mask rate is 0 or no seed among `tries` does. The model is not run.

    Raises:
        ValueError: as `masking_lab`.
    """
    for seed in range(tries if mask_rate > 0 else 1):
        _, _, corruption = _corrupt_text(
            model, text, seed, whole_word, selection_rate, mask_rate, random_rate)
        if "mask" in corruption.actions:
            return seed
    return 0


def _corrupt_text(model, text, seed, whole_word, selection_rate, mask_rate, random_rate):
    """`(encoding, groups, SentenceCorruption)` of `text` under `seed` (see `masking_lab`)."""
    encoding = model.tokenizer.encode(text)
    selectable = np.zeros(len(encoding.ids), dtype=bool)  # (seq,)
    selectable[model.maskable_positions(encoding)] = True
    if selectable.sum() < 2:
        raise ValueError("The text needs at least two tokens (besides mask tokens): "
                         "with fewer there is no context to predict from.")
    if whole_word:
        prefix = continuation_prefix(model.vocabulary)
        groups = word_groups(encoding.tokens, encoding.offsets, selectable, prefix)
    else:
        groups = [[int(i)] for i in np.flatnonzero(selectable)]
    corruption = corrupt_sentence(
        encoding.ids, groups, np.random.default_rng(seed), model.tokenizer.mask_id,
        len(model.vocabulary), selection_rate, mask_rate, random_rate,
    )
    if not len(corruption.positions):
        raise ValueError("Nothing is selected: raise the selection rate.")
    return encoding, groups, corruption
