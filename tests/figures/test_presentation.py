"""Figures on a projector: large dark labels, probability axes fitted to the data."""

import numpy as np
import pandas as pd
import pytest

from mlmviz.figures.layout import PROJECTOR_TICKS, PROJECTOR_TITLE, for_projector
from mlmviz.figures.logits import lens_lines
from mlmviz.figures.probabilities import fitted_maximum, probability_bars
from mlmviz.figures.vectors import vector_heatmap


def _bars(probabilities):
    return probability_bars(pd.DataFrame({"token": [f"t{i}" for i in range(len(probabilities))],
                                          "probability": probabilities}), "title")


@pytest.mark.parametrize("largest, end", [(0.09, 0.1125), (0.5, 0.625), (0.9, 1.0), (0.0, 1.0),
                                          (float("nan"), 1.0)])
def test_the_probability_axis_ends_a_quarter_past_the_largest_bar(largest, end):
    assert fitted_maximum([largest, 0.0]) == pytest.approx(end)


def test_every_bar_prints_its_value_and_a_small_top_answer_fills_the_chart():
    figure = _bars([0.09, 0.05, 0.01])
    assert list(figure.data[0].text) == ["9.0%", "5.0%", "1.0%"]
    assert figure.layout.xaxis.range[1] < 0.12


@pytest.mark.parametrize("figure", [
    _bars([0.5, 0.2]),
    vector_heatmap(np.ones((2, 3)), ["a", "b"], "title"),
    lens_lines(["embeddings", "layer 1"], [0.1, 0.5], [40, 1], "door", "title"),
])
def test_for_projector_sets_large_dark_labels_on_every_axis(figure):
    height = figure.layout.height
    figure = for_projector(figure)
    assert figure.layout.title.font.size == PROJECTOR_TITLE >= 22
    for axis in (figure.layout.xaxis, figure.layout.yaxis):
        assert axis.tickfont.size >= 18 and axis.tickfont.size == PROJECTOR_TICKS
        assert axis.tickfont.color == "#111111"
    assert figure.layout.height > height
