"""The figures drawn on every rerun are built in one constructor call: plotly
validates each property once (BENCHMARKS.md, server CPU per interaction)."""

import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from mlmviz.figures.logits import lens_lines
from mlmviz.figures.probabilities import probability_bars

BARS = pd.DataFrame({"token": ["door", "window"], "probability": [0.3, 0.1]})


@pytest.fixture
def one_pass(monkeypatch):
    """Building a figure fails if it calls update_layout, update_xaxes or update_yaxes."""
    def refuse(*args, **kwargs):
        raise AssertionError("the figure was updated after it was built")
    for name in ("update_layout", "update_xaxes", "update_yaxes"):
        monkeypatch.setattr(go.Figure, name, refuse)


def test_probability_bars_are_built_in_one_pass(one_pass):
    probability_bars(BARS, "Position 4: [MASK]")


def test_lens_lines_are_built_in_one_pass(one_pass):
    lens_lines(["embeddings", "layer 1"], [0.1, 0.5], [40, 1], "door", "title")


def test_probability_bars_are_the_same_figure_as_before():
    # The layout the step-by-step build (update_layout) gave.
    layout = json.loads(probability_bars(BARS, "T").to_json())["layout"]
    del layout["template"]
    assert layout == {
        "title": {"text": "T"}, "height": 136, "margin": {"l": 10, "r": 45, "t": 40, "b": 10},
        "xaxis": {"title": {"text": "probability"}, "range": [0, 0.375], "tickformat": ".1~%"},
        "yaxis": {"autorange": "reversed", "type": "category"},
    }


def test_lens_lines_give_probability_and_rank_their_own_panels():
    spec = json.loads(lens_lines(["e", "l1"], [0.1, 0.5], [40, 1], "door", "t").to_json())
    assert [trace["name"] for trace in spec["data"]] == ["P(door)", "rank of door"]
    assert spec["data"][1]["yaxis"] == "y2"
    layout = spec["layout"]
    assert layout["xaxis"] == {"type": "category", "anchor": "y2"}  # one layer axis, at the bottom
    assert "overlaying" not in layout["yaxis2"]  # not drawn over the probability's scale
    assert layout["yaxis"]["domain"][0] > layout["yaxis2"]["domain"][1]  # probability above
    assert layout["yaxis"]["title"]["text"] == "P(door)"
    assert layout["yaxis2"]["title"]["text"] == "rank of door"
    assert layout["yaxis2"]["tickvals"] == [1, 10] and layout["yaxis2"]["type"] == "log"
    assert layout["title"] == {"text": "t"}
