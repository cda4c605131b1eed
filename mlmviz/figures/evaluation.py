"""Corpus evaluation charts: the reliability diagram and accuracy by frequency band."""

import plotly.graph_objects as go

from mlmviz.figures.layout import compact

HEIGHT = 380


def reliability_diagram(bins, title="Reliability: confidence against accuracy"):
    """Accuracy per confidence bin as bars, the bins' mean confidence as dots, and
    the diagonal where a perfectly calibrated model's bars would end.

    Each bar prints the number of masks in its bin; an empty bin has no bar
    and prints "0".

    Args:
        bins: `evaluate`'s `reliability` list (dicts with `low`, `high`,
            `count`, `confidence`, `accuracy`; the last two None when empty).
    """
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    width = min((b["high"] - b["low"] for b in bins), default=0.1)
    filled = [b for b in bins if b["count"]]
    hover = [f"top-1 probability {b['low']:.0%}–{b['high']:.0%}<br>{b['count']:,} masks"
             + (f"<br>accuracy {b['accuracy']:.1%}<br>mean confidence {b['confidence']:.1%}"
                if b["count"] else "") for b in bins]
    figure = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                   line={"dash": "dash", "color": "#888888"}, hoverinfo="skip"),
        go.Bar(x=centres, y=[b["accuracy"] or 0.0 for b in bins], width=width * 0.92,
               name="accuracy", text=[f"{b['count']:,}" for b in bins],
               textposition="outside", cliponaxis=False, hovertext=hover,
               hoverinfo="text", marker={"color": "#1f77b4"}),
        go.Scatter(x=[(b["low"] + b["high"]) / 2 for b in filled],
                   y=[b["confidence"] for b in filled], mode="markers",
                   name="mean confidence", marker={"color": "#ff7f0e", "size": 10},
                   hoverinfo="skip"),
    ])
    figure.update_xaxes(title="top-1 probability (confidence)", range=[0, 1],
                        tickformat=".0%", dtick=0.1)
    figure.update_yaxes(title="accuracy (top-1 = label)", range=[0, 1.12], tickformat=".0%")
    figure.update_layout(legend={"orientation": "h", "y": -0.25}, bargap=0)
    compact(figure, HEIGHT + 40, title)
    figure.update_layout(margin={"b": 10, "t": 50})
    return figure


def band_label(low, high):
    """A frequency band's name: "ranks 1–100", "ranks 10,001+"."""
    return f"ranks {low:,}–{high:,}" if high is not None else f"ranks {low:,}+"


def frequency_bars(bands, title="Accuracy by the label's frequency"):
    """Top-1 accuracy per band of the label's frequency rank, each bar printed
    with its accuracy and its number of masks ("no masks" when empty).

    Args:
        bands: `evaluate`'s `by_frequency` list (dicts with `low_rank`,
            `high_rank` (None: no upper end), `count`, `accuracy`).
    """
    labels = [band_label(b["low_rank"], b["high_rank"]) for b in bands]
    text = [f"{b['accuracy']:.0%} of {b['count']:,}" if b["count"] else "no masks"
            for b in bands]
    figure = go.Figure(go.Bar(
        x=labels, y=[b["accuracy"] or 0.0 for b in bands], text=text,
        textposition="outside", cliponaxis=False, marker={"color": "#2ca02c"},
        hovertemplate="%{x}: %{text}<extra></extra>",
    ))
    figure.update_xaxes(title="label's frequency rank in the corpus (1 = most frequent)",
                        type="category")
    figure.update_yaxes(title="top-1 accuracy", range=[0, 1.12], tickformat=".0%")
    return compact(figure, HEIGHT, title)
