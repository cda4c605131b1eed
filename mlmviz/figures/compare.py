"""Two models side by side, layer by layer: one word's course through both lenses,
and what one mask attends to in each."""

import html
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mlmviz.figures.attention import mask_rows
from mlmviz.figures.layout import compact, padded_range

COLOURS = {"A": "#636efa", "B": "#ef553b"}  # plotly's first two: the paired bars' colours
HEIGHT = 520  # px: two rows of plots that each keep ~200 px


def lens_columns(table, names, word, title=""):
    """The probability (top row) and rank (bottom row) of `word` per layer,
    model A in the left column and model B in the right one.

    Each column has its own layer axis, so models of different depths each
    show all their layers; the rows share their y axis, so heights compare
    across the two models. Ranks run on a log axis with 1 at the top.

    Args:
        table: `compare.compare_lens` output (`model` "A" / "B", `layer`,
            `depth`, `probability`, `rank`).
        names: `{"A": label, "B": label}`, the columns' axis titles.
        word: the word followed, for the axis titles.
    """
    figure = make_subplots(rows=2, cols=2, shared_yaxes=True, vertical_spacing=0.12,
                           horizontal_spacing=0.05)
    shown = html.escape(word)
    for column, model in enumerate("AB", start=1):
        rows = table[table["model"] == model].sort_values("depth")
        layers = rows["layer"].tolist()
        probabilities = [float(p) for p in rows["probability"]]
        ranks = [int(r) for r in rows["rank"]]
        line = {"color": COLOURS[model], "width": 3}
        figure.add_trace(go.Scatter(
            x=layers, y=probabilities, mode="lines+markers", line=line, marker={"size": 10},
            name=names[model], hovertemplate="%{x}: P = %{y:.2%}<extra>" + model + "</extra>",
        ), row=1, col=column)
        figure.add_trace(go.Scatter(
            x=layers, y=ranks, mode="lines+markers", line=line, marker={"size": 10},
            name=names[model], showlegend=False,
            hovertemplate="%{x}: rank %{y}<extra>" + model + "</extra>",
        ), row=2, col=column)
        count = len(layers) - 1
        # half a layer of room at each end: the end labels stay clear of the other column's
        room = {"type": "category", "range": [-0.5, len(layers) - 0.5]}
        figure.update_xaxes(row=1, col=column, showticklabels=False, **room)
        figure.update_xaxes(
            row=2, col=column, **room,
            title=f"{html.escape(names[model])}: {count} layer{'s' * (count != 1)}",
        )
    _probability_axis(figure, table["probability"], shown)
    _rank_axis(figure, table["rank"])
    figure.update_layout(showlegend=False)
    return compact(figure, HEIGHT, title)


def _probability_axis(figure, probabilities, word):
    """One linear axis from 0 for both columns, to a little past the highest point."""
    high = padded_range([0.0, *probabilities], 0.1)[1]
    # two significant digits: ticks of 0.05 % and 0.1 % stay apart, as 5 % and 10 % do
    figure.update_yaxes(title=f"P({word})", tickformat=".2~p", range=[0, min(high, 1.0)],
                        row=1, col=1)
    figure.update_yaxes(range=[0, min(high, 1.0)], row=1, col=2)


def _rank_axis(figure, ranks):
    """A log axis, rank 1 at the top, ticks at the powers of ten."""
    worst = max(int(r) for r in ranks)
    decades = int(math.log10(worst))
    axis = {"type": "log", "range": [math.log10(worst) + 0.3, -0.1],
            "tickvals": [10**i for i in range(decades + 1)]}
    figure.update_yaxes(title="rank (1 = top)", row=2, col=1, **axis)
    figure.update_yaxes(row=2, col=2, **axis)


def attention_pair(rows, tokens, keys, names, notes=None, notes_title=""):
    """What one mask attends to in model A and in model B: two `mask_rows`
    figures, one per model, on one colour scale (the same shade is the
    same weight in both).

    Args:
        rows: `{"A": weights, "B": weights}`, each `(layers, heads, seq)`:
            the mask's attention row per layer and head
            (`compare.compare_attention`'s `a` and `b`).
        tokens: the `seq` token strings; keys: the positions drawn.
        names: `{"A": label, "B": label}`, in the titles.
        notes: optional `{"A": [...], "B": [...]}`, one note per layer.
        notes_title: what the notes are.

    Returns:
        `[figure A, figure B]`.
    """
    keys = [int(k) for k in keys]
    largest = max(float(np.max(np.asarray(rows[model])[:, :, keys], initial=0.0))
                  for model in "AB")
    figures = []
    for model in "AB":
        weights = np.asarray(rows[model])[:, :, np.newaxis]  # (layers, heads, 1, seq): one query
        figure = mask_rows(weights, tokens, 0, keys=keys,
                           layer_notes=None if notes is None else notes[model],
                           title=f"{names[model]}: what the mask reads",
                           notes_title=notes_title if notes is not None else "")
        figure.update_traces(zmax=largest or 1.0, selector={"type": "heatmap"})
        figures.append(figure)
    return figures
