"""Where logits come from: context plus bias, each row's norm and bias, layer by layer."""

import functools
import html
import math

import numpy as np

from mlmviz.figures.layout import figure_of, padded_range


def logit_split_bars(table, title=""):
    """Each top token's logit as its context term plus its bias term.

    Args:
        table: DataFrame with `token`, `context` and `bias` columns, most
            probable first.
    """
    tokens = table["token"].tolist()
    bar = {"type": "bar", "y": tokens, "orientation": "h"}
    data = [{**bar, "name": "context (normed · embedding)", "x": table["context"].tolist()},
            {**bar, "name": "bias (prior)", "x": table["bias"].tolist()}]
    # No axis title: it would share the space under the ticks with the legend
    # (the figure's title names the quantity).
    layout = {"barmode": "relative", "legend": {"orientation": "h", "y": -0.15},
              "yaxis": {"type": "category", "autorange": "reversed"}}
    return figure_of(data, layout, 120 + 26 * len(tokens), title)


LABELLED = 5  # top predictions named on the norm/bias scatter; the rest on hover
LABEL_GAP = 0.075  # of the plot's height between two stacked labels (28 px of ~370)


def norm_bias_scatter(norms, bias, vocabulary, highlight=(), title=""):
    """Every vocabulary row: its norm against its output bias (WebGL).

    The top predictions often sit within a few pixels of each other, so
    the first `LABELLED` of them are named in a column of labels, `LABEL_GAP`
    of the plot's height apart, beside them, each joined to its point by a
    line; every highlighted point names itself on hover.

    Args:
        norms, bias: `(vocab,)` arrays.
        vocabulary: token strings, for hovering.
        highlight: token ids drawn on top, best first.

    The vocabulary's cloud is sent as arrays (plotly's binary encoding for the
    numbers): as lists its ~30,000 points took plotly a third of a second to
    check and encode on every draw.
    """
    norms, bias = np.asarray(norms, dtype=float), np.asarray(bias, dtype=float)
    highlight = list(dict.fromkeys(int(i) for i in highlight))
    data = [
        {"type": "scattergl", "x": norms, "y": bias,
         "mode": "markers", "name": "vocabulary", "text": hover_labels(tuple(vocabulary)),
         "hoverinfo": "text", "marker": {"size": 3, "opacity": 0.35}},
        {"type": "scattergl",  # WebGL too: an SVG trace would be drawn under the cloud
         "x": norms[highlight].tolist(), "y": bias[highlight].tolist(),
         "mode": "markers", "name": "top predictions",
         "text": [html.escape(str(vocabulary[i])) for i in highlight],
         "hovertext": [f"#{n + 1} {html.escape(str(vocabulary[i]))}: norm {norms[i]:.3g}, "
                       f"bias {bias[i]:.3g}" for n, i in enumerate(highlight)],
         "hoverinfo": "text", "marker": {"size": 9, "color": "crimson"}},
    ]
    layout = {"xaxis": {"title": {"text": "row norm ‖W[t]‖"}},
              "yaxis": {"title": {"text": "output bias b[t]"}}}
    if len(norms):
        _leader_labels(layout, norms, bias, [(vocabulary[i], i) for i in highlight[:LABELLED]])
    return figure_of(data, layout, 460, title)


@functools.lru_cache(maxsize=4)
def hover_labels(vocabulary):
    """The tokens of `vocabulary` (a tuple) HTML-escaped, as one array (built once per
    vocabulary: escaping 30,000 tokens takes longer than drawing them)."""
    return np.array([html.escape(str(token)) for token in vocabulary])


def _leader_labels(layout, x, y, named):
    """Fix the axis ranges of `layout` (a dict) to the data of `x` and `y` (with 5 %
    of room), and name each `(token, id)` of `named` in a column of labels
    `LABEL_GAP` apart, beside the points, in the points' vertical order."""
    (x0, x1), (y0, y1) = padded_range(x, 0.05), padded_range(y, 0.05)
    layout["xaxis"]["range"] = [x0, x1]
    layout["yaxis"]["range"] = [y0, y1]
    width, height = x1 - x0, y1 - y0
    if not named or not np.isfinite(width * height):
        return
    tokens = {i: str(token) for token, i in named}
    ids = sorted(tokens, key=lambda i: -y[i])  # top point first
    across = np.clip((x[ids] - x0) / width, 0, 1)  # (m,) in the plot's width
    up = np.clip((y[ids] - y0) / height, 0, 1)  # (m,) in the plot's height
    right = across.max() + 0.1 <= 0.85
    column = across.max() + 0.1 if right else max(across.min() - 0.1, 0.15)
    stack = LABEL_GAP * (len(ids) - 1)
    top = min(max(up.mean() + stack / 2, 0.04 + stack), 0.96)
    layout["annotations"] = [
        {"x": float(x[i]), "y": float(y[i]), "text": html.escape(tokens[i]),
         "ax": x0 + column * width, "ay": y0 + (top - n * LABEL_GAP) * height,
         "axref": "x", "ayref": "y", "xanchor": "left" if right else "right",
         "showarrow": True, "arrowhead": 0, "arrowwidth": 1, "arrowcolor": "#888",
         "font": {"color": "crimson"}, "bgcolor": "rgba(255, 255, 255, 0.8)"}
        for n, i in enumerate(ids)
    ]


def lens_lines(layers, probabilities, ranks, token, title=""):
    """The final prediction's probability and rank across layers, in two panels
    on one layer axis: probability above (0 to 100 %), rank below (log scale,
    1 at the top). Two axes on one panel read as one scale (a rank at the
    "100 %" gridline looked like certainty).

    Args:
        layers: layer names, bottom first.
        probabilities, ranks: one value per layer.
        token: the final prediction, named on both axes.
    """
    layers, top = list(layers), math.log10(max(ranks))
    line = {"type": "scatter", "x": layers, "mode": "lines+markers", "showlegend": False}
    data = [
        {**line, "y": [float(p) for p in probabilities], "name": f"P({token})"},
        {**line, "y": [int(r) for r in ranks], "name": f"rank of {token}", "yaxis": "y2"},
    ]
    layout = {
        "xaxis": {"type": "category", "anchor": "y2"},
        "yaxis": {"title": {"text": f"P({token})"}, "range": [0, 1], "tickformat": ".0%",
                  "domain": [0.6, 1]},
        "yaxis2": {"title": {"text": f"rank of {token}"}, "type": "log",
                   "domain": [0, 0.4], "anchor": "x", "range": [top + 0.3, -0.1],
                   "tickvals": [10**i for i in range(int(top) + 1)]},
    }
    return figure_of(data, layout, 420, title)
