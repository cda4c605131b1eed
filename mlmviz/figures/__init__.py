"""Pure plotly figure builders: arrays or DataFrames in, `go.Figure` out.

`probabilities` (bars of candidates), `vectors` (cells, histograms, 2-D
points, similarity matrices), `logits` (context + bias, row norms, the
lens across layers) and `strips` (one cell per token); `layout` holds the
sizing they share.
"""
