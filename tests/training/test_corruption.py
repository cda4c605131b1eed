"""BERT's 80/10/10 corruption: proportions, what is never touched, determinism."""

import numpy as np
import pytest

from mlmviz.training.corruption import corrupt

VOCAB, MASK_ID, PAD = 1000, 4, 0
SEQ = 64


def _batch(rows=256, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(10, VOCAB, size=(rows, SEQ)).astype("int32")
    lengths = rng.integers(8, SEQ, size=rows)
    selectable = np.arange(SEQ)[None, :] < lengths[:, None]
    selectable[:, 0] = False  # [CLS]
    ids[~selectable] = PAD
    return ids, selectable


def test_proportions_match_bert_over_many_sequences():
    ids, selectable = _batch()
    out = corrupt(ids, selectable, np.random.default_rng(1), MASK_ID, VOCAB, max_predictions=SEQ)
    picked = out.weights.astype(bool)
    counts = picked.sum(1)
    expected = np.maximum(1, np.round(0.15 * selectable.sum(1)))
    np.testing.assert_array_equal(counts, expected)
    rows = np.nonzero(picked)[0]
    at = out.token_ids[rows, out.positions[picked]]
    labels = out.labels[picked]
    masked = np.mean(at == MASK_ID)
    kept = np.mean(at == labels)
    assert abs(masked - 0.8) < 0.03
    # Kept = "keep" branch plus the rare random draw of the same token.
    assert abs(kept - 0.1) < 0.02
    assert abs(1 - masked - kept - 0.1) < 0.02


def test_labels_are_the_original_tokens_and_the_rest_is_untouched():
    ids, selectable = _batch(rows=32)
    out = corrupt(ids, selectable, np.random.default_rng(2), MASK_ID, VOCAB, max_predictions=12)
    for row in range(len(ids)):
        chosen = out.positions[row][out.weights[row] > 0]
        assert np.all(selectable[row, chosen]), "special or padding token selected"
        np.testing.assert_array_equal(out.labels[row][: len(chosen)], ids[row, chosen])
        untouched = np.setdiff1d(np.arange(SEQ), chosen)
        np.testing.assert_array_equal(out.token_ids[row, untouched], ids[row, untouched])
        assert list(chosen) == sorted(chosen)


def test_same_seed_same_corruption():
    ids, selectable = _batch(rows=8)
    a = corrupt(ids, selectable, np.random.default_rng(5), MASK_ID, VOCAB, 12)
    b = corrupt(ids, selectable, np.random.default_rng(5), MASK_ID, VOCAB, 12)
    np.testing.assert_array_equal(a.token_ids, b.token_ids)
    np.testing.assert_array_equal(a.positions, b.positions)


def test_zero_rate_selects_nothing():
    ids, selectable = _batch(rows=4)
    out = corrupt(ids, selectable, np.random.default_rng(0), MASK_ID, VOCAB, 12, selection_rate=0)
    assert out.weights.sum() == 0
    np.testing.assert_array_equal(out.token_ids, ids)


@pytest.mark.parametrize(
    "rates, message",
    [({"selection_rate": 1.5}, "selection_rate"), ({"mask_rate": -0.1}, "mask_rate"),
     ({"mask_rate": 0.9, "random_rate": 0.2}, "<= 1")],
)
def test_bad_rates_are_refused(rates, message):
    ids, selectable = _batch(rows=2)
    with pytest.raises(ValueError, match=message):
        corrupt(ids, selectable, np.random.default_rng(0), MASK_ID, VOCAB, 12, **rates)
