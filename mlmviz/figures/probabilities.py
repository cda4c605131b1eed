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
    # One constructor call: plotly validates each property once (update_layout
    # afterwards costs ~4x the whole build, on every rerun of the page).
    return go.Figure({
        "data": [{
            "type": "bar", "x": probabilities, "y": table["token"].tolist(), "orientation": "h",
            "text": [f"{p:.1%}" for p in probabilities], "textposition": "outside",
            "cliponaxis": False,
        }],
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": "probability"},
                      "range": [0, fitted_maximum(probabilities)],
                      "tickformat": ".1~%"},  # 0.5 % steps keep their digit
            "yaxis": {"autorange": "reversed", "type": "category"},
            "height": 80 + 28 * len(table),
            "margin": {"l": 10, "r": 45, "t": 40, "b": 10},  # r: room for the last printed value
        },
    })


def fitted_maximum(probabilities):
    """The axis end for bars of `probabilities`: 25 % past the largest, at most 1.

    The room past the bar holds its printed value.
    """
    largest = max(probabilities, default=0.0)
    if not largest > 0:  # also NaN
        return 1.0
    return min(1.0, largest * 1.25)


def paired_probability_bars(tokens, first, second, names, title=""):
    """Two probabilities per token as grouped horizontal bars, each printed.

    The axis is linear, from 0 to a little past the largest bar, so bar
    lengths compare as the probabilities do; a bar too short to see still
    prints its value (`percent`).

    Args:
        tokens: category labels, top first.
        first, second: probabilities per token.
        names: legend names of the two series.
    """
    series = [np.asarray(values, dtype=float).tolist() for values in (first, second)]
    figure = go.Figure([
        go.Bar(name=name, y=list(tokens), x=values, orientation="h",
               text=[percent(p) for p in values], textposition="outside", cliponaxis=False)
        for name, values in zip(names, series)
    ])
    # No axis title: it would share the space under the ticks with the legend
    # (the ticks are percentages; the figure's title names the quantity).
    figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15})
    figure.update_xaxes(tickformat=".1~%", range=[0, fitted_maximum(series[0] + series[1])])
    figure.update_yaxes(type="category", autorange="reversed")
    compact(figure, 120 + 34 * len(tokens), title)
    figure.update_layout(margin={"r": 60})  # room for the last printed value
    return figure


def percent(probability):
    """`probability` as a percentage, one decimal from 1 % up, two significant
    digits below: "58.9%", "0.27%", "0.0046%"."""
    if not probability >= 0.01:  # also NaN
        return f"{probability * 100:.2g}%"
    return f"{probability:.1%}"
