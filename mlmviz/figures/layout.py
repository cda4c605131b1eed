"""Sizing shared by every figure: height, margins and title."""


def compact(figure, height, title=""):
    """Set `figure`'s height, title and the tight margins every figure uses; return it."""
    figure.update_layout(
        title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}
    )
    return figure
