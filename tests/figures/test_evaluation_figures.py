"""The evaluation charts: reliability diagram and accuracy by frequency band."""

import pytest

from mlmviz.figures.evaluation import (
    band_label,
    frequency_bars,
    reliability_diagram,
    short_count,
)
from mlmviz.figures.layout import for_projector

BINS = [
    {"low": b / 10, "high": (b + 1) / 10, "count": count, "confidence": conf, "accuracy": acc}
    for b, (count, conf, acc) in enumerate([
        (888, 0.06, 0.05), (929, 0.15, 0.13), (0, None, None), (548, 0.35, 0.31),
        (387, 0.45, 0.47), (297, 0.54, 0.47), (237, 0.65, 0.58), (222, 0.75, 0.73),
        (231, 0.86, 0.83), (1757, 0.97, 0.97),
    ])
]
BANDS = [
    {"low_rank": 1, "high_rank": 100, "count": 2811, "accuracy": 0.594},
    {"low_rank": 101, "high_rank": 1000, "count": 1218, "accuracy": 0.195},
    {"low_rank": 1001, "high_rank": 10000, "count": 1188, "accuracy": 0.142},
    {"low_rank": 10001, "high_rank": None, "count": 0, "accuracy": None},
]


def _trace(figure, name):
    return next(trace for trace in figure.data if trace.name == name)


def test_the_reliability_diagram_has_the_diagonal_the_bars_with_counts_and_the_confidences():
    figure = reliability_diagram(BINS)
    diagonal = _trace(figure, "perfect calibration")
    assert list(diagonal.x) == [0, 1] and list(diagonal.y) == [0, 1]
    bars = _trace(figure, "accuracy")
    assert list(bars.x) == pytest.approx([0.05 + 0.1 * b for b in range(10)])
    assert list(bars.y) == pytest.approx([b["accuracy"] or 0 for b in BINS])
    assert "1,757 masks" in bars.hovertext[-1] and "accuracy 97.0%" in bars.hovertext[-1]
    counts = _trace(figure, "masks per bin")
    assert list(counts.x) == list(bars.x)
    assert list(counts.text) == ["888", "929", "0", "548", "387", "297", "237", "222", "231",
                                 "1.8k"]
    # The counts sit above every bar and dot, inside the plot.
    assert 1 < min(counts.y) and max(counts.y) < figure.layout.yaxis.range[1]
    dots = _trace(figure, "mean confidence")
    assert len(dots.x) == 9 and 0.25 not in list(dots.x)  # the empty bin has no dot
    assert list(dots.y)[-1] == pytest.approx(0.97)
    low, high = figure.layout.xaxis.range
    assert low < 0 and high > 1  # the 0 % and 100 % ticks are drawn
    assert list(figure.layout.xaxis.tickvals)[-1] == 1  # the axis is labelled up to 100 %


@pytest.mark.parametrize("count, shown", [
    (0, "0"), (999, "999"), (1000, "1.0k"), (1757, "1.8k"), (9949, "9.9k"), (9950, "10k"),
    (123_456, "123k"), (999_499, "999k"), (999_999, "1.0M"), (3_400_000, "3.4M")])
def test_counts_fit_in_four_characters(count, shown):
    assert short_count(count) == shown


def test_frequency_bars_name_the_bands_and_print_accuracy_and_count():
    figure = frequency_bars(BANDS)
    bars = figure.data[0]
    assert list(bars.x) == ["ranks<br>1–100", "ranks<br>101–1,000", "ranks<br>1,001–10,000",
                            "ranks<br>10,001+"]
    assert list(bars.y) == pytest.approx([0.594, 0.195, 0.142, 0.0])
    assert list(bars.text) == ["59% of 2,811", "20% of 1,218", "14% of 1,188", "no masks"]
    assert figure.layout.xaxis.tickangle == 0  # on two lines, not slanted
    assert band_label(1, 100) == "ranks<br>1–100"


@pytest.mark.parametrize("figure", [reliability_diagram(BINS), frequency_bars(BANDS)])
def test_both_charts_grow_large_labels_on_a_projector(figure):
    height = figure.layout.height
    for_projector(figure)
    assert figure.layout.height > height
    assert figure.layout.xaxis.tickfont.size == figure.layout.yaxis.tickfont.size == 18
