"""Vectors drawn as they are: rows of cells, a histogram, 2-D points, a similarity matrix."""

import numpy as np
import plotly.graph_objects as go

from mlmviz.figures.layout import compact


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
    return compact(figure, 60 + 26 * max(len(labels), 2), title)


def value_histogram(values, title=""):
    """Histogram of the entries of one vector."""
    figure = go.Figure(go.Histogram(x=np.asarray(values, dtype=float).ravel().tolist(), nbinsx=40))
    figure.update_xaxes(title="value")
    figure.update_yaxes(title="count")
    return compact(figure, 220, title)


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
    return compact(figure, 480, title)


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
    return compact(figure, 140 + 30 * len(labels), title)
