"""The Streamlit app, run headless through AppTest."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest


APP = Path(__file__).resolve().parents[1] / "app.py"


@pytest.fixture
def app():
    return AppTest.from_file(str(APP), default_timeout=120)


def test_default_view_shows_a_prediction_chart(app):
    app.run()
    assert not app.exception
    charts = app.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    probabilities = spec["data"][0]["x"]
    assert len(probabilities) == 5
    assert probabilities == sorted(probabilities, reverse=True)
    assert any("random" in w.value for w in app.warning)


def test_picking_tokens_adds_one_chart_per_mask(app):
    app.run()
    app.multiselect(key="picked").select(1).select(2).run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 3


def test_top_k_controls_the_number_of_bars(app):
    app.run()
    app.slider(key="top_k").set_value(12).run()
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert len(spec["data"][0]["y"]) == 12


@pytest.mark.parametrize(
    "text, message",
    [("", "Type a sentence"), ("   ", "Type a sentence"), ("the cat sat", "Nothing is masked")],
)
def test_bad_input_shows_a_message_not_an_error(app, text, message):
    app.run()
    app.text_input(key="text").set_value(text).run()
    assert not app.exception
    assert any(message in info.value for info in app.info)
    assert app.text_input(key="text").value == text
