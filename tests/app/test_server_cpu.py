"""What keeps the server's CPU per interaction low (BENCHMARKS.md, issue 16):
settings and caches, each checked for what it must not change."""

import copy
import os
from pathlib import Path

import pytest
import streamlit as st
from hf_checkpoints import make_checkpoint
from streamlit import config
from streamlit.testing.v1 import AppTest

import mlmviz
from mlmviz.app import ENTRY
from mlmviz.model import MaskedLM
from mlmviz.app.session import PREDICTIONS_KEPT, model_key, predictions

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_skips_streamlits_full_garbage_collection_after_each_run():
    # gc.collect(2) after every run walks every object TensorFlow and Keras hold.
    here = os.getcwd()
    os.chdir(ROOT)  # Streamlit reads ./.streamlit/config.toml
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("runner.postScriptGC") is False
    finally:
        os.chdir(here)
        config.get_config_options(force_reparse=True)


# --- fill-mask results shared by every session (session.predictions) ---------------

TEXT = "the kettle in the [MASK] is still warm."  # not an example sentence


@pytest.fixture
def calls(monkeypatch):
    """The texts `MaskedLM.fill_mask` ran on, in order; the shared caches start empty."""
    st.cache_data.clear()
    seen = []
    original = MaskedLM.fill_mask

    def counting(model, text, *args, **kwargs):
        seen.append(text)
        return original(model, text, *args, **kwargs)
    monkeypatch.setattr(MaskedLM, "fill_mask", counting)
    yield seen
    st.cache_data.clear()


def test_the_same_view_in_two_sessions_asks_the_model_once(calls):
    for _ in range(2):  # two students opening the same link
        app = AppTest.from_file(str(ENTRY), default_timeout=120)
        app.query_params["text"] = TEXT
        app.run()
        assert not app.exception
        assert len(app.get("plotly_chart")) == 1
    assert calls.count(TEXT) == 1


def test_other_settings_ask_the_model_again(default_model, calls):
    first = predictions(default_model, TEXT, top_k=3)
    assert predictions(default_model, TEXT, top_k=3) == first
    assert len(predictions(default_model, TEXT, top_k=4)["masks"][0]["predictions"]) == 4
    predictions(default_model, TEXT, top_k=3, positions=[1])
    assert calls == [TEXT] * 3


def test_another_model_or_precision_is_not_served_the_first_ones_result(
        default_model, calls, tmp_path):
    predictions(default_model, TEXT, top_k=3)
    half = copy.copy(default_model)
    half.metadata = {**default_model.metadata, "precision": "float16"}
    predictions(half, TEXT, top_k=3)
    other = mlmviz.load(make_checkpoint("bert", tmp_path / "tiny-bert"))
    answer = predictions(other, TEXT, top_k=3)
    assert len(calls) == 3
    assert answer["masks"][0]["predictions"] == other.fill_mask(TEXT, top_k=3)["masks"][0][
        "predictions"]
    assert model_key(other) != model_key(default_model) != model_key(half)


def test_the_shared_results_are_bounded(default_model, calls):
    texts = [f"{TEXT} number {i}." for i in range(PREDICTIONS_KEPT + 1)]
    for text in texts:
        predictions(default_model, text, top_k=1)
    predictions(default_model, texts[-1], top_k=1)  # still kept
    assert len(calls) == len(texts)
    predictions(default_model, texts[0], top_k=1)  # the oldest was dropped
    assert len(calls) == len(texts) + 1
