"""Where the app writes a visitor's files: uploads and trained heads.

Local mode keeps them as before, in shared folders under the temp dir
(`mlmviz-uploads`, `mlmviz-trained`), where a link to a trained head finds
its file again. Shared mode gives each session a folder of its own,

    <temp>/mlmviz-sessions/<server pid>/<session id>/{uploads,trained}/

deleted once the session has ended (Streamlit keeps a disconnected session
for `server.disconnectedSessionTTL` seconds, then drops it) or when nothing
was written there and no page of the session ran for `IDLE` seconds, and
counts every session's files (all replicas' together) against one budget
(`access.disk_budget`). A sweep runs every `SWEEP_EVERY` seconds on a
thread of its own from a shared server's first run; it also removes the
folders of servers that are no longer running.
"""

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import streamlit as st
from streamlit import config
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from mlmviz.app import access
from mlmviz.sources.checkpoints import CheckpointError

ROOT = Path(tempfile.gettempdir()) / "mlmviz-sessions"
IDLE = 3600  # s without a write or a run of the session: its folder goes
SWEEP_EVERY = 5  # s between two sweeps


class StorageFull(CheckpointError):
    """The server's space for visitors' files is used up (a ValueError, shown as such)."""


def folder(kind):
    """The folder this session writes `kind` ("uploads" or "trained") files into, made."""
    if not access.shared():
        path = Path(tempfile.gettempdir()) / f"mlmviz-{kind}"
    else:
        path = _own_root() / _session_id() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def within_session(path):
    """`path` relative to its session's folder ("uploads/ab12….keras"), or None
    for a path outside every session folder (or not a path)."""
    try:
        parts = Path(path).resolve().relative_to(ROOT.resolve()).parts
    except (ValueError, OSError):
        return None
    return "/".join(parts[2:]) or None  # past <server pid>/<session id>/


def touch():
    """Mark this session's folder used now (the idle clock restarts), and
    start the sweep if it has not started; shared mode only."""
    if access.shared():
        _start_sweeping()
        try:
            os.utime(_own_root() / _session_id())
        except OSError:  # the session has written nothing
            pass


def _session_id():
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _own_root():
    return ROOT / str(os.getpid())


def room():
    """Bytes still free in the budget (shared mode; unlimited locally)."""
    if not access.shared():
        return float("inf")
    return max(0, access.disk_budget() - used(ROOT))


def check_room(size):
    """Raise StorageFull, saying the budget, when `size` more bytes do not fit."""
    if size > room():
        budget = access.disk_budget() / 2**20
        raise StorageFull(
            f"The server's space for uploads and trained heads ({budget:,.0f} MB for all "
            f"visitors together) is full: this needs {size / 2**20:,.1f} MB. Files are deleted "
            "when their session ends, or after an idle hour; try again later.")


def keep(path):
    """Keep the file at `path`, just written; when it took the budget past its
    end, delete it and raise StorageFull (shared mode only)."""
    if access.shared() and used(ROOT) > access.disk_budget():
        size = path.stat().st_size
        path.unlink()
        check_room(size)


def used(path):
    """Bytes in the files under `path` (0 when it does not exist)."""
    return sum(entry.st_size for entry in _entries(path, folders=False))


def _entries(path, folders=True):
    """`os.lstat` of everything under `path` (only files without `folders`),
    skipping what is deleted meanwhile."""
    for folder, names, files in os.walk(path):
        for name in (names + files if folders else files):
            try:
                yield os.lstat(os.path.join(folder, name))
            except OSError:
                pass


def sweep(alive, now=None, idle=IDLE, root=None):
    """Delete the session folders of this server whose session `alive(id)`
    denies, or with nothing written for `idle` seconds, and the folders of
    servers whose process is gone. Returns the session ids deleted."""
    now = time.time() if now is None else now
    root = ROOT if root is None else Path(root)
    gone = []
    for server in (root.iterdir() if root.is_dir() else ()):
        if server.name != str(os.getpid()):
            if server.name.isdigit() and not _running(int(server.name)):
                shutil.rmtree(server, ignore_errors=True)
            continue
        for session in server.iterdir():
            if not alive(session.name) or now - _last_write(session) > idle:
                shutil.rmtree(session, ignore_errors=True)
                gone.append(session.name)
    return gone


def _last_write(path):
    """The newest modification time of `path` or anything under it."""
    return max([path.stat().st_mtime, *(entry.st_mtime for entry in _entries(path))])


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


class _SessionsSeen:
    """Which sessions this server still holds. A session that is not active
    (its browser left) is alive for `server.disconnectedSessionTTL` seconds
    more, the time Streamlit keeps it for a reconnect."""

    def __init__(self):
        self.inactive_since = {}

    def __call__(self, session_id):
        if not Runtime.exists() or Runtime.instance().is_active_session(session_id):
            self.inactive_since.pop(session_id, None)
            return True
        since = self.inactive_since.setdefault(session_id, time.monotonic())
        return time.monotonic() - since <= config.get_option("server.disconnectedSessionTTL")


@st.cache_resource(show_spinner=False)
def _start_sweeping():
    """The sweeping thread of this server (one per process, started on first use)."""
    alive = _SessionsSeen()

    def loop():
        while True:
            try:
                sweep(alive)
            except OSError:  # a folder changed under this sweep: the next one tries again
                pass
            time.sleep(SWEEP_EVERY)
    thread = threading.Thread(target=loop, name="mlmviz-storage-sweep", daemon=True)
    thread.start()
    return thread
