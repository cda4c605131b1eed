"""Probability bars: the top candidates of one distribution, or of two side by side."""

import numpy as np

from mlmviz.figures.layout import figure_of


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
    trace = {
        "type": "bar", "x": probabilities, "y": table["token"].tolist(), "orientation": "h",
        "text": [f"{p:.1%}" for p in probabilities], "textposition": "outside",
        "cliponaxis": False,
    }
    layout = {
        "xaxis": {"title": {"text": "probability"},
                  "range": [0, fitted_maximum(probabilities)],
                  "tickformat": ".1~%"},  # 0.5 % steps keep their digit
        "yaxis": {"autorange": "reversed", "type": "category"},
    }
    # r: room for the last printed value
    return figure_of([trace], layout, 80 + 28 * len(table), title, margin={"r": 45})


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
    data = [
        {"type": "bar", "name": name, "y": list(tokens), "x": values, "orientation": "h",
         "text": [percent(p) for p in values], "textposition": "outside", "cliponaxis": False}
        for name, values in zip(names, series)
    ]
    # No axis title: it would share the space under the ticks with the legend
    # (the ticks are percentages; the figure's title names the quantity).
    layout = {
        "barmode": "group", "legend": {"orientation": "h", "y": -0.15},
        "xaxis": {"tickformat": ".1~%", "range": [0, fitted_maximum(series[0] + series[1])]},
        "yaxis": {"type": "category", "autorange": "reversed"},
    }
    # r: room for the last printed value
    return figure_of(data, layout, 120 + 34 * len(tokens), title, margin={"r": 60})


def percent(probability):
    """`probability` as a percentage, one decimal from 1 % up, two significant
    digits below: "58.9%", "0.27%", "0.0046%"."""
    if not probability >= 0.01:  # also NaN
        return f"{probability * 100:.2g}%"
    return f"{probability:.1%}"
