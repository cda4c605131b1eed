"""The compiled inspection paths equal the eager layer-by-layer computation, and the
inspections a model keeps are keyed by text and masks."""

import keras
import numpy as np
import pytest

import eager_reference as eager
import mlmviz
from hf_checkpoints import make_checkpoint
from mlmviz.analysis.logit_lens import lens_logits
from mlmviz.inspection import KEPT, Inspect
from mlmviz.layers import STAGE_NAMES

pytestmark = pytest.mark.backends

# (text, extra mask positions): one mask, masks at both ends, two masks and a
# chosen word, a long text with a mask near its end, one cut at the model's limit.
CASES = [
    ("he opened the [MASK] and walked into the room.", ()),
    ("[MASK] barked at the cat all night [MASK]", ()),
    ("the [MASK] barked at the [MASK] all night.", (7,)),
    ("we walked " * 12 + "to the [MASK] .", (1, 4)),
    ("[MASK] " + "word " * 600, (3, 510)),
]
CLOSE = {"rtol": 1e-5, "atol": 5e-5}  # float32 rounding of other summation orders


def _assert_inspection_is_eager(model, masked):
    found = model.inspect(masked)
    expected = eager.stages(model, masked)
    assert list(found.stages) == list(STAGE_NAMES)
    for name in STAGE_NAMES:
        assert found.stages[name].shape == expected[name].shape, name
        np.testing.assert_allclose(found.stages[name], expected[name], **CLOSE, err_msg=name)
    np.testing.assert_allclose(found.states, eager.states_at_masks(model, masked), **CLOSE)
    np.testing.assert_allclose(found.lens, eager.lens(model, masked), **CLOSE)
    np.testing.assert_array_equal(found.lens[-1], found.stages["logits"][0])
    attention = model.attention(masked)
    assert attention.dtype == np.float32
    np.testing.assert_allclose(attention, eager.attention(model, masked), rtol=0, atol=1e-5)


@pytest.mark.parametrize("text, positions", CASES)
def test_default_model_inspection_equals_the_eager_run(default_model, text, positions):
    _assert_inspection_is_eager(default_model, default_model.mask(text, positions))


@pytest.mark.parametrize("architecture", ["distilbert", "roberta", "albert"])
def test_other_architectures_inspection_equals_the_eager_run(architecture, tmp_path):
    model = mlmviz.load(make_checkpoint(architecture, tmp_path / architecture))
    mask = model.tokenizer.mask_token
    for text in (f"the {mask} sat on the {mask} .", f"{mask} cat"):
        _assert_inspection_is_eager(model, model.mask(text))


def test_batch_logits_equal_the_eager_run(default_model):
    rows = [default_model.mask(f"the cat sat on the {word} [MASK] .").ids
            for word in ("mat", "sofa", "floor")]
    positions = np.array([[1, 7], [2, 7], [3, 7]], "int32")  # (3, 2)
    found = default_model.batch_logits(rows, positions, batch_size=2)
    assert found.shape == (3, 2, default_model.head.vocabulary_size) and found.dtype == np.float32
    np.testing.assert_allclose(found, eager.batch_logits(default_model, rows, positions), **CLOSE)


def test_a_bfloat16_model_inspects_in_its_own_precision(default_model):
    low = mlmviz.load("default", precision="bfloat16")
    masked = low.mask("he opened the [MASK] and walked into the room.")
    found, expected = low.inspect(masked), eager.stages(low, masked)
    # bfloat16 keeps 8 bits: logits near 16 are 1/16 apart, and the graph rounds
    # its sums in another order than the eager calls (a few such steps apart).
    np.testing.assert_allclose(found.stages["logits"], expected["logits"], rtol=0, atol=0.25)
    gap = np.abs(found.stages["logits"] - default_model.stages(masked)["logits"]).max()
    assert gap > 1e-4  # it is not the float32 model's answer


def test_kept_inspections_are_keyed_by_text_and_masks_and_read_only(default_model):
    text = "the children played in the [MASK] after school."
    masked = default_model.mask(text)
    first = default_model.inspect(masked)
    assert default_model.inspect(default_model.mask(text)) is first
    other_mask = default_model.mask(text, (2,))
    other_text = default_model.mask("the children played in the [MASK] before school.")
    for other in (other_mask, other_text):
        again = default_model.inspect(other)
        assert again is not first and again.lens.shape[1] == len(other.positions)
        np.testing.assert_allclose(again.lens, eager.lens(default_model, other), **CLOSE)
    with pytest.raises(ValueError, match="read-only"):
        first.lens[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        default_model.stages(masked)["logits"][0, 0, 0] = 1.0


def test_a_model_keeps_a_bounded_number_of_inspections(default_model):
    for n in range(KEPT + 5):
        default_model.inspect(default_model.mask(f"number {n} is a [MASK] ."))
    assert len(default_model._inspector._kept) == KEPT


def test_lens_logits_reads_the_inspection(default_model):
    masked = default_model.mask("paris is the capital of [MASK] .")
    assert lens_logits(default_model, masked) is default_model.inspect(masked).lens


def test_inspect_declares_what_it_returns(default_model):
    hidden = np.random.default_rng(0).normal(size=(2, 7, 128)).astype("float32")  # (b, seq, h)
    states = [hidden, hidden * 2, hidden * 3]
    positions = np.array([[1, 3, 5], [0, 2, 6]], "int32")  # (b, m)
    layer = Inspect(default_model.head)
    symbolic = [keras.KerasTensor(s.shape, "float32") for s in states]
    spec = layer.compute_output_spec(symbolic, keras.KerasTensor(positions.shape, "int32"))
    output = layer(states, positions)
    assert {k: tuple(v.shape) for k, v in spec.items()} == {
        k: tuple(v.shape) for k, v in output.items()}
    assert tuple(output["lens"].shape) == (2, 3, 3, default_model.head.vocabulary_size)
