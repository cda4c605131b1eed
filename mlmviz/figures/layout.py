"""What every figure shares: its sizing, and the large style for a projector."""

import math

import numpy as np
import plotly.graph_objects as go

PROJECTOR_INK = "#111111"
PROJECTOR_TICKS = 18  # px: legible from the back of a room at 1280x720
PROJECTOR_TITLE = 24


def compact(figure, height, title=""):
    """Set `figure`'s height, title and the tight margins every figure uses; return it."""
    figure.update_layout(
        title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}
    )
    return figure


def figure_of(data, layout, height, title="", margin=None):
    """One `go.Figure` from plain trace and layout dicts, with `compact`'s sizing.

    Plotly checks every property once here; each `update_layout`,
    `update_xaxes`, `add_shape` or `make_subplots` call checks the whole
    figure again (Attention's three figures took 160 ms built that way).

    Args:
        data: trace dicts (each with its `type`).
        layout: layout dict; its `margin` entries (`margin`) override the
            compact margins.
    """
    margin = {"l": 10, "r": 10, "t": 40, "b": 10, **(margin or {})}
    return go.Figure({"data": data, "layout": {**layout, "title": {"text": title},
                                               "height": height, "margin": margin}})


def padded_range(values, fraction):
    """`[low, high]` of `values` widened by `fraction` of their span on each side
    (a span of 1 when the values are all equal, or too far apart for a float)."""
    values = np.asarray(values, dtype=float)  # Python's min and max take ms on 30,000 numbers
    low, high = float(values.min()), float(values.max())
    span = high - low if math.isfinite(high - low) and high > low else 1.0
    return [low - fraction * span, high + fraction * span]


def for_projector(figure):
    """`figure` restyled for presentation: dark labels and printed values of
    18 px, titles of 24 px.

    Heights grow with the labels (by 1.6, a little more than 18 / 12, so
    that every row of a heatmap keeps its label), margins leave space for
    the larger title. Returns the same figure.
    """
    ink = {"size": PROJECTOR_TICKS, "color": PROJECTOR_INK}
    figure.update_layout(
        font=ink, legend={"font": ink},
        title={"font": {"size": PROJECTOR_TITLE, "color": PROJECTOR_INK}},
        height=round((figure.layout.height or 400) * 1.6),
        margin={"t": 70},
    )
    # Tick labels take the room they need (rotated ones were cut at the bottom).
    axes = {"tickfont": ink, "title": {"font": ink}, "automargin": True}
    figure.update_xaxes(**axes)
    figure.update_yaxes(**axes)
    for kind in ("bar", "heatmap", "scatter"):  # printed values and labels at the ticks' size
        figure.update_traces(textfont={"size": PROJECTOR_TICKS}, selector={"type": kind})
    return figure
