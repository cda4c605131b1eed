"""The sidebar's well-known Hub models, against a stand-in Hub on 127.0.0.1.

The repositories keep their real ids (the sidebar's list) while the stand-in
serves tiny checkpoints under them, and the Hugging Face cache is a fresh
folder. Each test uses its own repository: loaded models are cached by
source for the whole process.
"""


import pytest
from streamlit.testing.v1 import AppTest

from hf_checkpoints import make_checkpoint
from hub_server import refused_endpoint, serve, use_hub
from mlmviz.app import ENTRY
from mlmviz.sources import hub as hub_source

APP = ENTRY
OPTIONS = [
    "Choose a model…",
    "bert-base-uncased · 440 MB",
    "distilbert-base-uncased · 268 MB",
    "roberta-base · 499 MB",
    "albert-base-v2 · 47.4 MB",
    "electra-small-generator · ≈ 54 MB",
    "ModernBERT-base · ≈ 596 MB",
    "ettin-encoder-17m · ≈ 68 MB",
    "xlm-roberta-base · ≈ 1116 MB",
    "camembert-base · ≈ 440 MB",
]


@pytest.fixture
def app():
    return AppTest.from_file(str(APP), default_timeout=120)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub")
    return {arch: make_checkpoint(arch, folder / arch) for arch in ("bert", "albert")}


def _choose(app, repo_id):
    """Pick "Well-known model" and `repo_id`, through session state as in tests/app/test_app.py
    (AppTest drops changes to the entrypoint's widgets after the first run)."""
    app.session_state["model_kind"] = "Well-known model"
    app.session_state["hub_model"] = repo_id
    app.run()
    assert not app.exception, app.exception


def _sidebar_text(app):
    return " ".join(m.value for m in app.sidebar.markdown)


def test_choosing_a_well_known_model_downloads_it_with_progress_and_loads_it(
        app, tiny, tmp_path, monkeypatch):
    repo = "google-bert/bert-base-uncased"
    with serve({repo: tiny["bert"]}) as hub:
        use_hub(monkeypatch, hub.endpoint, tmp_path / "cache")
        _choose(app, repo)
        assert app.selectbox(key="hub_model").options == OPTIONS  # drawn before the download
        size = sum(f.stat().st_size for f in tiny["bert"].iterdir())
        assert [bar.proto.text for bar in app.sidebar.get("progress")] == [
            f"{size / 1e6:.3g} of {size / 1e6:.3g} MB (100 %) · downloaded"]
        assert f"**hf:{repo}**: bert" in _sidebar_text(app)
        assert not app.sidebar.error
        assert app.query_params["model_kind"] == "Well-known model"
        assert app.query_params["hub_model"] == repo
        assert len(app.get("plotly_chart")) == 1  # the page predicts with it
        app.run()
    assert not app.sidebar.get("progress"), "the next run draws no bar"
    assert app.selectbox(key="hub_model").value == repo
    assert app.selectbox(key="hub_model").options[1] == "✓ " + OPTIONS[1]


def test_with_no_network_one_sentence_says_so_and_the_previous_model_stays(
        app, tmp_path, monkeypatch):
    use_hub(monkeypatch, refused_endpoint(), tmp_path / "cache")
    app.run()
    _choose(app, "distilbert/distilbert-base-uncased")
    (error,) = app.sidebar.error
    assert error.value.startswith(
        "hf:distilbert/distilbert-base-uncased is not in the local Hugging Face cache")
    assert "cannot be downloaded now (the Hub cannot be reached)" in error.value
    assert "The previous model stays loaded. Still running: **Embedded default**." in error.value
    assert not app.sidebar.get("progress")
    assert "**default**" in _sidebar_text(app)
    assert app.selectbox(key="hub_model").value == "distilbert/distilbert-base-uncased"
    assert "model_kind" not in app.query_params and "hub_model" not in app.query_params
    assert len(app.get("plotly_chart")) == 1
    # The page itself says the chosen model is not the one it shows.
    assert [w.value for w in app.main.warning] == [
        "The model chosen in the sidebar (Well-known model) could not be loaded, so this page "
        "still shows **Embedded default**. The sidebar says why."]


def test_a_link_to_a_cached_model_opens_it_without_the_network(app, tiny, tmp_path, monkeypatch):
    repo = "albert/albert-base-v2"
    with serve({repo: tiny["albert"]}) as hub:
        use_hub(monkeypatch, hub.endpoint, tmp_path / "cache")
        hub_source.fetch(repo, lambda done, total: None)
    use_hub(monkeypatch, refused_endpoint(), tmp_path / "cache")
    app.query_params.update({"model_kind": "Well-known model", "hub_model": repo})
    app.run()
    assert not app.exception, app.exception
    assert not app.sidebar.error and not app.sidebar.get("progress")
    assert f"**hf:{repo}**: albert" in _sidebar_text(app)
    assert app.selectbox(key="hub_model").options[4] == "✓ " + OPTIONS[4]
    assert app.query_params["hub_model"] == repo
