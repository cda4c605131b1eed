"""Probability bars: the top candidates of one distribution, or of two side by side."""

import numpy as np
import plotly.graph_objects as go

from mlmviz.figures.layout import compact


def probability_bars(table, title=""):
    """Horizontal bars of `table.probability` per `table.token`, best on top.

    The axis runs from 0 to a little past the largest bar (so a top answer
    of 9 % fills the chart as one of 90 % does), each bar printed with its
    value.

    Args:
        table: DataFrame with `token` and `probability` columns, sorted most
            probable first.
        title: figure title.
    """
    probabilities = [float(p) for p in table["probability"]]
    figure = go.Figure(
        go.Bar(
            x=probabilities,
            y=table["token"].tolist(),
            orientation="h",
            text=[f"{p:.1%}" for p in probabilities],
            textposition="outside",
            cliponaxis=False,
        )
    )
    figure.update_layout(
        title=title,
        xaxis={"title": "probability", "range": [0, fitted_maximum(probabilities)],
               "tickformat": ".1~%"},  # 0.5 % steps keep their digit
        yaxis={"autorange": "reversed", "type": "category"},
        height=80 + 28 * len(table),
        margin={"l": 10, "r": 45, "t": 40, "b": 10},  # r: room for the last printed value
    )
    return figure


def fitted_maximum(probabilities):
    """The axis end for bars of `probabilities`: 25 % past the largest, at most 1.

    The room past the bar holds its printed value.
    """
    largest = max(probabilities, default=0.0)
    if not largest > 0:  # also NaN
        return 1.0
    return min(1.0, largest * 1.25)


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
        figure.update_xaxes(title="probability", tickformat=".1~%")
    figure.update_yaxes(type="category", autorange="reversed")
    return compact(figure, 120 + 34 * len(tokens), title)
