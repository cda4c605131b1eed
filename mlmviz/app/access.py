"""What a visitor may do: the app's two modes, read from the environment.

*Local* (the default; `make run`, `mlmviz app`): one person's machine, every
source, typed paths included. *Shared* (`MLMVIZ_SHARED=1`, set by `mlmviz
serve`): a server for others, who reach only what the operator offers.

The environment contract (docs/serving-a-class.md; tests and deployments
rely on these names):
    MLMVIZ_SHARED=1             shared mode on
    MLMVIZ_MODELS_DIR=DIR       each sub-folder or `.keras` file of DIR is one
                                offered model, chosen by its name
    MLMVIZ_ALLOW_UPLOADS=1      visitors may upload a checkpoint (off unless set)
    MLMVIZ_ALLOW_DOWNLOADS=1    visitors may download well-known models into
                                the Hub cache (off unless set)
    MLMVIZ_DISK_MB=N            uploads and trained heads of all sessions
                                together, at most N MB (default 2,000)

The values are read on every call (a few dictionary lookups), so a test may
set them between runs. Nothing here imports Streamlit.
"""

import os
import re
from pathlib import Path

from mlmviz.sources import hub
from mlmviz.sources.known import KNOWN_MODELS

SHARED_ENV = "MLMVIZ_SHARED"
MODELS_DIR_ENV = "MLMVIZ_MODELS_DIR"
UPLOADS_ENV = "MLMVIZ_ALLOW_UPLOADS"
DOWNLOADS_ENV = "MLMVIZ_ALLOW_DOWNLOADS"
DISK_ENV = "MLMVIZ_DISK_MB"
DEFAULT_DISK_MB = 2_000

# The sidebar's kinds of model A. "Server model" and "Trained head" exist in
# shared mode only, "Checkpoint path" in local mode only.
DEFAULT, KNOWN, PATH, SERVER, UPLOAD, TRAINED = (
    "Embedded default", "Well-known model", "Checkpoint path", "Server model", "Upload",
    "Trained head")
MODEL_KINDS = (DEFAULT, KNOWN, PATH, SERVER, UPLOAD, TRAINED)  # every kind a link may name
COMPARE_KINDS = (DEFAULT, PATH, SERVER)
SERVER_PREFIX = "server:"  # the source of an offered model: "server:NAME"

# Shared mode's per-visitor limits on the expensive runs (local mode: the pages' own).
SHARED_EVALUATED_LINES = 2_000
SHARED_TRAIN_SECONDS = 60
SHARED_PLL_TOKENS = 128  # Masking lab: tokens scored at once

# The one note for a link's model that this server does not offer: the same
# whatever the link names (a path that exists or not, a file or a folder).
NOT_OFFERED = ("the link names a model this server does not offer (a checkpoint path, an "
               "upload or an unknown name); the embedded default runs instead")


def environment(models_dir=None, uploads=False, downloads=False, disk_mb=DEFAULT_DISK_MB):
    """The environment that turns a server's app into shared mode with these
    offers (what `mlmviz serve` gives its servers)."""
    return {
        SHARED_ENV: "1",
        MODELS_DIR_ENV: str(Path(models_dir).resolve()) if models_dir else "",
        UPLOADS_ENV: "1" if uploads else "0",
        DOWNLOADS_ENV: "1" if downloads else "0",
        DISK_ENV: f"{disk_mb:g}",
    }


def _on(name):
    return os.environ.get(name, "") == "1"


def shared():
    """True when the app serves others (`MLMVIZ_SHARED=1`)."""
    return _on(SHARED_ENV)


def uploads_allowed():
    """Local mode, or shared mode with `MLMVIZ_ALLOW_UPLOADS=1`."""
    return not shared() or _on(UPLOADS_ENV)


def downloads_allowed():
    """Local mode, or shared mode with `MLMVIZ_ALLOW_DOWNLOADS=1`."""
    return not shared() or _on(DOWNLOADS_ENV)


def model_kinds(trained=False):
    """The sidebar's Model choices, in order; `trained`: this session has
    explored a head it trained (shared mode offers it as "Trained head")."""
    if not shared():
        return DEFAULT, KNOWN, PATH, UPLOAD
    return (DEFAULT, *([KNOWN] if known_models() else []),
            *([SERVER] if server_models() else []),
            *([UPLOAD] if uploads_allowed() else []), *([TRAINED] if trained else []))


def known_models():
    """The well-known models offered: every one where downloads are allowed,
    else those already in the local Hugging Face cache."""
    return [model.repo_id for model in KNOWN_MODELS
            if downloads_allowed() or hub.cached_snapshot(model.repo_id)]


def compare_kinds():
    """Model B's choices (Compare, Evaluate)."""
    if not shared():
        return DEFAULT, PATH
    return (DEFAULT, SERVER) if server_models() else (DEFAULT,)


def models_dir():
    """The operator's models folder (`MLMVIZ_MODELS_DIR`), or None."""
    folder = os.environ.get(MODELS_DIR_ENV, "")
    return Path(folder).expanduser().resolve() if folder else None


def server_models():
    """`{name: path}` of the offered models, by name: each visible sub-folder
    and `.keras` file of the models folder (a file is named without `.keras`).
    Empty in local mode, without a folder, or when it cannot be read."""
    folder = models_dir()
    if not shared() or folder is None:
        return {}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return {}
    return {
        (entry.stem if entry.suffix == ".keras" else entry.name): entry
        for entry in entries
        if not entry.name.startswith(".") and (entry.is_dir() or entry.suffix == ".keras")
    }


def disk_budget():
    """Bytes that uploads and trained heads may take on the server in all."""
    raw = os.environ.get(DISK_ENV, "")
    megabytes = float(raw) if raw.replace(".", "", 1).isdigit() else DEFAULT_DISK_MB
    return int(megabytes * 2**20)


def most_evaluated_lines(local_most):
    """Evaluate's most lines per run: `local_most` in local mode."""
    return min(local_most, SHARED_EVALUATED_LINES) if shared() else local_most


def train_seconds(local_choices):
    """Train the head's choices of seconds: those up to the shared limit in shared mode."""
    return tuple(s for s in local_choices if s <= SHARED_TRAIN_SECONDS) if shared() \
        else tuple(local_choices)


def public(message):
    """`message` fit for a visitor: in shared mode a path in the models folder
    becomes relative to it ("tiny-bert/config.json") and any other absolute
    path is cut to its last part ("…/hub"), so that no folder of the server
    (temp, home, cache, working directory) shows; unchanged in local mode."""
    if not shared():
        return message
    folder = models_dir()
    if folder is not None:
        message = message.replace(f"{folder}/", "").replace(str(folder), "the models folder")
    return re.sub(r"(?<![\w.])/(?:[^\s'\"`:,;()/]+/)*([^\s'\"`:,;()/]+)", r"…/\1", message)
