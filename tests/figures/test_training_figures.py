"""The head training's curves: both series, fixed axes, the latest values printed."""

from typing import NamedTuple

import pytest

from mlmviz.figures.layout import PROJECTOR_TICKS, for_projector
from mlmviz.figures.training import training_curves


class Point(NamedTuple):
    step: int
    seconds: float
    loss: float
    heldout_accuracy: float


POINTS = [Point(0, 0.0, 10.3, 0.0), Point(200, 4.0, 6.1, 0.21), Point(400, 8.5, 4.4, 0.33)]


def _trace(figure, name):
    return next(trace for trace in figure.data if trace.name == name)


def test_accuracy_and_loss_are_drawn_against_seconds_with_the_last_value_printed():
    figure = training_curves(POINTS, seconds=60)
    accuracy, loss = _trace(figure, "held-out accuracy"), _trace(figure, "loss")
    assert list(accuracy.x) == list(loss.x) == [0.0, 4.0, 8.5]
    assert list(accuracy.y) == [0.0, 0.21, 0.33] and list(loss.y) == [10.3, 6.1, 4.4]
    assert list(accuracy.text) == ["", "", "33%"] and list(loss.text) == ["", "", "4.40"]
    assert accuracy.yaxis == "y" and loss.yaxis == "y2"


def test_the_axes_stay_put_while_the_curve_grows():
    early, late = training_curves(POINTS[:1], seconds=60), training_curves(POINTS, seconds=60)
    for figure in (early, late):
        assert figure.layout.xaxis2.range == pytest.approx((0, 61.8))
        assert figure.layout.yaxis.range == pytest.approx((0, 0.575))  # 0-50 % and room
        assert figure.layout.yaxis2.range == pytest.approx((0, 10.3 * 1.15))


def test_accuracy_past_half_and_a_reference_widen_the_axis():
    figure = training_curves([*POINTS, Point(900, 20.0, 3.0, 0.7)], reference=(0.41, "the model's own head"))
    assert figure.layout.yaxis.range == pytest.approx((0, 0.805))
    assert figure.layout.xaxis2.range[1] == pytest.approx(20.6)  # no limit: fits the points
    assert any("own head: 41%" in a.text for a in figure.layout.annotations)


def test_an_empty_curve_draws_empty_axes():
    figure = training_curves([], seconds=30)
    assert len(_trace(figure, "loss").x) == 0
    assert figure.layout.xaxis2.range[1] == pytest.approx(30.9)


def test_on_a_projector_every_axis_is_large():
    figure = for_projector(training_curves(POINTS, seconds=60))
    for axis in (figure.layout.xaxis2, figure.layout.yaxis, figure.layout.yaxis2):
        assert axis.tickfont.size == PROJECTOR_TICKS
        assert axis.title.font.size == PROJECTOR_TICKS
