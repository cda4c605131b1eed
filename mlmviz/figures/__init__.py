"""Pure plotly figure builders: arrays or DataFrames in, `go.Figure` out.

`probabilities` (bars of candidates), `vectors` (cells, histograms, 2-D
points, similarity matrices), `logits` (context + bias, row norms, the
lens across layers), `strips` (one cell per token) and `attention` (the
mask's attention per layer and head, one head's matrix); `layout` holds the
sizing they share.
"""
