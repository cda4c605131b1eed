"""Charts that tell the truth: labels that do not pile up or get clipped, axis titles
clear of their ticks, bars whose lengths compare as their values do."""

import json

import numpy as np
import pandas as pd
import pytest

from mlmviz.figures.layout import for_projector
from mlmviz.figures.logits import LABEL_GAP, LABELLED, logit_split_bars, norm_bias_scatter
from mlmviz.figures.probabilities import paired_probability_bars, percent
from mlmviz.figures.vectors import HANDFUL, scatter_1d, scatter_2d, vector_heatmap


def _points(x, y=None, labels=None):
    labels = labels or [f"p{i}" for i in range(len(x))]
    frame = pd.DataFrame({"x": x, "label": labels, "group": ["→ a"] * len(x),
                          "hover": [f"the whole sentence {i}\nposition {i}" for i in range(len(x))]})
    return frame if y is None else frame.assign(y=y)


def _positions(figure):
    return [position for trace in figure.data for position in trace.textposition]


# Hidden states: 2-D and 1-D points


@pytest.mark.parametrize("groups", [12, 40])
def test_each_predicted_word_has_a_marker_of_its_own(groups):
    """The legend told "→ door" and "→ letter" apart by nothing past 10 words."""
    points = _points([float(i) for i in range(groups)], [0.0] * groups).assign(
        group=[f"→ word{i}" for i in range(groups)])
    for draw in (scatter_2d, scatter_1d):
        markers = [(trace.marker.color, trace.marker.symbol) for trace in draw(points).data]
        assert len(markers) == groups and len(set(markers)) == groups
        assert len({color for color, _ in markers}) == min(groups, 24)


def test_past_a_handful_of_points_the_labels_show_on_hover_only():
    few = scatter_2d(_points(list(range(HANDFUL)), [0.0] * HANDFUL))
    many = scatter_2d(_points(list(range(HANDFUL + 1)), [0.0] * (HANDFUL + 1)))
    assert {trace.mode for trace in few.data} == {"markers+text"}
    assert {trace.mode for trace in many.data} == {"markers"}
    assert list(many.data[0].hovertext)[0] == "the whole sentence 0<br>position 0"
    line = scatter_1d(_points(list(range(HANDFUL + 1))))
    assert {trace.mode for trace in line.data} == {"markers"}


def test_two_close_points_put_their_labels_on_opposite_sides():
    figure = scatter_2d(_points([0.0, 0.0, 5.0], [1.0, 1.1, -3.0]))
    below, above, _ = _positions(figure)
    assert below.startswith("bottom") and above.startswith("top")


def test_labels_at_the_edges_point_inwards_and_are_not_clipped():
    figure = scatter_2d(_points([-4.0, 0.0, 4.0], [0.0, 3.0, 0.0]))
    assert [p.split()[1] for p in _positions(figure)] == ["right", "center", "left"]
    assert figure.data[0].cliponaxis is False
    low, high = figure.layout.xaxis.range
    assert low < -4 and high > 4  # room beyond the outermost points
    line = scatter_1d(_points([-3.5, 3.5]))
    assert [p.split()[1] for p in _positions(line)] == ["right", "left"]


def test_the_one_dimensional_view_has_no_second_axis():
    figure = scatter_1d(_points([-1.0, 0.5, 2.0]), "title")
    assert figure.layout.yaxis.visible is False
    assert set(figure.data[0].y) == {0.0}
    assert [p.split()[0] for p in _positions(figure)] == ["top", "bottom", "top"]


def test_labels_and_hovers_are_shown_as_typed():
    figure = scatter_2d(_points([0.0, 1.0], [0.0, 1.0], labels=["<mask>₁", "a & b"]))
    assert list(figure.data[0].text) == ["&lt;mask&gt;₁", "a &amp; b"]
    heat = vector_heatmap(np.ones((2, 3)), ["<mask>₁", "<mask>₂"])
    assert list(heat.data[0].y) == ["&lt;mask&gt;₁", "&lt;mask&gt;₂"]


# The heatmap's axis title


