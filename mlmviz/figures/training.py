"""The head training's live curves: held-out accuracy above, loss below."""

import math

from plotly.subplots import make_subplots

from mlmviz.figures.layout import compact

HEIGHT = 460
ACCURACY_COLOUR = "#2ca02c"
LOSS_COLOUR = "#d62728"
LEAST_ACCURACY_TOP = 0.5  # the accuracy axis shows at least 0-50 %: it jumps only past that


def training_curves(points, seconds=None, reference=None, title="The head learning",
                    height=HEIGHT):
    """Held-out accuracy (top) and training loss (bottom) against seconds of training.

    The axes are fixed for a whole run so that the chart does not jump as it
    grows: time from 0 to `seconds`, accuracy from 0 to at least 50 %, loss
    from 0 to the first point's loss. The latest value of each curve is
    printed at its end.

    Args:
        points: the curve so far, oldest first: objects with `seconds`,
            `loss` and `heldout_accuracy` (a fraction), e.g. `head.Point`s.
        seconds: the run's time limit (the x axis's end), or None to fit the points.
        reference: `(accuracy, label)` to draw as a dashed line (e.g. what
            always answering the most common word reaches), or None.
    """
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    times = [p.seconds for p in points]
    accuracy = [p.heldout_accuracy for p in points]
    loss = [p.loss for p in points]
    figure.add_scatter(
        x=times, y=accuracy, mode="lines+markers+text", name="held-out accuracy",
        text=_at_end(accuracy, "{:.0%}"), textposition="top left",
        line={"color": ACCURACY_COLOUR, "width": 3}, marker={"size": 7},
        hovertemplate="%{x:.0f} s: %{y:.1%} right<extra></extra>", row=1, col=1,
    )
    figure.add_scatter(
        x=times, y=loss, mode="lines+markers+text", name="loss",
        text=_at_end(loss, "{:.2f}"), textposition="top left",
        line={"color": LOSS_COLOUR, "width": 3}, marker={"size": 7},
        hovertemplate="%{x:.0f} s: loss %{y:.2f}<extra></extra>", row=2, col=1,
    )
    if reference is not None:
        value, label = reference
        figure.add_hline(y=value, line={"dash": "dash", "color": "#666666"}, row=1, col=1,
                         annotation_text=f"{label}: {value:.0%}",
                         annotation_position="top right")
    end = seconds if seconds else max(times, default=0) or 1
    highest = max([LEAST_ACCURACY_TOP, *accuracy, reference[0] if reference else 0])
    figure.update_xaxes(range=[0, end * 1.03], row=1, col=1)
    figure.update_xaxes(range=[0, end * 1.03], title="seconds of training", row=2, col=1)
    figure.update_yaxes(range=[0, min(1.0, highest * 1.15)], tickformat=".0%",
                        title="held-out accuracy", row=1, col=1)
    top_loss = max((v for v in loss if math.isfinite(v)), default=1.0)
    figure.update_yaxes(range=[0, top_loss * 1.15], title="loss (nats)", row=2, col=1)
    figure.update_layout(showlegend=False)
    return compact(figure, height, title)


def _at_end(values, form):
    """Labels for `values`: the last one printed with `form`, the others blank."""
    return [""] * (len(values) - 1) + [form.format(values[-1])] if values else []
