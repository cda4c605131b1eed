"""One coloured cell per token of a sentence: the corruption it got, its surprise."""

import numpy as np

from mlmviz.figures.layout import figure_of

CORRUPTION_COLOURS = {"": "#e8e8e8", "mask": "#4c78a8", "random": "#f58518", "keep": "#54a24b"}


def corruption_strip(original, shown, actions, title="", first=0):
    """A sentence before and after MLM corruption, one coloured cell per token.

    Args:
        original: token strings of the text (or of a window of it).
        shown: token strings the model reads (same length).
        actions: per token "" (not selected), "mask", "random" or "keep".
        first: the position of the first token (a window's start), for the hover.
    """
    codes = [list(CORRUPTION_COLOURS).index(a) for a in actions]
    # A stepped colour scale: code k (of 4) fills the band [k/4, (k+1)/4].
    steps = []
    for code, colour in enumerate(CORRUPTION_COLOURS.values()):
        steps += [(code / 4, colour), ((code + 1) / 4, colour)]
    state = [a or "not selected" for a in actions]
    data = [{
        "type": "heatmap", "z": [codes, codes], "x": list(range(first, first + len(codes))),
        "y": ["original", "model reads"],
        "text": [list(original), list(shown)], "texttemplate": "%{text}",
        "textfont": {"size": 11}, "customdata": [state, state],
        "hovertemplate": "position %{x}, %{y}: %{text} (%{customdata})<extra></extra>",
        "colorscale": steps, "zmin": -0.5, "zmax": 3.5, "showscale": False,
        "xgap": 2, "ygap": 2,
    }]
    data += [  # legend entries only
        {"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": action,
         "marker": {"symbol": "square", "size": 12, "color": CORRUPTION_COLOURS[action]}}
        for action in ("mask", "random", "keep")
    ]
    layout = {"xaxis": {"visible": False}, "yaxis": {"autorange": "reversed"},
              "legend": {"orientation": "h", "y": -0.1}, "plot_bgcolor": "white"}
    return figure_of(data, layout, 230, title)


def surprise_strip(tokens, surprise, title=""):
    """One cell per token coloured by its surprise −log p (nats).

    Args:
        tokens: the scored token strings.
        surprise: `(n,)` −log p of each token.
    """
    surprise = np.asarray(surprise, dtype=float)
    finite = surprise[np.isfinite(surprise)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    # The strip is one row high: its colour bar names its two ends only (the
    # values are printed under the cells), so the ticks are not squashed.
    trace = {
        "type": "heatmap", "z": [surprise.tolist()], "x": list(range(len(tokens))),
        "y": ["surprise"], "text": [list(tokens)], "texttemplate": "%{text}",
        "textfont": {"size": 11}, "hovertemplate": "%{text}: %{z:.2f} nats<extra></extra>",
        "colorscale": "Reds", "zmin": 0, "zmax": top,
        "colorbar": {"thickness": 10, "title": {"text": "nats"}, "tickvals": [0, top],
                     "ticktext": ["0", f"{top:.1f}"]},
        "xgap": 2,
    }
    layout = {"xaxis": {"tickmode": "array", "tickvals": list(range(len(tokens))),
                        "ticktext": [f"{s:.1f}" for s in surprise]},
              "yaxis": {"visible": False}}
    return figure_of([trace], layout, 150, title)
