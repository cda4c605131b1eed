"""Two models side by side, layer by layer: one word's course through both lenses,
and what one mask attends to in each."""

import html
import math

import numpy as np

from mlmviz.figures.attention import mask_rows
from mlmviz.figures.layout import figure_of, padded_range

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
    shown = html.escape(word)
    data, layout = [], {"showlegend": False}
    # Two rows of two panels, as plotly's make_subplots lays them out (0.05
    # apart across, 0.12 down): the top row probability, the bottom row rank,
    # each row sharing its y axis.
    for column, model in enumerate("AB"):
        rows = table[table["model"] == model].sort_values("depth")
        layers = rows["layer"].tolist()
        top, bottom = column + 1, column + 3  # axis numbers: 1 2 over 3 4
        line = {"color": COLOURS[model], "width": 3}
        trace = {"type": "scatter", "x": layers, "mode": "lines+markers", "line": line,
                 "marker": {"size": 10}, "name": names[model]}
        data.append({**trace, "y": [float(p) for p in rows["probability"]],
                     "xaxis": _axis("x", top), "yaxis": _axis("y", top),
                     "hovertemplate": "%{x}: P = %{y:.2%}<extra>" + model + "</extra>"})
        data.append({**trace, "y": [int(r) for r in rows["rank"]], "showlegend": False,
                     "xaxis": _axis("x", bottom), "yaxis": _axis("y", bottom),
                     "hovertemplate": "%{x}: rank %{y}<extra>" + model + "</extra>"})
        count = len(layers) - 1
        across = [0.0, 0.475] if column == 0 else [0.525, 1.0]
        # half a layer of room at each end: the end labels stay clear of the other column's
        room = {"type": "category", "range": [-0.5, len(layers) - 0.5], "domain": across}
        layout[_axis("xaxis", top)] = {**room, "anchor": _axis("y", top),
                                       "showticklabels": False}
        layout[_axis("xaxis", bottom)] = {
            **room, "anchor": _axis("y", bottom),
            "title": {"text": f"{html.escape(names[model])}: {count} layer{'s' * (count != 1)}"}}
        shared = {"matches": "y", "showticklabels": False} if column else {}
        layout[_axis("yaxis", top)] = {**_probability_axis(table["probability"], shown, column),
                                       "anchor": _axis("x", top), "domain": [0.56, 1.0], **shared}
        shared = {"matches": "y3", "showticklabels": False} if column else {}
        layout[_axis("yaxis", bottom)] = {**_rank_axis(table["rank"], column),
                                          "anchor": _axis("x", bottom), "domain": [0.0, 0.44],
                                          **shared}
    return figure_of(data, layout, HEIGHT, title)


def _axis(name, number):
    """Plotly's name of axis `number`: "x", "x2" ... ("xaxis", "xaxis2" ... in a layout)."""
    return name if number == 1 else f"{name}{number}"


def _probability_axis(probabilities, word, column):
    """One linear axis from 0 for both columns, to a little past the highest point."""
    high = padded_range([0.0, *probabilities], 0.1)[1]
    # two significant digits: ticks of 0.05 % and 0.1 % stay apart, as 5 % and 10 % do
    titled = {"title": {"text": f"P({word})"}, "tickformat": ".2~p"} if column == 0 else {}
    return {**titled, "range": [0, min(high, 1.0)]}


def _rank_axis(ranks, column):
    """A log axis, rank 1 at the top, ticks at the powers of ten."""
    worst = max(int(r) for r in ranks)
    decades = int(math.log10(worst))
    titled = {"title": {"text": "rank (1 = top)"}} if column == 0 else {}
    return {**titled, "type": "log", "range": [math.log10(worst) + 0.3, -0.1],
            "tickvals": [10**i for i in range(decades + 1)]}


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
                           notes_title=notes_title if notes is not None else "",
                           zmax=largest or 1.0)
        figures.append(figure)
    return figures
