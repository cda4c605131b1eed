"""Shared mode (MLMVIZ_SHARED=1) in AppTest: a visitor reaches only the models
the operator offers, and nothing shown names a path of the server."""

import json
import os
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import mlmviz
from mlmviz.app import ENTRY, access

TEXT = "the cat sat on the [MASK]."


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """`(models folder, a checkpoint outside it)`: the folder offers "tiny-bert"
    and "broken" (a config.json that is not JSON)."""
    from hf_checkpoints import make_checkpoint

    root = tmp_path_factory.mktemp("shared")
    models = root / "models"
    make_checkpoint("bert", models / "tiny-bert")
    (models / "broken").mkdir()
    (models / "broken" / "config.json").write_text("{not json")
    (models / "notes.txt").write_text("not a model")
    return models, make_checkpoint("bert", root / "outside", seed=1)


@pytest.fixture
def shared(monkeypatch, folders):
    monkeypatch.setenv(access.SHARED_ENV, "1")
    monkeypatch.setenv(access.MODELS_DIR_ENV, str(folders[0]))
    monkeypatch.delenv(access.UPLOADS_ENV, raising=False)
    monkeypatch.delenv(access.DOWNLOADS_ENV, raising=False)
    return folders


def _open(query=None, page=None):
    app = AppTest.from_file(str(ENTRY), default_timeout=120)
    app.query_params.update({"text": TEXT, **(query or {})})
    app.run()
    if page is not None:
        app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, app.exception
    return app


def _shown(app):
    """Everything the page sends to the browser, as text (every element's
    message), less the download buttons' random file ids."""
    def walk(node):
        proto = getattr(node, "proto", None)
        yield "" if proto is None else str(proto)
        for child in getattr(node, "children", {}).values():
            yield from walk(child)
    return "\n".join(line for line in "\n".join(walk(app._tree)).splitlines()
                     if not line.startswith("deferred_file_id:"))


def _running(app):
    """The sidebar's line naming the model that runs."""
    return next(m.value for m in app.sidebar.markdown if m.value.startswith("**"))


def _notes(app):
    return " ".join(c.value for c in app.caption if c.value.startswith("Ignored from the link"))


def test_the_model_choices_are_only_what_the_operator_offers(shared, monkeypatch):
    kinds = _open().radio(key="model_kind").options
    assert "Checkpoint path" not in kinds and "Upload" not in kinds
    assert kinds[0] == "Embedded default" and "Server model" in kinds
    monkeypatch.setenv(access.UPLOADS_ENV, "1")
    assert "Upload" in _open().radio(key="model_kind").options
    app = _open({"model_kind": "Server model"})
    assert app.selectbox(key="server_model").options == ["Choose a model…", "broken", "tiny-bert"]


def test_local_mode_still_offers_a_typed_path_and_uploads():
    kinds = _open().radio(key="model_kind").options
    assert kinds == ["Embedded default", "Well-known model", "Checkpoint path", "Upload"]


def test_a_link_to_a_checkpoint_outside_the_folder_runs_the_default(shared):
    outside = shared[1]
    assert mlmviz.load(str(outside)).head_check.trained  # a real checkpoint, readable
    app = _open({"model_kind": "Checkpoint path", "model_path": str(outside)})
    assert _running(app).startswith("**default**")
    assert _notes(app) == f"Ignored from the link: {access.NOT_OFFERED}"
    assert app.radio(key="model_kind").value == "Embedded default"
    assert "model_path" not in app.query_params and "model_kind" not in app.query_params
    assert len(app.get("plotly_chart")) == 1


def test_links_to_paths_that_exist_or_not_show_the_same_page(shared):
    """No oracle: a folder, a file, a checkpoint and nothing at all look alike."""
    pages = {path: _shown(_open({"model_kind": "Checkpoint path", "model_path": path}))
             for path in ("/etc", "/etc/hostname", str(shared[1]), "/no/such/path")}
    assert len(set(pages.values())) == 1, list(pages)
    assert access.NOT_OFFERED in pages["/etc"]
    assert _shown(_open({"model_path": "/etc"})) == pages["/etc"]  # without a kind, the same


def test_a_server_model_link_loads_that_model(shared):
    app = _open({"model_kind": "Server model", "server_model": "tiny-bert"})
    assert _running(app).startswith("**server:tiny-bert**")
    assert app.query_params["model_kind"] == "Server model"
    assert app.query_params["server_model"] == "tiny-bert"
    expected = mlmviz.load(str(shared[0] / "tiny-bert")).fill_mask(TEXT, top_k=5)
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["y"] == [p["token"] for p in expected["masks"][0]["predictions"]]


def test_an_unknown_server_model_runs_the_default_with_the_same_note(shared):
    app = _open({"model_kind": "Server model", "server_model": "../outside"})
    assert _running(app).startswith("**default**")
    assert _notes(app) == f"Ignored from the link: {access.NOT_OFFERED}"


def _server_paths(folders):
    return [str(folders[0]), str(folders[1]), tempfile.gettempdir(), str(Path.home()),
            os.getcwd()]


@pytest.mark.parametrize("query", [
    {},
    {"model_kind": "Checkpoint path", "model_path": "/etc"},
    {"model_kind": "Server model", "server_model": "broken"},
    {"model_kind": "Server model", "server_model": "tiny-bert"},
    {"model_kind": "Well-known model", "hub_model": "google-bert/bert-base-uncased"},
], ids=["default", "path", "broken", "server", "not-cached"])
def test_no_text_shown_names_a_server_path(shared, query):
    for page in (None, "compare", "evaluate"):
        shown = _shown(_open(query, page))
        leaked = [path for path in _server_paths(shared) if path in shown]
        assert not leaked, (page, leaked)


def test_a_broken_server_model_says_so_by_its_name(shared):
    app = _open({"model_kind": "Server model", "server_model": "broken"})
    error = " ".join(e.value for e in app.sidebar.error)
    assert "not valid JSON" in error and "Still running: **Embedded default**" in error
    assert str(shared[0]) not in error


def test_compare_model_b_obeys_the_same_rules(shared):
    app = _open({"compare_kind": "Checkpoint path", "compare_path": str(shared[1])}, "compare")
    assert app.radio(key="compare_kind").options == ["Embedded default", "Server model"]
    assert app.radio(key="compare_kind").value == "Embedded default"
    assert _notes(app) == f"Ignored from the link: {access.NOT_OFFERED}"
    assert "compare_path" not in app.query_params
    app = _open({"compare_kind": "Server model", "compare_model": "tiny-bert"}, "compare")
    assert not app.error, [e.value for e in app.error]
    assert app.query_params["compare_model"] == "tiny-bert"
    assert any("server:tiny-bert" in m.value for m in app.markdown)


def test_a_visitor_gets_the_servers_limits_and_is_told_them(shared):
    app = _open({"tsec": "300"}, "train_head")
    seconds = app.select_slider(key="tsec")
    assert seconds.value == access.SHARED_TRAIN_SECONDS and max(seconds.options) == "60"
    assert any("at most 60 s per training" in c.value for c in app.caption)
    assert "`tsec=300`: this server trains for at most 60 s" in _notes(app)
    app = _open({"elines": "20000", "ecorpus": "Held-out sample"}, "evaluate")
    assert app.number_input(key="elines").value == access.SHARED_EVALUATED_LINES
    assert "reads at most 2,000 lines" in _notes(app)
