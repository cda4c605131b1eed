"""The random toy model behind the app skeleton."""

import numpy as np
import pytest

from mlmviz import toy


@pytest.fixture(scope="module")
def model():
    return toy.ToyModel(seed=0)


def test_tokenize_keeps_typed_masks_and_marks_unknown_words(model):
    tokens = model.tokenize("The cat sat on the [MASK].")
    assert tokens == ["the", "cat", "sat", "on", "the", "[MASK]", "."]
    assert model.mask_positions(tokens) == [5]
    assert model.mask_positions(tokens, picked=[1, 5, 99]) == [1, 5]


def test_logits_are_float32_and_depend_on_context(model):
    a = model.mask_logits(model.tokenize("the cat sat on the mat"), [5])
    b = model.mask_logits(model.tokenize("the dog ran to the mat"), [5])
    assert a.shape == (1, len(toy.VOCABULARY)) and a.dtype == np.float32
    assert not np.allclose(a, b)


def test_same_seed_same_model(model):
    tokens = model.tokenize("a red car")
    again = toy.ToyModel(seed=0).mask_logits(tokens, [1])
    np.testing.assert_array_equal(model.mask_logits(tokens, [1]), again)


@pytest.mark.parametrize(
    "tokens, positions, message",
    [([], [0], "no tokens"), (["a"], [], "Nothing is masked"), (["a", "b"], [2], r"\[0, 2\)"),
     (["a", "b"], [-1], r"\[0, 2\)")],
)
def test_bad_requests_raise_clear_errors(model, tokens, positions, message):
    with pytest.raises(ValueError, match=message):
        model.mask_logits(tokens, positions)


def test_two_masks_in_one_sentence_get_different_predictions(model):
    logits = model.mask_logits(model.tokenize("the [MASK] sat on the [MASK]"), [1, 5])
    assert not np.allclose(logits[0], logits[1])
