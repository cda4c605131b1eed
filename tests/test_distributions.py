"""Float32 softmax with temperature against float64 numpy; the bar chart builder."""

import ml_dtypes
import numpy as np
import pandas as pd
import pytest

from mlmviz import distributions
from mlmviz.figures.probabilities import probability_bars

RNG = np.random.default_rng(1)
LOGITS = RNG.normal(scale=4, size=(3, 50)).astype("float32")
VOCABULARY = [f"tok{i}" for i in range(50)]


def _reference_softmax(logits, temperature):
    z = np.asarray(logits, dtype="float64") / temperature
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 2.5])
def test_softmax_matches_reference(temperature):
    probabilities = distributions.softmax(LOGITS, temperature)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(
        probabilities, _reference_softmax(LOGITS, temperature), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-6)


def test_softmax_of_bfloat16_logits_is_float32_and_normalised():
    probabilities = distributions.softmax(LOGITS.astype(ml_dtypes.bfloat16))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-6)


def test_softmax_is_stable_for_huge_logits():
    probabilities = distributions.softmax(np.array([1e30, 0, -1e30], "float32"))
    np.testing.assert_array_equal(probabilities, [1, 0, 0])


def test_low_temperature_sharpens_high_temperature_flattens():
    top = [distributions.softmax(LOGITS[0], t).max() for t in (0.25, 1.0, 4.0)]
    assert top[0] > top[1] > top[2]


@pytest.mark.parametrize("temperature", [0, -1, float("nan"), float("inf")])
def test_invalid_temperature_is_refused(temperature):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        distributions.softmax(LOGITS, temperature)


def test_probability_bars_show_the_table_best_first():
    order = np.argsort(-LOGITS[2])[:4]
    probabilities = distributions.softmax(LOGITS[2])[order]
    table = pd.DataFrame({"token": [VOCABULARY[i] for i in order], "probability": probabilities})
    figure = probability_bars(table, "Position 3")
    bar = figure.data[0]
    assert list(bar.y) == list(table["token"])
    np.testing.assert_allclose(bar.x, table["probability"])
    assert figure.layout.yaxis.autorange == "reversed"
    assert figure.layout.title.text == "Position 3"


def test_entropy_matches_the_definition():
    probabilities = distributions.softmax(LOGITS)
    expected = -(probabilities.astype("float64") * np.log(probabilities)).sum(-1)
    np.testing.assert_allclose(distributions.entropy(probabilities), expected, rtol=1e-5)
    assert distributions.entropy(np.full(50, 1 / 50)) == pytest.approx(np.log(50), rel=1e-6)
    assert distributions.entropy(np.eye(1, 50)[0]) == 0


def test_rank_counts_strictly_better_tokens():
    probabilities = np.array([0.1, 0.4, 0.1, 0.3, 0.1])
    assert [distributions.rank(probabilities, i) for i in range(5)] == [3, 1, 3, 2, 3]


def test_cross_entropy_is_stable_and_exact():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 3, 50)) * 30 + 1000  # large: exp would overflow naively
    labels = rng.integers(0, 50, size=(4, 3))
    log_p = np.log(_reference_softmax(logits, 1.0))  # float64
    expected = -np.take_along_axis(log_p, labels[..., None], -1)[..., 0]
    got = distributions.cross_entropy(logits, labels)
    assert got.shape == (4, 3) and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, atol=1e-3)
