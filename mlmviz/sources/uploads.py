"""Turning an uploaded file into a checkpoint path, safely.

Users upload a `.keras` file or a zipped Hugging Face checkpoint directory.
A zip is extracted only after every member passed the checks: no absolute
paths or `..` (no writing outside the target), no links, no more than
`MAX_MEMBERS` members, and no more than `max_bytes` in all, counted on the
bytes actually read (a member that inflates past its declared size is
refused too). Pickle-based files are refused unopened.
"""

import hashlib
import io
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from mlmviz.sources.checkpoints import CheckpointError, refuse_pickle

MAX_MEMBERS = 1000


def store_upload(name, data, root, max_bytes, reserve=None):
    """Write an upload under `root`; return the path `mlmviz.load` should read.

    The same content always lands at the same path (named by its SHA-256)
    and is written only once, so Streamlit reruns with the upload still in
    place cost nothing and a model cache keyed by path loads it once.
    `reserve(size)`, when given, is called with the bytes about to be written
    (a zip's declared unpacked size) before anything is written, and only
    then; it may raise a CheckpointError to refuse them.

    Raises:
        CheckpointError: for an unsupported or refused file.
    """
    refuse_pickle(Path(name))
    if len(data) > max_bytes:
        raise CheckpointError(
            f"{name} is {len(data):,} bytes; the upload limit is {max_bytes:,} bytes."
        )
    suffix = Path(name).suffix.lower()
    digest = hashlib.sha256(data).hexdigest()[:16]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if suffix == ".keras":
        path = root / f"{digest}.keras"
        if not path.is_file():
            if reserve is not None:
                reserve(len(data))
            partial = path.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(path)
        return path
    if suffix == ".zip":
        target = root / digest
        if not target.is_dir():
            _extract(data, target, max_bytes, reserve)
        return _checkpoint_folder(target)
    raise CheckpointError(
        f"{name}: upload a .keras file or a .zip of a checkpoint directory."
    )


def _extract(data, target, max_bytes, reserve=None):
    """Extract a zipped checkpoint into `target`, all or nothing.

    Members go to a scratch folder renamed to `target` once every one was
    written, so a refused or damaged zip leaves no `target` behind.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CheckpointError("The upload is not a valid zip file.") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    _check_members(members, max_bytes)
    if reserve is not None:
        reserve(sum(member.file_size for member in members))
    scratch = target.with_name(target.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        _write_members(archive, members, scratch, max_bytes)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    scratch.rename(target)


def _write_members(archive, members, folder, max_bytes):
    budget = max_bytes
    for member in members:
        refuse_pickle(Path(member.filename))
        destination = folder.joinpath(*PurePosixPath(member.filename).parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(member) as source, open(destination, "wb") as out:
                budget -= _copy_limited(source, out, min(member.file_size, budget))
        except (zipfile.BadZipFile, zlib.error) as error:
            raise CheckpointError(f"The zip member {member.filename!r} is damaged: {error}") from None


def _check_members(members, max_bytes):
    if len(members) > MAX_MEMBERS:
        raise CheckpointError(f"The zip holds {len(members)} files; at most {MAX_MEMBERS}.")
    for member in members:
        parts = PurePosixPath(member.filename).parts
        if member.filename.startswith("/") or ".." in parts or "\\" in member.filename:
            raise CheckpointError(f"The zip member {member.filename!r} points outside the upload.")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise CheckpointError(f"The zip member {member.filename!r} is a link; links are refused.")
    declared = sum(member.file_size for member in members)
    if declared > max_bytes:
        raise CheckpointError(
            f"The zip unpacks to {declared:,} bytes; the limit is {max_bytes:,}."
        )


def _copy_limited(source, out, limit):
    """Copy at most `limit` bytes; refuse a member that holds more."""
    copied = 0
    while block := source.read(min(2**20, limit - copied + 1)):
        copied += len(block)
        if copied > limit:
            raise CheckpointError("A zip member unpacks to more than it declares; refused.")
        out.write(block)
    return copied


def _checkpoint_folder(target):
    """`target`, or its only subfolder when the zip wrapped one folder."""
    entries = list(target.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return target
