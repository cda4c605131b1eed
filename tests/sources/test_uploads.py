"""Uploads: zipped checkpoints extracted safely, .keras stored, the rest refused."""

import io
import pickle
import stat
import zipfile

import pytest

import mlmviz
from hf_checkpoints import make_checkpoint
from mlmviz.sources.checkpoints import CheckpointError
from mlmviz.sources.uploads import MAX_MEMBERS, store_upload

LIMIT = 10 * 2**20


def _zip(members):
    """A zip from (name, bytes) pairs or prepared ZipInfo pairs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zipped_checkpoint_folder_extracts_and_loads(tmp_path):
    checkpoint = make_checkpoint("bert", tmp_path / "tiny-bert")
    data = _zip([(f"tiny-bert/{f.name}", f.read_bytes()) for f in checkpoint.iterdir()])
    path = store_upload("tiny-bert.zip", data, tmp_path / "uploads", LIMIT)
    assert path.name == "tiny-bert" and path.is_relative_to(tmp_path / "uploads")
    assert mlmviz.load(path).metadata["architecture"] == "bert"
    assert store_upload("again.zip", data, tmp_path / "uploads", LIMIT) == path


@pytest.mark.parametrize("kind", ["zip", "keras"])
def test_room_is_reserved_before_writing_and_only_for_new_content(tmp_path, kind):
    """A rerun with the upload still in place writes nothing and asks no room
    (a full disk must not refuse a model already stored)."""
    data = _zip([("config.json", b"{}" * 100)]) if kind == "zip" else b"k" * 300
    asked = []

    def refuse(size):
        asked.append(size)
        raise CheckpointError("full")

    with pytest.raises(CheckpointError, match="full"):
        store_upload(f"x.{kind}", data, tmp_path / "up", LIMIT, reserve=refuse)
    assert asked == [200 if kind == "zip" else 300] and not any((tmp_path / "up").iterdir())
    path = store_upload(f"x.{kind}", data, tmp_path / "up", LIMIT, reserve=asked.append)
    assert store_upload(f"x.{kind}", data, tmp_path / "up", LIMIT, reserve=refuse) == path
    assert asked == [200 if kind == "zip" else 300] * 2


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "a/../../evil", "a\\..\\evil"])
def test_members_escaping_the_folder_are_refused(tmp_path, name):
    with pytest.raises(CheckpointError, match="points outside"):
        store_upload("x.zip", _zip([(name, b"x")]), tmp_path / "up", LIMIT)
    assert not (tmp_path / "evil.txt").exists()


def test_links_are_refused(tmp_path):
    link = zipfile.ZipInfo("config.json")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(CheckpointError, match="is a link"):
        store_upload("x.zip", _zip([(link, "/etc/passwd")]), tmp_path / "up", LIMIT)


def test_zip_bomb_is_refused_before_extraction(tmp_path):
    bomb = _zip([("model.safetensors", b"\0" * (LIMIT + 1))])
    assert len(bomb) < 100_000
    with pytest.raises(CheckpointError, match="unpacks to .* bytes; the limit is"):
        store_upload("bomb.zip", bomb, tmp_path / "up", LIMIT)
    assert not any((tmp_path / "up").rglob("model.safetensors"))


def test_too_many_members_are_refused(tmp_path):
    data = _zip([(f"f{i}.txt", b"") for i in range(MAX_MEMBERS + 1)])
    with pytest.raises(CheckpointError, match="at most"):
        store_upload("many.zip", data, tmp_path / "up", LIMIT)


def test_pickles_inside_a_zip_are_refused_and_nothing_is_left(tmp_path):
    data = _zip([("config.json", b"{}"), ("pytorch_model.bin", pickle.dumps({"a": 1}))])
    for _ in range(2):  # a second try is refused again, not served half-extracted
        with pytest.raises(CheckpointError, match="pickle-based"):
            store_upload("x.zip", data, tmp_path / "up", LIMIT)
    assert list((tmp_path / "up").iterdir()) == []


@pytest.mark.parametrize(
    "name, data, message",
    [("model.bin", b"x", "pickle-based"), ("notes.txt", b"x", "upload a .keras file or a .zip"),
     ("broken.zip", b"PK\x03\x04 nope", "not a valid zip")],
)
def test_other_uploads_are_refused(tmp_path, name, data, message):
    with pytest.raises(CheckpointError, match=message):
        store_upload(name, data, tmp_path / "up", LIMIT)


def test_keras_uploads_are_stored_by_content(tmp_path):
    first = store_upload("a.keras", b"one", tmp_path / "up", LIMIT)
    assert first.suffix == ".keras" and first.read_bytes() == b"one"
    assert store_upload("b.keras", b"one", tmp_path / "up", LIMIT) == first
