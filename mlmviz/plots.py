"""Pure plotly figure builders: data in, `go.Figure` out."""

import plotly.graph_objects as go


def probability_bars(table, title=""):
    """Horizontal bars of `table.probability` per `table.token`, best on top.

    Args:
        table: DataFrame with `token` and `probability` columns, sorted most
            probable first.
        title: figure title.
    """
    figure = go.Figure(
        go.Bar(
            x=table["probability"].tolist(),
            y=table["token"].tolist(),
            orientation="h",
            text=[f"{p:.1%}" for p in table["probability"]],
            textposition="auto",
        )
    )
    figure.update_layout(
        title=title,
        xaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        yaxis={"autorange": "reversed", "type": "category"},
        height=80 + 28 * len(table),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure
