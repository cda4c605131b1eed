"""Where logits come from: context plus bias, each row's norm and bias, layer by layer."""

import math

import numpy as np
import plotly.graph_objects as go

from mlmviz.figures.layout import compact


def logit_split_bars(table, title=""):
    """Each top token's logit as its context term plus its bias term.

    Args:
        table: DataFrame with `token`, `context` and `bias` columns, most
            probable first.
    """
    tokens = table["token"].tolist()
    figure = go.Figure([
        go.Bar(name="context (normed · embedding)", y=tokens, x=table["context"].tolist(),
               orientation="h"),
        go.Bar(name="bias (prior)", y=tokens, x=table["bias"].tolist(), orientation="h"),
    ])
    figure.update_layout(barmode="relative", legend={"orientation": "h", "y": -0.15})
    figure.update_xaxes(title="logit")
    figure.update_yaxes(type="category", autorange="reversed")
    return compact(figure, 120 + 26 * len(tokens), title)


def norm_bias_scatter(norms, bias, vocabulary, highlight=(), title=""):
    """Every vocabulary row: its norm against its output bias (WebGL).

    Args:
        norms, bias: `(vocab,)` arrays.
        vocabulary: token strings, for hovering.
        highlight: token ids drawn on top, labelled.
    """
    highlight = list(highlight)
    figure = go.Figure([
        go.Scattergl(
            x=np.asarray(norms, dtype=float).tolist(), y=np.asarray(bias, dtype=float).tolist(),
            mode="markers", name="vocabulary", text=list(vocabulary), hoverinfo="text",
            marker={"size": 3, "opacity": 0.35},
        ),
        go.Scatter(
            x=[float(norms[i]) for i in highlight], y=[float(bias[i]) for i in highlight],
            mode="markers+text", name="top predictions",
            text=[vocabulary[i] for i in highlight], textposition="top center",
            marker={"size": 9, "color": "crimson"},
        ),
    ])
    figure.update_xaxes(title="row norm ‖W[t]‖")
    figure.update_yaxes(title="output bias b[t]")
    return compact(figure, 460, title)


def lens_lines(layers, probabilities, ranks, token, title=""):
    """The final prediction's probability and rank across layers.

    Args:
        layers: layer names, bottom first.
        probabilities, ranks: one value per layer.
        token: the final prediction, for the legend.
    """
    figure = go.Figure([
        go.Scatter(x=list(layers), y=[float(p) for p in probabilities], name=f"P({token})",
                   mode="lines+markers"),
        go.Scatter(x=list(layers), y=[int(r) for r in ranks], name=f"rank of {token}",
                   mode="lines+markers", yaxis="y2"),
    ])
    figure.update_layout(
        yaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        yaxis2={"title": "rank (log scale, 1 at the top)", "type": "log", "overlaying": "y",
                "side": "right", "range": [math.log10(max(ranks)) + 0.3, -0.1],
                "tickvals": [10**i for i in range(int(math.log10(max(ranks))) + 1)]},
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_xaxes(type="category")
    return compact(figure, 360, title)
