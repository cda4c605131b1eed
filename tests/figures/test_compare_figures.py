"""Compare checkpoints, layer by layer: each model on its own layer axis, rows that compare."""

import json

import numpy as np
import pandas as pd
import pytest

from mlmviz.figures.compare import attention_pair, lens_columns
from mlmviz.figures.layout import PROJECTOR_TICKS, for_projector

NAMES = {"A": "A: default", "B": "B: <deep>"}


def _table(probabilities_a, ranks_a, probabilities_b, ranks_b):
    """A `compare_lens`-shaped table."""
    rows = []
    for model, probabilities, ranks in (("A", probabilities_a, ranks_a),
                                        ("B", probabilities_b, ranks_b)):
        for depth, (p, r) in enumerate(zip(probabilities, ranks)):
            layer = "embeddings" if depth == 0 else f"layer {depth}"
            rows.append({"model": model, "layer": layer, "depth": depth, "probability": p,
                         "rank": r})
    return pd.DataFrame(rows)


@pytest.fixture
def figure():
    table = _table([0.001, 0.2, 0.5], [300, 2, 1], [0.0001, 0.01, 0.05, 0.3], [2000, 40, 3, 1])
    return lens_columns(table, NAMES, "door", "“door” layer by layer")


def test_each_model_has_its_own_layer_axis_with_all_its_layers(figure):
    spec = json.loads(figure.to_json())
    by_axis = {(trace["xaxis"], trace["yaxis"]): trace for trace in spec["data"]}
    assert by_axis[("x", "y")]["x"] == ["embeddings", "layer 1", "layer 2"]
    assert by_axis[("x2", "y2")]["x"] == ["embeddings", "layer 1", "layer 2", "layer 3"]
    assert by_axis[("x", "y")]["y"] == [0.001, 0.2, 0.5]
    assert by_axis[("x4", "y4")]["y"] == [2000, 40, 3, 1]
    layout = spec["layout"]
    assert layout["xaxis3"]["title"]["text"] == "A: default: 2 layers"
    assert layout["xaxis4"]["title"]["text"] == "B: &lt;deep&gt;: 3 layers"  # shown as typed


def test_the_rows_share_one_scale_so_the_models_compare(figure):
    layout = figure.layout
    assert layout.yaxis.range == layout.yaxis2.range  # probability, both columns
    assert layout.yaxis.range[0] == 0 and 0.5 < layout.yaxis.range[1] <= 1
    assert layout.yaxis2.matches == "y"
    assert layout.yaxis3.type == layout.yaxis4.type == "log"
    low, high = layout.yaxis3.range
    assert high < 0 < low  # rank 1 at the top, the worst rank (2000) inside the axis
    assert 10**low > 2000
    assert layout.yaxis3.range == layout.yaxis4.range
    assert figure.data[0].line.color != figure.data[2].line.color


def test_the_end_layers_keep_room_for_their_labels(figure):
    assert list(figure.layout.xaxis3.range) == [-0.5, 2.5]  # A: 3 points
    assert list(figure.layout.xaxis4.range) == [-0.5, 3.5]  # B: 4 points


def test_a_small_probability_fills_the_probability_axis():
    table = _table([0.001, 0.02], [300, 4], [0.001, 0.01], [400, 9])
    figure = lens_columns(table, NAMES, "door")
    assert figure.layout.yaxis.range[1] < 0.03
    assert figure.layout.yaxis.tickformat == ".2~p"  # 0.5 % and 1 % ticks, not 1 % twice


def test_on_a_projector_the_labels_are_large(figure):
    height = figure.layout.height
    big = for_projector(figure)
    assert big.layout.height > height
    for axis in ("xaxis3", "xaxis4", "yaxis", "yaxis3"):
        assert big.layout[axis].tickfont.size == PROJECTOR_TICKS
        assert big.layout[axis].title.font.size == PROJECTOR_TICKS


# Attention at the mask, both models

TOKENS = ["[CLS]", "the", "[MASK]", "barked", "[SEP]"]


def _rows(layers, heads, seed):
    scores = np.random.default_rng(seed).normal(size=(layers, heads, len(TOKENS)))
    weights = np.exp(scores)
    return weights / weights.sum(-1, keepdims=True)  # (layers, heads, seq)


def test_both_models_attention_shares_one_colour_scale():
    rows = {"A": _rows(2, 2, 0), "B": _rows(3, 2, 1)}
    rows["B"][2, 1] = [0.0, 0.0, 0.0, 0.99, 0.01]  # B's strongest cell: the scale's end
    keys = [1, 2, 3]  # [CLS] and [SEP] hidden
    figure_a, figure_b = attention_pair(rows, TOKENS, keys, NAMES)
    for figure, model in ((figure_a, "A"), (figure_b, "B")):
        cells = np.array(figure.data[0].z)
        layers, heads = rows[model].shape[:2]
        assert cells.shape == (layers * heads, 3)
        assert np.allclose(cells, rows[model][:, :, keys].reshape(-1, 3))  # not renormalised
        assert figure.data[0].zmax == pytest.approx(0.99)
        assert figure.layout.title.text == f"{NAMES[model]}: what the mask reads"
    assert list(figure_b.layout.xaxis.ticktext) == ["the", "[MASK]", "barked"]


def test_each_layer_carries_its_models_note():
    rows = {"A": _rows(2, 2, 0), "B": _rows(3, 1, 1)}
    notes = {"A": ["#9", "#1"], "B": ["#40", "#3", "#1"]}
    figure_a, figure_b = attention_pair(rows, TOKENS, range(5), NAMES, notes, "rank of “dog”")
    assert list(figure_a.data[1].text) == ["#9", "#1"]
    assert list(figure_b.data[1].text) == ["#40", "#3", "#1"]
    assert figure_b.layout.xaxis2.title.text == "rank of<br>“dog”"  # two lines: the notes column is narrow
    assert len(attention_pair(rows, TOKENS, range(5), NAMES)[0].data) == 1  # no notes
