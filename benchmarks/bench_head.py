"""bench_head: our MaskedLMHead against keras-hub's, side by side.

Run: .venv/bin/python benchmarks/bench_head.py [--repetitions N] [--quick]

BERT-base dimensions (hidden 768, vocabulary 30522, tied embedding, GELU),
identical weights. Candidates, alternated in one run:
- keras-hub eager: `keras_hub.layers.MaskedLMHead` called as a user calls a
  layer, result converted to numpy;
- mlmviz compiled: our head compiled as the app runs it
  (`mlmviz.compiled.compile_head`, Keras `predict_on_batch`);
- mlmviz eager and keras-hub compiled, for reference.
The floor is the time to read the embedding matrix once at this machine's
memory bandwidth (measured here with a large numpy copy).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402

from common import alternate, machine_lines, median_ms, table  # noqa: E402
from mlmviz import MaskedLMHead  # noqa: E402
from mlmviz.compiled import compile_head  # noqa: E402

HIDDEN, VOCAB = 768, 30522
SHAPES = [(1, 128, 8), (32, 128, 20)]  # (batch, sequence, masks)


def memory_bandwidth(megabytes=512, repetitions=5):
    """Bytes per second of a large numpy copy (one read and one write per byte)."""
    source = np.ones(megabytes * 2**20 // 4, dtype="float32")
    target = np.empty_like(source)
    best = min(_timed(np.copyto, target, source) for _ in range(repetitions))
    return 2 * source.nbytes / best


def _timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def build_heads(rng):
    """Our head and keras-hub's, tied, BERT-base sized, with the same weights."""
    ours_embedding = keras.layers.ReversibleEmbedding(VOCAB, HIDDEN)
    theirs_embedding = keras_hub.layers.ReversibleEmbedding(VOCAB, HIDDEN)
    ours = MaskedLMHead(token_embedding=ours_embedding, intermediate_activation="gelu",
                        layer_norm_epsilon=1e-12)
    theirs = keras_hub.layers.MaskedLMHead(token_embedding=theirs_embedding,
                                           intermediate_activation="gelu",
                                           layer_norm_epsilon=1e-12)
    hidden = rng.normal(size=(1, 4, HIDDEN)).astype("float32")
    positions = np.zeros((1, 1), "int32")
    for embedding, head in ((ours_embedding, ours), (theirs_embedding, theirs)):
        embedding.build((None,))
        head(hidden, positions)
    for source, target in zip(ours.weights, theirs.weights):
        assert source.path.split("/")[-1] == target.path.split("/")[-1]
    weights = [rng.normal(scale=0.05, size=w.shape).astype("float32") for w in ours.weights]
    for w, value in zip(ours.weights, weights):
        w.assign(value)
    for w, value in zip(theirs.weights, weights):
        w.assign(value)
    return ours, theirs


def case(ours, theirs, shape, rng, repetitions):
    batch, seq, masks = shape
    hidden = rng.normal(size=(batch, seq, HIDDEN)).astype("float32")
    positions = np.sort(rng.choice(seq, size=(batch, masks)), axis=1).astype("int32")
    compiled_ours, compiled_theirs = compile_head(ours, HIDDEN), _compile(theirs)
    candidates = {
        "keras-hub eager": lambda: keras.ops.convert_to_numpy(theirs(hidden, positions)),
        "mlmviz compiled": lambda: compiled_ours(hidden, positions),
        "mlmviz eager": lambda: keras.ops.convert_to_numpy(ours(hidden, positions)),
        "keras-hub compiled": lambda: compiled_theirs(hidden, positions),
    }
    difference = np.abs(candidates["mlmviz compiled"]() - candidates["keras-hub eager"]()).max()
    return alternate(candidates, repetitions), difference


def _compile(head):
    hidden = keras.Input(shape=(None, HIDDEN), dtype="float32")
    positions = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model([hidden, positions], head(hidden, positions))
    return lambda states, slots: model.predict_on_batch([states, slots])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 repetitions")
    args = parser.parse_args()
    repetitions = 5 if args.quick else args.repetitions
    print("# bench_head\n")
    for line in machine_lines(("keras", "tensorflow", "keras-hub", "numpy")):
        print(f"- {line}")
    print(f"- Keras backend: {keras.backend.backend()}; {repetitions} repetitions after 3 warm-up calls\n")
    bandwidth = memory_bandwidth()
    floor_ms = 1000 * VOCAB * HIDDEN * 4 / bandwidth
    print(f"Memory bandwidth (numpy copy): {bandwidth / 1e9:.1f} GB/s; reading the "
          f"{VOCAB}x{HIDDEN} float32 embedding once: **{floor_ms:.2f} ms** (the floor)\n")
    rng = np.random.default_rng(0)
    ours, theirs = build_heads(rng)
    rows = []
    for shape in SHAPES:
        times, difference = case(ours, theirs, shape, rng, repetitions)
        base = median_ms(times["keras-hub eager"])
        for name, samples in times.items():
            ms = median_ms(samples)
            rows.append([f"{shape[0]}x{shape[1]}, {shape[2]} masks", name, f"{ms:.2f}",
                         f"{ms / base:.2f}", f"{ms / floor_ms:.1f}"])
        print(f"(batch {shape[0]}, masks {shape[2]}: max |mlmviz compiled - keras-hub| = {difference:.2e})")
    print()
    print(table(rows, ["shape", "candidate", "median ms", "vs keras-hub eager", "x floor"]))
    print("\nTargets: mlmviz compiled <= 0.5x keras-hub eager at both shapes; "
          "<= 3x the floor at batch 1.")


if __name__ == "__main__":
    main()
