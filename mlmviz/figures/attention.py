"""Attention weights drawn as heat cells: the mask's rows per layer and head, one full matrix.

Every cell is the model's own softmax weight, printed as a whole percentage
while the columns are few (the hover holds it to 0.1 %). Keys a caller leaves out (e.g.
`[CLS]` and `[SEP]`) are simply not drawn: the weights shown are not
renormalised, so a row drawn without them sums to less than 1.
"""

import html

import numpy as np
from mlmviz.figures.layout import figure_of

ROW = 26  # px per heat strip (12 px labels with room to spare)
DENSE_ROW = 18  # px per strip past DENSE strips (BERT-base: 144), still one label each
DENSE = 48
MATRIX_MOST = 1200  # px of cells at most: a long text's matrix gets thinner rows
MOST_LABELS = 40  # tokens named per axis; past that every k-th (the hover names each)
BELOW = 70  # px under the cells: the key tokens, turned when they are many
LEAST_ROWS = 4  # a figure is at least this many rows tall: room for the colour bar
PRINTED = 16  # columns: up to this many, each cell prints its weight
NOTES_WIDTH = 0.16  # of the panels' width: the column of per-layer notes
GAP = 0.01  # of the figure's width, between the cells and the notes
COLOURS = "Blues"


def mask_rows(weights, tokens, query, keys=None, layer_notes=None, title="", notes_title="",
              zmax=None):
    """What one token (the mask) attends to: a heat strip per layer and head.

    Rows are "layer l · head h" (1-based, layer 1 at the top, its heads in
    order), columns the key tokens in text order, each cell the weight the
    query gives that key. A line separates the layers.

    Args:
        weights: `(layers, heads, seq, seq)` attention weights
            (`mlmviz.analysis.attention.attention`'s output).
        tokens: the `seq` token strings, plain text (shown as typed).
        query: the position whose attention is drawn.
        keys: the key positions drawn as columns (default: all), in order.
        layer_notes: optional plain-text note per layer, written right of
            that layer's first row (e.g. the logit lens rank there).
        title: figure title.
        notes_title: what the notes are, written under them (plain text).
        zmax: the weight drawn darkest (default: the largest shown).
    """
    weights = np.asarray(weights, dtype=float)
    layers, heads = weights.shape[:2]
    keys = list(range(weights.shape[-1])) if keys is None else [int(k) for k in keys]
    rows = weights[:, :, query][:, :, keys].reshape(layers * heads, len(keys))  # (layers·heads, keys)
    labels = [f"layer {l} · head {h}" for l in range(1, layers + 1) for h in range(1, heads + 1)]
    return _strips(rows, labels, heads, tokens, keys, layer_notes, title, notes_title, zmax)


def average_rows(weights, tokens, query, keys=None, layer_notes=None, title="", notes_title=""):
    """What the query attends to per layer, averaged over the layer's heads.

    Arguments as `mask_rows`; one row per layer ("layer l").
    """
    mean = np.asarray(weights, dtype=float)[:, :, query].mean(axis=1)  # (layers, seq)
    keys = list(range(mean.shape[-1])) if keys is None else [int(k) for k in keys]
    labels = [f"layer {l}" for l in range(1, len(mean) + 1)]
    return _strips(mean[:, keys], labels, 1, tokens, keys, layer_notes, title, notes_title)


def attention_matrix(matrix, tokens, positions=None, query=None, title=""):
    """One head's full attention: a row per query token, a column per key token.

    Args:
        matrix: `(seq, seq)` weights of one layer and head, `[query, key]`.
        tokens: the `seq` token strings, plain text.
        positions: the positions drawn, as rows and as columns (default all).
        query: a position whose row is outlined (the mask), or None.
        title: figure title.
    """
    positions = list(range(len(tokens))) if positions is None else [int(p) for p in positions]
    cells = np.asarray(matrix, dtype=float)[np.ix_(positions, positions)]  # (shown, shown)
    names = _names(tokens, positions)
    ticks = _ticks(tokens, positions, names)
    layout = {
        "xaxis": {"title": {"text": "key: the token read", "standoff": 8}, **ticks},
        "yaxis": {"title": {"text": "query: the token reading"}, "autorange": "reversed",
                  **ticks},
        "plot_bgcolor": "white",
    }
    if query in positions:
        row = positions.index(query)
        layout["shapes"] = [{"type": "rect", "x0": -0.5, "x1": len(positions) - 0.5,
                             "y0": row - 0.5, "y1": row + 0.5, "xref": "x", "yref": "y",
                             "line": {"color": "crimson", "width": 3}}]
    height = min(ROW * max(len(positions), LEAST_ROWS), MATRIX_MOST)
    return figure_of([_heatmap(cells, names, names, "%{y} → %{x}")], layout,
                     40 + BELOW + height, title, margin={"b": BELOW})


