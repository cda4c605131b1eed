"""Safe checkpoint reading: pickles refused unopened, broken safetensors refused."""

import json
import pickle
import struct
import tracemalloc

import numpy as np
import pytest
from safetensors.numpy import save_file

import mlmviz
from mlmviz.sources.checkpoints import CheckpointError, read_safetensors


class _Payload:
    """Unpickling this would create the sentinel file."""

    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def _write_pickle(path, sentinel):
    path.write_bytes(pickle.dumps({"weight": _Payload(sentinel)}))
    return path


def test_the_payload_is_live(tmp_path):
    """Control: unpickling the test payload really does create the sentinel."""
    sentinel = tmp_path / "pwned"
    pickle.loads(_write_pickle(tmp_path / "x.bin", sentinel).read_bytes())
    assert sentinel.exists()


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pth", "last.ckpt"])
def test_pickle_files_are_refused_without_being_opened(tmp_path, name):
    sentinel = tmp_path / "pwned"
    path = _write_pickle(tmp_path / name, sentinel)
    with pytest.raises(CheckpointError, match="pickle-based.*never opens.*safetensors"):
        mlmviz.load(path)
    assert not sentinel.exists()


def test_pickle_only_directory_is_refused_with_a_conversion_hint(tmp_path):
    sentinel = tmp_path / "pwned"
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text(json.dumps({"model_type": "bert"}))
    _write_pickle(checkpoint / "pytorch_model.bin", sentinel)
    with pytest.raises(CheckpointError, match="pytorch_model.bin.*save_pretrained"):
        mlmviz.load(checkpoint)
    assert not sentinel.exists()


def test_pickle_renamed_to_safetensors_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    path = _write_pickle(tmp_path / "model.safetensors", sentinel)
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        read_safetensors(path)
    assert not sentinel.exists()


def test_valid_file_is_read_and_half_precision_becomes_float32(tmp_path):
    tensors = {"a": np.arange(6, dtype="float16").reshape(2, 3), "b": np.arange(3, dtype="int64")}
    save_file(tensors, tmp_path / "ok.safetensors")
    read = read_safetensors(tmp_path / "ok.safetensors")
    assert read["a"].dtype == np.float32 and read["b"].dtype == np.int64
    np.testing.assert_array_equal(read["a"], tensors["a"])


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "cut.safetensors"
    save_file({"w": np.ones((64, 64), "float32")}, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated"):
        read_safetensors(path)


def _raw_file(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def test_header_claiming_an_enormous_tensor_is_refused_in_bounded_memory(tmp_path):
    size = 10**12
    header = {"huge": {"dtype": "F32", "shape": [size], "data_offsets": [0, 4 * size]}}
    path = _raw_file(tmp_path / "huge.safetensors", header, b"\0" * 16)
    tracemalloc.start()
    with pytest.raises(CheckpointError, match="truncated"):
        read_safetensors(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20


@pytest.mark.parametrize(
    "header, message",
    [
        ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, "does not match"),
        ({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, "unsupported dtype"),
        ({"w": {"shape": [2]}}, "malformed header entry"),
        ([1, 2, 3], "malformed safetensors header"),
    ],
)
def test_malformed_headers_are_refused(tmp_path, header, message):
    path = _raw_file(tmp_path / "bad.safetensors", header, b"\0" * 16)
    with pytest.raises(CheckpointError, match=message):
        read_safetensors(path)


def test_header_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 4) + b"\xff\xfe{x" + b"\0" * 8)
    with pytest.raises(CheckpointError, match="not JSON"):
        read_safetensors(path)


def test_missing_path_and_plain_files_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        mlmviz.load(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="notes.txt is not a checkpoint. mlmviz loads a Hugging Face"):
        mlmviz.load(tmp_path / "notes.txt")
