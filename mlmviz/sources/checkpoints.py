"""Opening checkpoint files safely.

mlmviz reads weights only from safetensors files (plain arrays, no code) and
`.keras` archives (loaded with `safe_mode=True`). Pickle-based formats can
run arbitrary code when opened, so they are refused without being opened.
"""

import json
import struct
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
MAX_HEADER_BYTES = 100 * 2**20
CONVERT_HINT = (
    "Convert it to safetensors in an environment you trust, e.g. "
    "`AutoModelForMaskedLM.from_pretrained(DIR).save_pretrained(OUT)` with "
    "transformers, which writes model.safetensors."
)
_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
    "I8": 1, "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8,
}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message says why and what to do."""


def refuse_pickle(path):
    """Raise `CheckpointError` if `path` names a pickle-based weights file.

    Only the name is looked at: the file is never opened.
    """
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"{path.name}: pickle-based checkpoints can run code when opened, "
            f"so mlmviz never opens them. {CONVERT_HINT}"
        )


def read_safetensors(path):
    """All tensors of a safetensors file, as float32/int numpy arrays.

    The header is validated before any tensor is read: a file that is not
    safetensors (a renamed pickle, say), truncated, or whose header claims
    more bytes than the file holds is refused with `CheckpointError`.
    Half-precision tensors are returned as float32.
    """
    path = Path(path)
    size = path.stat().st_size
    header, header_bytes = _read_header(path, size)
    data_bytes = max(
        (_check_entry(path, name, entry) for name, entry in header.items()
         if name != "__metadata__"),
        default=0,
    )
    if 8 + header_bytes + data_bytes > size:
        raise CheckpointError(
            f"{path.name} is truncated: its header describes "
            f"{8 + header_bytes + data_bytes} bytes, the file has {size}."
        )
    try:
        tensors = load_file(path)
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(f"{path.name} could not be read: {error}") from None
    return {
        name: value.astype(np.float32) if value.dtype.kind == "f" else value
        for name, value in tensors.items()
    }


def _read_header(path, size):
    """The parsed JSON header and its length in bytes."""
    with open(path, "rb") as file:
        prefix = file.read(8)
        length = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else 0
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(
                f"{path.name} is not a safetensors file (or it is truncated). "
                f"{CONVERT_HINT}"
            )
        raw = file.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(
            f"{path.name} is not a safetensors file: its header is not JSON."
        ) from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path.name}: malformed safetensors header.")
    return header, length


def _check_entry(path, name, entry):
    """Check one header entry; return the end offset of its data."""
    try:
        dtype, shape = entry["dtype"], [int(d) for d in entry["shape"]]
        start, end = (int(o) for o in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path.name}: malformed header entry {name!r}.") from None
    if dtype not in _DTYPE_BYTES:
        raise CheckpointError(f"{path.name}: tensor {name!r} has unsupported dtype {dtype}.")
    expected = _DTYPE_BYTES[dtype] * int(np.prod(shape, dtype=np.float64))
    if min(shape, default=0) < 0 or end - start != expected or start < 0:
        raise CheckpointError(
            f"{path.name}: tensor {name!r} of shape {tuple(shape)} ({dtype}) "
            f"does not match its {end - start} bytes of data."
        )
    return end


def check_links(paths, root):
    """Refuse checkpoint files that are links leading outside the folder `root`.

    `paths` are the files a load is about to read; the others are never
    looked at. A file that is a symbolic link to, say, `/etc/passwd` must
    not be read. Links whose target stays inside `root` (a checkpoint
    folder; for a Hugging Face cache snapshot, the model's cache folder,
    where its blobs live) are fine.

    Raises:
        CheckpointError: naming the link's full path and where it leads.
    """
    root = Path(root).resolve()
    for path in map(Path, paths):
        if not path.is_symlink():
            continue
        target = path.resolve()
        if not target.is_relative_to(root):
            raise CheckpointError(
                f"{path} is a link to {target}, outside the checkpoint folder {root}; mlmviz "
                "does not follow it. Copy the file into the checkpoint folder instead."
            )
