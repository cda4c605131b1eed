"""The sidebar's Precision choice: bfloat16 weights, its agreement line, the URL field."""


import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mlmviz.app import ENTRY
from mlmviz.precision import PRECISIONS

APP = ENTRY


@pytest.fixture
def app():
    return AppTest.from_file(str(APP), default_timeout=180)


def _captions(app):
    return " ".join(c.value for c in app.sidebar.caption)


def test_the_view_offers_the_package_precisions():
    from mlmviz.app import view

    assert view.PRECISIONS == PRECISIONS


def test_choosing_bfloat16_shows_the_agreement_and_puts_it_in_the_url(app):
    app.run()
    assert app.radio(key="precision").value == "float32"
    assert "Precision: float32" in _captions(app)
    assert "precision" not in app.query_params  # the default stays out of the link
    app.radio(key="precision").set_value("bfloat16").run()
    assert not app.exception
    assert "Precision: bfloat16 · same top answer as float32 on " in _captions(app)
    assert "sample masks · top-5 overlap" in _captions(app)
    assert app.query_params["precision"] == "bfloat16"
    assert len(app.get("plotly_chart")) == 1  # the page still predicts


def test_a_link_with_bfloat16_restores_it(app):
    app.query_params.update({"precision": "bfloat16", "text": "the [MASK] barked all night."})
    app.run()
    assert not app.exception
    assert app.radio(key="precision").value == "bfloat16"
    assert "Precision: bfloat16 · same top answer" in _captions(app)
    assert app.query_params["precision"] == "bfloat16"


def test_a_bad_precision_in_the_link_is_ignored_with_a_note(app):
    app.query_params["precision"] = "float8"
    app.run()
    assert not app.exception
    assert app.radio(key="precision").value == "float32"
    notes = " ".join(c.value for c in app.caption)
    assert "Ignored from the link" in notes and "`precision=float8`" in notes
    assert "precision" not in app.query_params


def test_a_failed_conversion_keeps_the_text_and_the_float32_model(app, monkeypatch):
    import mlmviz.precision
    from mlmviz.sources.checkpoints import CheckpointError

    def broken(layer, precision):
        raise CheckpointError("default could not be converted to bfloat16: test")

    monkeypatch.setattr(mlmviz.precision, "rebuild", broken)
    st.cache_resource.clear()  # a bfloat16 model cached by an earlier test would not convert
    app.query_params["text"] = "she read a [MASK] in the garden."
    app.run()
    app.radio(key="precision").set_value("bfloat16").run()
    assert not app.exception
    errors = " ".join(e.value for e in app.sidebar.error)
    assert "could not be converted to bfloat16" in errors
    assert "Still running: **Embedded default**" in errors
    assert "Precision: float32" in _captions(app)
    assert "precision" not in app.query_params  # the URL names what runs
    assert app.query_params["text"] == "she read a [MASK] in the garden."


@pytest.mark.parametrize("page", ["app_pages/lens.py", "app_pages/anatomy.py"])
def test_pages_draw_the_chosen_precision_not_a_cached_float32_result(app, page):
    """Every page's cached results are keyed by (source, precision): after the same
    view was drawn in float32, bfloat16 draws its own numbers, and back again."""
    app.query_params.update({"text": "she read a [MASK] in the garden."})
    app.run()
    app.switch_page(page).run()

    def charts():
        assert not app.exception
        return [chart.proto.spec for chart in app.get("plotly_chart")]

    in_float32 = charts()
    app.radio(key="precision").set_value("bfloat16").run()
    in_bfloat16 = charts()
    assert in_bfloat16 and in_bfloat16 != in_float32
    app.radio(key="precision").set_value("float32").run()
    assert charts() == in_float32
