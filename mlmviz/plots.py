"""Pure plotly figure builders: data in, `go.Figure` out."""

import math

import numpy as np
import plotly.graph_objects as go


def probability_bars(table, title=""):
    """Horizontal bars of `table.probability` per `table.token`, best on top.

    Args:
        table: DataFrame with `token` and `probability` columns, sorted most
            probable first.
        title: figure title.
    """
    figure = go.Figure(
        go.Bar(
            x=table["probability"].tolist(),
            y=table["token"].tolist(),
            orientation="h",
            text=[f"{p:.1%}" for p in table["probability"]],
            textposition="auto",
        )
    )
    figure.update_layout(
        title=title,
        xaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        yaxis={"autorange": "reversed", "type": "category"},
        height=80 + 28 * len(table),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure


def _compact(figure, height, title=""):
    figure.update_layout(
        title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}
    )
    return figure


def vector_heatmap(vectors, labels, title=""):
    """One row of coloured cells per vector, coloured by value around 0.

    Args:
        vectors: `(n, dim)` array (rows may be padded with NaN).
        labels: n row labels.
    """
    figure = go.Figure(
        go.Heatmap(
            z=np.asarray(vectors, dtype=float).tolist(),
            y=list(labels),
            colorscale="RdBu",
            zmid=0,
            colorbar={"thickness": 10},
        )
    )
    figure.update_xaxes(title="dimension")
    figure.update_yaxes(type="category", autorange="reversed")
    return _compact(figure, 60 + 26 * max(len(labels), 2), title)


def value_histogram(values, title=""):
    """Histogram of the entries of one vector."""
    figure = go.Figure(go.Histogram(x=np.asarray(values, dtype=float).ravel().tolist(), nbinsx=40))
    figure.update_xaxes(title="value")
    figure.update_yaxes(title="count")
    return _compact(figure, 220, title)


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
    return _compact(figure, 120 + 26 * len(tokens), title)


def paired_probability_bars(tokens, first, second, names, title="", log_scale=False):
    """Two probabilities per token as grouped horizontal bars.

    Args:
        tokens: category labels, top first.
        first, second: probabilities per token.
        names: legend names of the two series.
        log_scale: a logarithmic probability axis, for series of very
            different sizes.
    """
    figure = go.Figure([
        go.Bar(name=names[0], y=list(tokens), x=np.asarray(first, dtype=float).tolist(),
               orientation="h"),
        go.Bar(name=names[1], y=list(tokens), x=np.asarray(second, dtype=float).tolist(),
               orientation="h"),
    ])
    figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15})
    if log_scale:
        figure.update_xaxes(title="probability (log scale)", type="log", exponentformat="power")
    else:
        figure.update_xaxes(title="probability", tickformat=".0%")
    figure.update_yaxes(type="category", autorange="reversed")
    return _compact(figure, 120 + 34 * len(tokens), title)


def scatter_2d(points, title="", x_title="PC 1", y_title="PC 2"):
    """Labelled points, one trace per group.

    Args:
        points: DataFrame with `x`, `y`, `label` (drawn next to the point),
            `group` (legend entry / colour) and `hover` columns.
    """
    figure = go.Figure([
        go.Scatter(
            x=rows["x"].tolist(), y=rows["y"].tolist(), name=str(group),
            mode="markers+text", text=rows["label"].tolist(), textposition="top center",
            hovertext=rows["hover"].tolist(), hoverinfo="text", marker={"size": 10},
        )
        for group, rows in points.groupby("group", sort=False)
    ])
    figure.update_xaxes(title=x_title)
    figure.update_yaxes(title=y_title)
    return _compact(figure, 480, title)


def matrix_heatmap(matrix, labels, title="", zmid=None):
    """A square heatmap with the same labels on both axes."""
    figure = go.Figure(
        go.Heatmap(
            z=np.asarray(matrix, dtype=float).tolist(), x=list(labels), y=list(labels),
            colorscale="Viridis", zmid=zmid, colorbar={"thickness": 10},
        )
    )
    figure.update_xaxes(type="category")
    figure.update_yaxes(type="category", autorange="reversed")
    return _compact(figure, 140 + 30 * len(labels), title)


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
    return _compact(figure, 460, title)


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
    return _compact(figure, 360, title)



CORRUPTION_COLOURS = {"": "#e8e8e8", "mask": "#4c78a8", "random": "#f58518", "keep": "#54a24b"}


def corruption_strip(original, shown, actions, title=""):
    """A sentence before and after MLM corruption, one coloured cell per token.

    Args:
        original: token strings of the text.
        shown: token strings the model reads (same length).
        actions: per token "" (not selected), "mask", "random" or "keep".
    """
    codes = [list(CORRUPTION_COLOURS).index(a) for a in actions]
    # A stepped colour scale: code k (of 4) fills the band [k/4, (k+1)/4].
    steps = []
    for code, colour in enumerate(CORRUPTION_COLOURS.values()):
        steps += [(code / 4, colour), ((code + 1) / 4, colour)]
    state = [a or "not selected" for a in actions]
    figure = go.Figure(
        go.Heatmap(
            z=[codes, codes], x=list(range(len(codes))), y=["original", "model reads"],
            text=[list(original), list(shown)], texttemplate="%{text}", textfont={"size": 11},
            customdata=[state, state], hovertemplate="%{y}: %{text} (%{customdata})<extra></extra>",
            colorscale=steps, zmin=-0.5, zmax=3.5, showscale=False, xgap=2, ygap=2,
        )
    )
    for action in ("mask", "random", "keep"):  # legend entries only
        figure.add_scatter(x=[None], y=[None], mode="markers", name=action,
                           marker={"symbol": "square", "size": 12,
                                   "color": CORRUPTION_COLOURS[action]})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(legend={"orientation": "h", "y": -0.1}, plot_bgcolor="white")
    return _compact(figure, 230, title)


def surprise_strip(tokens, surprise, title=""):
    """One cell per token coloured by its surprise −log p (nats).

    Args:
        tokens: the scored token strings.
        surprise: `(n,)` −log p of each token.
    """
    surprise = np.asarray(surprise, dtype=float)
    figure = go.Figure(
        go.Heatmap(
            z=[surprise.tolist()], x=list(range(len(tokens))), y=["surprise"],
            text=[list(tokens)], texttemplate="%{text}", textfont={"size": 11},
            hovertemplate="%{text}: %{z:.2f} nats<extra></extra>",
            colorscale="Reds", zmin=0, colorbar={"thickness": 10, "title": "nats"},
            xgap=2,
        )
    )
    figure.update_xaxes(tickmode="array", tickvals=list(range(len(tokens))),
                        ticktext=[f"{s:.1f}" for s in surprise])
    figure.update_yaxes(visible=False)
    return _compact(figure, 150, title)
