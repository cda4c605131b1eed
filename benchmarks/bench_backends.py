"""`fill_mask` latency on the default model under each Keras backend.

Run from the repository root:

    .venv/bin/python benchmarks/bench_backends.py            # 20 repetitions
    .venv/bin/python benchmarks/bench_backends.py --quick    # 5

Each backend runs in its own process (Keras picks its backend once). For
each sentence it reports the first call (tracing or compiling included) and
the median of the repeated calls after it, in milliseconds.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from common import machine_lines, median_ms, table  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
SENTENCES = {
    "1 mask, 8 tokens": "he opened the [MASK] .",
    "2 masks, 14 tokens": "the [MASK] barked at the [MASK] all night long .",
    "1 mask, 40 tokens": "we walked " * 18 + "to the [MASK] .",
}


def measure(repetitions):
    """{sentence: (first call s, [repeated call s])} under this process's backend."""
    import mlmviz

    model = mlmviz.load("default")
    results = {}
    for name, text in SENTENCES.items():
        start = time.perf_counter()
        model.fill_mask(text, top_k=5)
        first = time.perf_counter() - start
        times = []
        for _ in range(repetitions):
            start = time.perf_counter()
            model.fill_mask(text, top_k=5)
            times.append(time.perf_counter() - start)
        results[name] = (first, times)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 repetitions instead of 20")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one backend's measurement
    args = parser.parse_args()
    repetitions = 5 if args.quick else 20
    if args.child:
        print(json.dumps(measure(repetitions)))
        return
    rows = []
    for backend in BACKENDS:
        command = [sys.executable, __file__, "--child", backend] + ["--quick"] * args.quick
        env = {**os.environ, "KERAS_BACKEND": backend}
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        results = json.loads(output.stdout.strip().splitlines()[-1])
        for name, (first, times) in results.items():
            rows.append((backend, name, f"{1000 * first:.0f}", f"{median_ms(times):.1f}"))
    print("\n".join(machine_lines(("keras", "tensorflow", "jax", "torch", "keras-hub"))))
    print(f"{repetitions} repetitions after the first call\n")
    print(table(rows, ("backend", "sentence", "first call ms", "median ms")))


if __name__ == "__main__":
    main()
