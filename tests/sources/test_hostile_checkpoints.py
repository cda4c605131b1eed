"""Hostile and broken checkpoints: refused with a clear message, nothing executed,
the app keeps its previous model.

Built here: a wrong-dtype tensor, NaN/inf weights, a `.keras` archive whose
Lambda would write a sentinel, a `.keras` config naming a function outside
Keras, links leading out of a checkpoint directory, an upload over the cap,
and the app's behaviour for each kind. The other cases of the list live next
to the code they exercise: pickles as .bin/.pt/renamed .safetensors,
truncated files and enormous header claims in `test_checkpoints.py`; zips
escaping their folder, links in zips, zip bombs in `test_uploads.py`.
"""

import json
import os
import shutil
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from streamlit.testing.v1 import AppTest

import mlmviz
from mlmviz.app import ENTRY
from hf_checkpoints import make_checkpoint
from mlmviz.sources.checkpoints import CheckpointError
from mlmviz.sources.uploads import store_upload

APP = ENTRY


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint("bert", tmp_path_factory.mktemp("hostile") / "bert")


def _copy(checkpoint, tmp_path, name="ckpt"):
    return Path(shutil.copytree(checkpoint, tmp_path / name))


def _rewrite(directory, change):
    """Apply `change(tensors)` to the checkpoint's safetensors file."""
    tensors = load_file(directory / "model.safetensors")
    change(tensors)
    save_file(tensors, directory / "model.safetensors")
    return directory


def test_a_tensor_of_the_wrong_dtype_is_refused(checkpoint, tmp_path):
    name = "cls.predictions.transform.dense.weight"
    directory = _rewrite(_copy(checkpoint, tmp_path),
                         lambda t: t.update({name: t[name].astype("int32")}))
    with pytest.raises(CheckpointError, match=f"{name}.*int32.*floating-point"):
        mlmviz.load(directory)


@pytest.fixture(scope="module")
def nan_checkpoint(checkpoint, tmp_path_factory):
    def poison(tensors):
        tensors["cls.predictions.bias"][:3] = [np.nan, np.inf, -np.inf]

    return _rewrite(_copy(checkpoint, tmp_path_factory.mktemp("nan")), poison)


def test_nan_and_inf_weights_load_with_a_warning_and_predictions_say_why(nan_checkpoint):
    model = mlmviz.load(nan_checkpoint)
    assert len(model.warnings) == 1
    assert "holds 3 NaN or infinite values" in model.warnings[0]
    with pytest.raises(ValueError, match="not a number.*holds 3 NaN"):
        model.fill_mask("the [MASK] sat .")


def test_a_lambda_in_a_keras_archive_never_runs(tmp_path):
    sentinel = tmp_path / "pwned"
    path = str(sentinel)
    inputs = keras.Input((2,))
    touch = keras.layers.Lambda(lambda x: (open(path, "w").close(), x)[1])
    keras.Model(inputs, touch(inputs)).save(tmp_path / "evil.keras")
    sentinel.unlink(missing_ok=True)  # building the model above called the lambda once
    with pytest.raises(CheckpointError, match="evil.keras could not be loaded"):
        mlmviz.load(tmp_path / "evil.keras")
    assert not sentinel.exists()


