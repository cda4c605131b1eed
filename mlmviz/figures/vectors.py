"""Vectors drawn as they are: rows of cells, a histogram, 1-D and 2-D points, a similarity
matrix."""

import html

import numpy as np
import plotly.colors

from mlmviz.figures.layout import figure_of, padded_range

HANDFUL = 6  # more points than this: their labels show on hover only
ROW = 28  # px per heatmap row
BELOW = 56  # px under a heatmap: tick labels, the gap and the axis title
TITLE_STANDOFF = 8  # px between the tick labels and the axis title


def vector_heatmap(vectors, labels, title=""):
    """One row of coloured cells per vector, coloured by value around 0.

    Args:
        vectors: `(n, dim)` array (rows may be padded with NaN).
        labels: n row labels, plain text (shown as typed), unique (equal
            labels would share one row).

    The bottom margin is fixed at `BELOW` px, room for the tick labels and
    the axis title under them even with one row; the plot is at least two
    rows tall, so that the colour bar's few ticks fit beside it.
    """
    rows = max(len(labels), 2)
    trace = {"type": "heatmap", "z": np.asarray(vectors, dtype=float).tolist(),
             "y": [html.escape(str(label)) for label in labels], "colorscale": "RdBu",
             "zmid": 0, "colorbar": {"thickness": 10, "nticks": 3 if rows < 4 else 6}}
    layout = {"xaxis": {"title": {"text": "dimension", "standoff": TITLE_STANDOFF}},
              "yaxis": {"type": "category", "autorange": "reversed"}}
    return figure_of([trace], layout, 40 + BELOW + ROW * rows, title, margin={"b": BELOW})


def value_histogram(values, title=""):
    """Histogram of the entries of one vector."""
    trace = {"type": "histogram", "x": np.asarray(values, dtype=float).ravel().tolist(),
             "nbinsx": 40}
    layout = {"xaxis": {"title": {"text": "value"}}, "yaxis": {"title": {"text": "count"}}}
    return figure_of([trace], layout, 220, title)


def scatter_2d(points, title="", x_title="PC 1", y_title="PC 2"):
    """Labelled points, one trace per group.

    Up to `HANDFUL` points each carry their label, placed on the side away
    from the nearest other point (and inwards at the plot's left and right
    edges, with room around the points for them); past that, labels show
    on hover only, where they cannot overlap.

    Args:
        points: DataFrame with `x`, `y`, `label` (short, next to the point),
            `group` (legend entry / colour) and `hover` columns; labels and
            hovers are plain text, a newline in a hover breaks its line.
    """
    points = points.assign(position=_text_positions(points["x"], points["y"]))
    xaxis, yaxis = {"title": {"text": x_title}}, {"title": {"text": y_title}}
    if 0 < len(points) <= HANDFUL:
        xaxis["range"] = padded_range(points["x"], 0.1)
        yaxis["range"] = padded_range(points["y"], 0.12)
    return figure_of(_labelled_points(points), {"xaxis": xaxis, "yaxis": yaxis}, 480, title)


def scatter_1d(points, title="", x_title="PC 1"):
    """Labelled points on one axis, one trace per group: for vectors that vary
    along a single direction, where a second axis would be noise.

    Up to `HANDFUL` labels alternate above and below the points (in the
    order of `x`, inwards at the plot's left and right edges); past that,
    labels show on hover only.

    Args:
        points: DataFrame with `x`, `label`, `group` and `hover` columns, as
            for `scatter_2d`.
    """
    x = np.asarray(points["x"], dtype=float)  # (n,)
    order = np.argsort(x, kind="stable")  # (n,)
    vertical = np.empty(len(points), dtype=object)
    vertical[order] = ["top" if n % 2 == 0 else "bottom" for n in range(len(points))]
    horizontal = [side.split()[1] for side in _text_positions(x, np.zeros_like(x))]
    sides = [f"{v} {h}" for v, h in zip(vertical, horizontal)]
    xaxis = {"title": {"text": x_title}, "zeroline": False}
    if len(points):
        xaxis["range"] = padded_range(x, 0.1)
    layout = {"xaxis": xaxis, "yaxis": {"visible": False, "range": [-1, 1]}}
    return figure_of(_labelled_points(points.assign(y=0.0, position=sides)), layout, 240, title)


def _labelled_points(points):
    """The traces of a scatter of `points` (`x`, `y`, `label`, `group`, `hover`, `position`),
    one trace per group, labels drawn only for a handful of points. Each group
    has a marker of its own: one of 24 distinct colours, and past 24 groups
    another shape as well."""
    labelled = len(points) <= HANDFUL
    return [
        {
            "type": "scatter", "x": rows["x"].tolist(), "y": rows["y"].tolist(),
            "name": str(group), "mode": "markers+text" if labelled else "markers",
            "text": [html.escape(str(label)) for label in rows["label"]],
            "textposition": rows["position"].tolist(), "cliponaxis": False,
            "hovertext": [html.escape(str(hover)).replace("\n", "<br>") for hover in rows["hover"]],
            "hoverinfo": "text", "marker": group_marker(index),
        }
        for index, (group, rows) in enumerate(points.groupby("group", sort=False))
    ]


GROUP_COLOURS = plotly.colors.qualitative.Dark24
GROUP_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")


def group_marker(index):
    """The marker of the `index`-th group: no two of the first 144 alike."""
    colour = GROUP_COLOURS[index % len(GROUP_COLOURS)]
    symbol = GROUP_SYMBOLS[index // len(GROUP_COLOURS) % len(GROUP_SYMBOLS)]
    return {"size": 10, "color": colour, "symbol": symbol}


def _text_positions(x, y):
    """Where each point's label goes: above or below, away from the nearest
    other point; to the left near the right edge, to the right near the left."""
    points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])  # (n, 2)
    if len(points) == 0:
        return []
    low, high = points.min(axis=0), points.max(axis=0)  # (2,)
    with np.errstate(over="ignore", invalid="ignore"):
        span = high - low
        scaled = np.nan_to_num((points - low) / np.where(span > 0, span, 1.0))  # (n, 2) in [0, 1]
    positions = []
    for n, (u, v) in enumerate(scaled):
        others = np.delete(scaled, n, axis=0)  # (n - 1, 2)
        nearest = others[np.argmin(((others - (u, v)) ** 2).sum(axis=1))] if len(others) else (u, v)
        vertical = "bottom" if nearest[1] > v else "top"
        horizontal = "left" if u > 0.85 else "right" if u < 0.15 else "center"
        positions.append(f"{vertical} {horizontal}")
    return positions


def matrix_heatmap(matrix, labels, title="", zmid=None):
    """A square heatmap with the same labels on both axes."""
    trace = {"type": "heatmap", "z": np.asarray(matrix, dtype=float).tolist(),
             "x": list(labels), "y": list(labels), "colorscale": "Viridis", "zmid": zmid,
             "colorbar": {"thickness": 10}}
    layout = {"xaxis": {"type": "category"},
              "yaxis": {"type": "category", "autorange": "reversed"}}
    return figure_of([trace], layout, 140 + 30 * len(labels), title)
