"""Corpus evaluation charts: the reliability diagram and accuracy by frequency band."""

import plotly.graph_objects as go

from mlmviz.figures.layout import compact

HEIGHT = 380


COUNTS_AT = 1.08  # the height of the row of counts, above the highest bar and dot


def reliability_diagram(bins, title="Calibration: confidence vs accuracy"):
    """Accuracy per confidence bin as bars, the bins' mean confidence as dots, and
    the diagonal where a perfectly calibrated model's bars would end.

    A row of numbers above the plot gives each bin's count of masks (clear
    of the bars and dots at any height; `short_count`, the exact count on
    hover); an empty bin has no bar and "0".

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
                   line={"dash": "dash", "color": "#666666"}, hoverinfo="skip"),
        go.Bar(x=centres, y=[b["accuracy"] or 0.0 for b in bins], width=width * 0.92,
               name="accuracy", hovertext=hover, hoverinfo="text",
               marker={"color": "#1f77b4"}),
        go.Scatter(x=[(b["low"] + b["high"]) / 2 for b in filled],
                   y=[b["confidence"] for b in filled], mode="markers",
                   name="mean confidence", marker={"color": "#ff7f0e", "size": 10},
                   hoverinfo="skip"),
        go.Scatter(x=centres, y=[COUNTS_AT] * len(bins), mode="text", name="masks per bin",
                   text=[short_count(b["count"]) for b in bins], showlegend=False,
                   hovertext=hover, hoverinfo="text"),
    ])
    figure.update_xaxes(title="top-1 probability (confidence)", range=[-0.005, 1.005],
                        tickvals=[k / 5 for k in range(6)], tickformat=".0%")
    figure.update_yaxes(title="accuracy (top-1 = label)", range=[0, COUNTS_AT + 0.06],
                        tickvals=[k / 5 for k in range(6)], tickformat=".0%")
    figure.update_layout(legend={"orientation": "h", "y": -0.25}, bargap=0)
    figure.add_annotation(x=0, y=COUNTS_AT + 0.06, xref="paper", yref="y", yanchor="bottom",
                          xanchor="left", showarrow=False, text="masks per bin:")
    return compact(figure, HEIGHT + 40, title)


def short_count(count):
    """A count in at most four characters: "888", "1.8k", "12k", "3.4M"."""
    for least, size, suffix in ((999_500, 10**6, "M"), (1000, 10**3, "k")):  # 999,999: 1.0M
        if count >= least:
            value = count / size
            return f"{value:.1f}{suffix}" if value < 9.95 else f"{value:.0f}{suffix}"
    return str(count)


def band_label(low, high):
    """A frequency band's name on two lines: "ranks<br>1–100", "ranks<br>10,001+"."""
    return f"ranks<br>{low:,}–{high:,}" if high is not None else f"ranks<br>{low:,}+"


def frequency_bars(bands, title="Accuracy by word frequency"):
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
    figure.update_xaxes(title="frequency rank (1 = the most common token)",
                        type="category", tickangle=0)
    figure.update_yaxes(title="top-1 accuracy", range=[0, 1.12], tickformat=".0%")
    return compact(figure, HEIGHT, title)