def test_a_keras_config_naming_a_function_outside_keras_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    inputs = keras.Input((2,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "plain.keras")
    with zipfile.ZipFile(tmp_path / "plain.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1] = {  # the Dense layer becomes a call to os.system
        "module": "os", "class_name": "system", "registered_name": "system",
        "config": f"touch {sentinel}", "name": "dense", "inbound_nodes": [],
    }
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(CheckpointError, match="evil.keras could not be loaded"):
        mlmviz.load(tmp_path / "evil.keras")
    assert not sentinel.exists()


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "config.json"])
def test_a_link_leading_out_of_the_checkpoint_is_refused(checkpoint, tmp_path, name):
    directory = _copy(checkpoint, tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.move(directory / name, outside / name)
    (directory / name).symlink_to(outside / name)
    with pytest.raises(CheckpointError) as error:
        mlmviz.load(directory)
    assert str(error.value).startswith(  # the link's full path, and where it leads
        f"{directory / name} is a link to {outside / name}, outside the checkpoint folder "
        f"{directory}")


def test_a_link_through_a_linked_folder_is_refused(checkpoint, tmp_path):
    directory = _copy(checkpoint, tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.move(directory / "tokenizer.json", outside / "tokenizer.json")
    (directory / "words").symlink_to(outside)
    (directory / "tokenizer.json").symlink_to(directory / "words" / "tokenizer.json")
    with pytest.raises(CheckpointError, match=f"tokenizer.json is a link to {outside}/tokenizer.json"):
        mlmviz.load(directory)


def _nested_link_folder(tmp_path):
    folder = tmp_path / "notes"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "passwd").symlink_to("/etc/passwd")
    (folder / "readme.txt").write_text("not a model")
    return folder


@pytest.mark.parametrize("build", [_nested_link_folder, lambda _: APP.parent, lambda _: "/etc"],
                         ids=["nested-link", "repository-root", "etc"])
def test_a_folder_that_is_no_checkpoint_says_what_it_lacks_not_which_link(build, tmp_path):
    folder = build(tmp_path)
    with pytest.raises(CheckpointError) as error:
        mlmviz.load(folder)
    message = str(error.value)
    assert message.startswith(f"{folder} is not a checkpoint folder: it has no config.json")
    for accepted in ("Hugging Face checkpoint folder", "keras-hub preset folder", ".keras file",
                     "hf:ORG/NAME"):
        assert accepted in message
    assert "link" not in message


def test_links_inside_the_checkpoint_are_fine(checkpoint, tmp_path):
    directory = _copy(checkpoint, tmp_path)
    (directory / "weights").mkdir()
    shutil.move(directory / "model.safetensors", directory / "weights" / "model.safetensors")
    (directory / "model.safetensors").symlink_to(directory / "weights" / "model.safetensors")
    assert mlmviz.load(directory).metadata["architecture"] == "bert"


def test_an_upload_over_the_size_cap_is_refused_unread(tmp_path):
    with pytest.raises(CheckpointError, match="2,049 bytes; the upload limit is 2,048"):
        store_upload("big.keras", b"\0" * 2049, tmp_path / "up", max_bytes=2048)
    assert not (tmp_path / "up").exists()


def _renamed_pickle(checkpoint, tmp_path):
    directory = _copy(checkpoint, tmp_path)
    (directory / "model.safetensors").write_bytes(
        b"\x80\x04\x95" + os.urandom(64))  # a pickle stream's first bytes
    return directory, "not a safetensors file"


def _truncated(checkpoint, tmp_path):
    directory = _copy(checkpoint, tmp_path)
    data = (directory / "model.safetensors").read_bytes()
    (directory / "model.safetensors").write_bytes(data[: len(data) // 2])
    return directory, "truncated"


def _linked_out(checkpoint, tmp_path):
    directory = _copy(checkpoint, tmp_path)
    (directory / "vocab.txt").unlink(missing_ok=True)
    (directory / "vocab.txt").symlink_to("/etc/passwd")
    return directory, "outside the checkpoint"


@pytest.mark.parametrize("build", [_renamed_pickle, _truncated, _linked_out])
def test_the_app_shows_the_message_and_keeps_the_previous_model(checkpoint, tmp_path, build):
    directory, message = build(checkpoint, tmp_path)
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state["model_kind"] = "Checkpoint path"
    app.session_state["model_path"] = str(directory)
    app.run()
    assert not app.exception
    assert any(message in e.value and "Still running: **Embedded default**" in e.value
               for e in app.error)
    assert "**default**" in " ".join(m.value for m in app.sidebar.markdown)
    assert len(app.get("plotly_chart")) == 1


def test_the_app_warns_about_nan_weights_instead_of_drawing_nan(nan_checkpoint):
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state["model_kind"] = "Checkpoint path"
    app.session_state["model_path"] = str(nan_checkpoint)
    app.run()
    assert not app.exception
    assert any("NaN or infinite" in w.value for w in app.sidebar.warning)
    assert any("Choose another model" in w.value for w in app.warning)
