"""Attention figures: one strip per layer and head, the model's own weights in the cells,
hidden keys left out without renormalising, labels that stay legible."""

import numpy as np
import pytest

from mlmviz.figures.attention import PRINTED, attention_matrix, average_rows, mask_rows
from mlmviz.figures.layout import PROJECTOR_TICKS, for_projector

TOKENS = ["[CLS]", "the", "[MASK]", "barked", "the", "<b>", "[SEP]"]
SEQ = len(TOKENS)


def _weights(layers=3, heads=2, seq=SEQ, seed=0):
    scores = np.random.default_rng(seed).normal(size=(layers, heads, seq, seq))
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)  # (layers, heads, seq, seq)


def _cells(figure):
    return np.array(figure.data[0].z)


def test_the_grid_has_a_row_per_layer_and_head_holding_the_queries_weights():
    weights = _weights()
    figure = mask_rows(weights, TOKENS, 2)
    assert list(figure.data[0].y) == [f"layer {l} · head {h}" for l in (1, 2, 3) for h in (1, 2)]
    assert np.allclose(_cells(figure)[3], weights[1, 1, 2])  # layer 2, head 2
    assert np.allclose(_cells(figure).sum(axis=1), 1)
    layers = [shape for shape in figure.layout.shapes if shape.type == "line"]
    assert sorted(shape.y0 for shape in layers) == [1.5, 3.5]  # between the layers


def test_hidden_keys_are_left_out_and_the_rest_not_renormalised():
    weights = _weights()
    keys = [1, 2, 3, 4, 5]  # without [CLS] and [SEP]
    figure = mask_rows(weights, TOKENS, 2, keys=keys)
    assert _cells(figure).shape == (6, 5)
    assert np.allclose(_cells(figure)[0], weights[0, 0, 2, keys])
    assert list(figure.layout.xaxis.ticktext) == ["the", "[MASK]", "barked", "the", "&lt;b&gt;"]
    assert "[CLS] (0)" not in figure.data[0].x


def test_repeated_tokens_keep_their_own_columns_and_hover_names_the_position():
    figure = mask_rows(_weights(), TOKENS, 2)
    assert figure.data[0].x[1] == "the (1)" and figure.data[0].x[4] == "the (4)"
    assert figure.data[0].x[5] == "&lt;b&gt; (5)"  # plotly reads labels as HTML
    assert list(figure.layout.xaxis.tickvals) == list(figure.data[0].x)
    assert figure.data[0].hovertemplate == "%{y}, key %{x}: %{z:.1%}<extra></extra>"


def test_past_forty_tokens_every_kth_is_named_and_a_long_matrix_stays_in_bounds():
    seq = 100
    tokens = [f"t{i}" for i in range(seq)]
    figure = mask_rows(_weights(layers=1, seq=seq), tokens, 0)
    assert list(figure.layout.xaxis.ticktext) == tokens[::3]  # 34 labels of 100
    matrix = attention_matrix(_weights(layers=1, seq=seq)[0, 0], tokens)
    assert list(matrix.layout.yaxis.ticktext) == tokens[::3]
    assert matrix.layout.height <= 40 + 70 + 1200


def test_layer_notes_sit_beside_each_layers_first_row():
    figure = mask_rows(_weights(), TOKENS, 2, layer_notes=["rank 9", "rank 2", "rank 1"])
    notes = figure.data[1]
    assert list(notes.text) == ["rank 9", "rank 2", "rank 1"]
    assert list(notes.y) == ["layer 1 · head 1", "layer 2 · head 1", "layer 3 · head 1"]
    assert notes.xaxis == "x2" and notes.yaxis == "y2"  # the column right of the cells
    assert mask_rows(_weights(), TOKENS, 2, layer_notes=["a"] * 3,
                     notes_title="rank of <b>").layout.xaxis2.title.text == "rank of<br>&lt;b&gt;"  # escaped, on two lines
    assert figure.layout.yaxis2.matches == "y"  # on the same rows


def test_the_head_average_is_the_mean_over_heads():
    weights = _weights()
    figure = average_rows(weights, TOKENS, 2, layer_notes=["a", "b", "c"])
    assert list(figure.data[0].y) == ["layer 1", "layer 2", "layer 3"]
    assert np.allclose(_cells(figure), weights[:, :, 2].mean(axis=1))
    assert list(figure.data[1].y) == ["layer 1", "layer 2", "layer 3"]


def test_the_matrix_shows_queries_as_rows_and_outlines_the_mask():
    weights = _weights()
    figure = attention_matrix(weights[1, 0], TOKENS, query=2)
    assert np.allclose(_cells(figure), weights[1, 0])
    outline = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    assert len(outline) == 1 and (outline[0].y0, outline[0].y1) == (1.5, 2.5)
    assert (figure.data[0].y[2], figure.data[0].x[3]) == ("[MASK] (2)", "barked (3)")
    assert figure.data[0].hovertemplate.startswith("%{y} → %{x}: ")


def test_the_matrix_drops_hidden_positions_from_rows_and_columns():
    weights = _weights()
    shown = [1, 2, 3, 4, 5]
    figure = attention_matrix(weights[0, 1], TOKENS, positions=shown, query=2)
    assert np.allclose(_cells(figure), weights[0, 1][np.ix_(shown, shown)])
    outline = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    assert (outline[0].y0, outline[0].y1) == (0.5, 1.5)


def test_cells_print_their_weight_as_a_percentage_only_while_they_have_room():
    weights = _weights(seq=PRINTED)
    cells = mask_rows(weights, ["t"] * PRINTED, 0).data[0]
    assert cells.texttemplate == "%{text}"
    assert cells.text[1][3] == f"{weights[0, 1, 0, 3] * 100:.0f}"
    many = PRINTED + 1
    assert not mask_rows(_weights(seq=many), ["t"] * many, 0).data[0].texttemplate


def test_the_colour_scale_starts_at_zero_and_reaches_the_largest_weight_shown():
    weights = _weights()
    figure = mask_rows(weights, TOKENS, 2, keys=[1, 3])
    assert figure.data[0].zmin == 0
    assert figure.data[0].zmax == pytest.approx(weights[:, :, 2][..., [1, 3]].max())


def test_the_grid_grows_with_its_rows_and_on_a_projector_its_labels_are_large():
    small, large = mask_rows(_weights(layers=1), TOKENS, 2), mask_rows(_weights(layers=12), TOKENS, 2)
    assert large.layout.height - small.layout.height >= 20 * (24 - 3)
    base = mask_rows(_weights(layers=12, heads=12), TOKENS, 2)  # BERT-base: 144 rows
    assert 16 * 144 <= base.layout.height - 200 <= 20 * 144  # dense, one label per row
    projected = for_projector(mask_rows(_weights(), TOKENS, 2))
    assert projected.layout.yaxis.tickfont.size == PROJECTOR_TICKS
    assert projected.layout.xaxis.tickfont.size == PROJECTOR_TICKS
