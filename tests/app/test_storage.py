"""A shared server's disk: per-session folders, the budget, the sweep, and
messages scrubbed of server paths (`mlmviz.app.storage`, `mlmviz.app.access`)."""

import os
import subprocess
import sys
import tempfile
import time

import pytest

from mlmviz.app import access, storage


@pytest.fixture
def shared(monkeypatch, tmp_path):
    monkeypatch.setenv(access.SHARED_ENV, "1")
    monkeypatch.setenv(access.MODELS_DIR_ENV, str(tmp_path / "models"))
    monkeypatch.setattr(storage, "ROOT", tmp_path / "sessions")
    return tmp_path


def _session(root, session_id, size=10, pid=None):
    folder = root / str(pid or os.getpid()) / session_id / "uploads"
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(bytes(size))
    return folder.parent


def test_the_sweep_deletes_ended_and_idle_sessions_and_keeps_the_others(shared):
    root = storage.ROOT
    ended, idle, live = (_session(root, name) for name in ("ended", "idle", "live"))
    old = time.time() - storage.IDLE - 60
    for path in [idle, *idle.rglob("*")]:
        os.utime(path, (old, old))
    gone = storage.sweep(alive=lambda session: session != "ended", root=root)
    assert sorted(gone) == ["ended", "idle"]
    assert not ended.exists() and not idle.exists() and live.exists()


def test_the_sweep_deletes_the_folders_of_servers_that_stopped(shared):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = _session(storage.ROOT, "theirs", pid=int(finished.stdout))
    storage.sweep(alive=lambda session: True)
    assert not dead.parent.exists()


def test_the_budget_counts_every_session_and_refuses_past_it(shared, monkeypatch):
    monkeypatch.setenv(access.DISK_ENV, "1")  # MB
    _session(storage.ROOT, "a", size=400_000)
    _session(storage.ROOT, "b", size=400_000, pid=1)  # another replica's
    assert storage.room() == 2**20 - 800_000
    storage.check_room(200_000)
    with pytest.raises(storage.StorageFull, match=r"\(1 MB for all visitors together\) is full"):
        storage.check_room(300_000)


def test_a_file_written_past_the_budget_is_deleted_with_the_message(shared, monkeypatch):
    monkeypatch.setenv(access.DISK_ENV, "1")  # MB
    _session(storage.ROOT, "a", size=900_000)
    fits, too_much = storage.ROOT / "fits.keras", storage.ROOT / "too-much.keras"
    fits.write_bytes(bytes(100_000))
    storage.keep(fits)
    too_much.write_bytes(bytes(100_000))
    with pytest.raises(storage.StorageFull, match="this needs 0.1 MB"):
        storage.keep(too_much)
    assert fits.exists() and not too_much.exists()


def test_local_mode_has_no_budget_and_keeps_its_folders(monkeypatch):
    monkeypatch.delenv(access.SHARED_ENV, raising=False)
    assert storage.room() == float("inf")
    assert storage.folder("trained") == storage.Path(tempfile.gettempdir()) / "mlmviz-trained"


def test_a_file_is_named_by_its_place_in_the_session(shared):
    folder = storage.folder("uploads")
    assert folder.parent.parent == storage.ROOT / str(os.getpid())
    assert storage.within_session(folder / "ab12.keras") == "uploads/ab12.keras"
    assert storage.within_session(shared / "elsewhere.keras") is None


def test_the_offered_models_are_the_folders_and_keras_files(shared):
    models = shared / "models"
    for name in ("tiny-bert", ".hidden"):
        (models / name).mkdir(parents=True)
    for name in ("head.keras", "notes.txt"):
        (models / name).write_text("")
    assert list(access.server_models()) == ["head", "tiny-bert"]


def test_messages_for_visitors_name_no_server_path(shared):
    message = (f"{shared}/models/tiny-bert/config.json is not valid JSON; "
               f"{tempfile.gettempdir()}/x and {os.path.expanduser('~')}/.cache/huggingface/hub "
               "or /srv/data/model.keras (see hf:org/name)")
    assert access.public(message) == (
        "tiny-bert/config.json is not valid JSON; …/x and …/hub or …/model.keras "
        "(see hf:org/name)")


def test_local_mode_shows_messages_as_they_are(monkeypatch):
    monkeypatch.delenv(access.SHARED_ENV, raising=False)
    assert access.public("/etc is not a checkpoint") == "/etc is not a checkpoint"
