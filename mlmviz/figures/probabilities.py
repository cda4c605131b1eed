"""Probability bars: the top candidates of one distribution, or of two side by side."""

import numpy as np
import plotly.graph_objects as go

from mlmviz.figures.layout import compact


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
    return compact(figure, 120 + 34 * len(tokens), title)