@pytest.mark.parametrize("rows", [1, 2, 6])
@pytest.mark.parametrize("projector", [False, True])
def test_the_heatmap_keeps_room_under_its_ticks_for_the_axis_title(rows, projector):
    figure = vector_heatmap(np.ones((rows, 128)), [f"row {i}" for i in range(rows)], "t")
    figure = for_projector(figure) if projector else figure
    axis = figure.layout.xaxis
    tick_font = axis.tickfont.size or 12  # plotly's default sizes
    title_font = axis.title.font.size or 14
    assert axis.title.standoff >= 4
    # tick length and gap (~6 px), the tick labels, the standoff, the title
    assert figure.layout.margin.b >= 6 + tick_font + axis.title.standoff + title_font
    plot = figure.layout.height - figure.layout.margin.t - figure.layout.margin.b
    assert plot >= 2 * 28  # at least two rows tall, also for one row


# Embedding similarity: the top predictions' labels


def test_the_top_predictions_are_named_in_a_column_of_separate_labels(default_model):
    masked = default_model.mask("the [MASK] barked at the [MASK] all night.")
    logits = default_model.stages(masked)["logits"][0, 0]
    top = np.argsort(-logits)[:10]  # (10,) best first
    norms = np.linalg.norm(default_model.output_matrix, axis=1)
    bias = default_model.output_bias
    figure = norm_bias_scatter(norms, bias, default_model.vocabulary, top)
    spec = json.loads(figure.to_json())
    notes = spec["layout"]["annotations"]
    names = [default_model.vocabulary[i] for i in top]
    assert sorted(n["text"] for n in notes) == sorted(names[:LABELLED])
    low, high = spec["layout"]["yaxis"]["range"]
    heights = sorted((n["ay"] - low) / (high - low) for n in notes)  # in the plot's height
    assert all(0 <= h <= 1 for h in heights)
    assert min(np.diff(heights)) >= LABEL_GAP * 0.999  # no two labels on one line
    for note in notes:  # each label joined to its point
        assert note["showarrow"] and (note["x"], note["y"]) in {
            (float(norms[i]), float(bias[i])) for i in top}
    hover = spec["data"][1]["hovertext"]  # the rest are named on hover
    assert [h.split(":")[0] for h in hover] == [f"#{n + 1} {t}" for n, t in enumerate(names)]


# Head anatomy: bars


def test_paired_bars_share_a_linear_axis_and_print_every_value():
    figure = paired_probability_bars(["dog", "cat"], [0.2, 0.5], [5e-5, 1e-4],
                                     ["the head", "bias only"])
    assert figure.layout.xaxis.type in (None, "linear")
    assert list(figure.data[0].text) == ["20.0%", "50.0%"]
    assert list(figure.data[1].text) == ["0.005%", "0.01%"]
    assert figure.layout.xaxis.range[1] == pytest.approx(0.625)
    # on a linear axis a 20 % bar is 4000 times as long as one of 0.005 %
    assert figure.data[0].x[0] / figure.data[1].x[0] == pytest.approx(4000)


def test_percent_keeps_two_digits_of_small_probabilities():
    assert [percent(p) for p in (0.589, 0.0227, 0.0027, 4.6e-5, 0.0)] == [
        "58.9%", "2.3%", "0.27%", "0.0046%", "0%"]


@pytest.mark.parametrize("figure", [
    logit_split_bars(pd.DataFrame({"token": ["a"], "context": [1.0], "bias": [0.1]})),
    paired_probability_bars(["a"], [0.5], [0.1], ["x", "y"]),
])
def test_bar_charts_with_a_legend_below_have_no_axis_title_under_it(figure):
    assert figure.layout.legend.y < 0
    assert figure.layout.xaxis.title.text is None


def test_the_surprise_strips_colour_bar_names_its_two_ends_only():
    """A one-row strip has no room for a scale of ticks: they were squashed together."""
    from mlmviz.figures.strips import surprise_strip

    bar = surprise_strip(["the", "cat", "sat"], [0.6, 5.4, 2.25]).data[0].colorbar
    assert list(bar.tickvals) == [0, 5.4] and list(bar.ticktext) == ["0", "5.4"]