def _strips(rows, labels, group, tokens, keys, layer_notes, title, notes_title, zmax=None):
    """Heat strips `rows` `(n, len(keys))` labelled `labels`, a line every `group` rows,
    and `layer_notes` (one per group) in a narrow column at the right, over `notes_title`.

    Two panels side by side on one y axis, laid out as plotly's `make_subplots`
    (1 row, 2 columns, shared y, 0.01 apart) lays them out."""
    names = _names(tokens, keys)
    split = (1 - GAP) * (1 - NOTES_WIDTH)  # where the cells end, of the figure's width
    data = [_heatmap(rows, names, labels, "%{y}, key %{x}", zmax)]
    if layer_notes is not None:
        data.append({
            "type": "scatter", "x": [0] * len(layer_notes), "y": labels[::group],
            "text": [html.escape(str(note)) for note in layer_notes], "mode": "text",
            "textposition": "middle right", "hoverinfo": "skip", "showlegend": False,
            "xaxis": "x2", "yaxis": "y2",
        })
    # The notes' title over two lines, within its narrow column ("rank of" / "“game”").
    title_lines = "<br>".join(html.escape(notes_title).rsplit(" ", 1))
    layout = {
        "xaxis": {"domain": [0, split], "anchor": "y", **_ticks(tokens, keys, names)},
        "yaxis": {"domain": [0, 1], "anchor": "x", "type": "category", "autorange": "reversed"},
        "xaxis2": {"domain": [split + GAP, 1], "anchor": "y2", "showticklabels": False,
                   "showgrid": False, "zeroline": False,
                   "title": {"text": title_lines, "standoff": 8},
                   **({"range": [0, 1]} if layer_notes is not None else {})},
        "yaxis2": {"domain": [0, 1], "anchor": "x2", "matches": "y", "showticklabels": False,
                   "showgrid": False},
        "shapes": [{"type": "line", "x0": -0.5, "x1": len(keys) - 0.5, "y0": start - 0.5,
                    "y1": start - 0.5, "xref": "x", "yref": "y",
                    "line": {"color": "#333", "width": 2}}
                   for start in range(group, len(labels), group)],
        "plot_bgcolor": "white",
    }
    row = ROW if len(labels) <= DENSE else DENSE_ROW
    return figure_of(data, layout, 40 + BELOW + row * max(len(labels), LEAST_ROWS), title,
                     margin={"b": BELOW})


def _names(tokens, positions):
    """The category of each of `positions`: "token (position)", unique, escaped for plotly."""
    return [html.escape(f"{tokens[p]} ({p})") for p in positions]


def _ticks(tokens, positions, names):
    """Axis settings naming the columns (categories `names`) by their tokens, every k-th
    of them past `MOST_LABELS` (k the smallest that keeps at most that many)."""
    step = max(1, -(-len(positions) // MOST_LABELS))
    # Upright when they fit, else slanted up to 45°: never turned on their side.
    return {"type": "category", "tickmode": "array", "tickvals": names[::step],
            "ticktext": [html.escape(str(tokens[p])) for p in positions[::step]],
            "autotickangles": [0, 30, 45]}


def _heatmap(cells, x, y, where, zmax=None):
    """Heat cells 0 pale to `zmax` (default: the largest weight shown) dark, each printed
    as a whole percentage when the columns are few; the hover says `where` (a template)
    and the weight to 0.1 %. A trace dict."""
    cells = np.asarray(cells, dtype=float)
    finite = cells[np.isfinite(cells)]
    largest = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    printed = len(x) <= PRINTED
    trace = {
        "type": "heatmap", "z": cells.tolist(), "x": x, "y": y, "colorscale": COLOURS,
        "zmin": 0, "zmax": zmax or largest,
        "hovertemplate": where + ": %{z:.1%}<extra></extra>",
        "colorbar": {"thickness": 10, "title": {"text": "share"}, "tickformat": ".0%",
                     "nticks": 3 if len(y) < 5 else 6},
        "texttemplate": "%{text}" if printed else "", "textfont": {"size": 12},
        "xgap": 1, "ygap": 1,
    }
    if printed:
        trace["text"] = [[_percent(v) for v in row] for row in cells]
    return trace


def _percent(weight):
    """A weight as a whole percentage without the sign ("12"); "" for NaN."""
    return f"{weight * 100:.0f}" if np.isfinite(weight) else ""
