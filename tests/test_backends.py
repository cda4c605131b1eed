"""The package gives TensorFlow's numbers on every Keras backend, within 1e-5.

Run under KERAS_BACKEND=jax or torch (`make test` does): the readings of
tests/backend_readings.py on the default model, computed in this process,
are compared with the same readings from a TensorFlow subprocess.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import numpy as np

from backend_readings import readings

pytestmark = pytest.mark.backends
TOLERANCE = 1e-5  # relative or absolute, whichever is larger
SCRIPT = Path(__file__).with_name("backend_readings.py")


@pytest.fixture(scope="module")
def tensorflow_readings(tmp_path_factory):
    out = tmp_path_factory.mktemp("tensorflow") / "readings.json"
    root = str(SCRIPT.parent.parent)  # where `import mlmviz` finds the package
    env = {**os.environ, "KERAS_BACKEND": "tensorflow",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, str(SCRIPT), str(out)], env=env, check=True, timeout=600)
    return json.loads(out.read_text())


@pytest.mark.skipif(keras.backend.backend() == "tensorflow",
                    reason="compares another backend with TensorFlow")
def test_every_reading_equals_tensorflow(default_model, tensorflow_readings):
    ours = json.loads(json.dumps(readings(default_model)))  # the same types as the file's
    assert ours.keys() == tensorflow_readings.keys()
    differ = differences(ours, tensorflow_readings)
    assert not differ, f"differ from TensorFlow beyond {TOLERANCE}: {differ[:20]}"


def differences(a, b, path="readings"):
    """Paths where nested `a` and `b` differ: in structure, keys, strings or
    integers, or floats further apart than `TOLERANCE` (+ `TOLERANCE` x |b|)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path} keys"]
        return [d for key in a for d in differences(a[key], b[key], f"{path}.{key}")]
    if isinstance(a, list) and isinstance(b, list):
        x, y = _array(a), _array(b)
        if x is None or y is None:
            if len(a) != len(b):
                return [f"{path} length"]
            return [d for i, pair in enumerate(zip(a, b)) for d in differences(*pair, f"{path}.{i}")]
        a, b = x, y
    elif isinstance(a, float) or isinstance(b, float):
        a, b = np.float64(a), np.float64(b)
    if isinstance(a, np.ndarray) and (a.shape != b.shape or a.dtype.kind != b.dtype.kind):
        return [f"{path} shape or type"]
    if np.asarray(a).dtype.kind == "f":
        same = np.isclose(a, b, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True).all()
    else:
        same = np.array_equal(a, b)
    return [] if same else [path]


def _array(values):
    """`values` as a numeric or string numpy array, or None when it holds dicts or None."""
    try:
        array = np.asarray(values)
    except ValueError:  # ragged
        return None
    return array if array.dtype.kind in "biufU" else None
