"""bench_long_text: the Masking lab's work on a 600-word text, before and after windows.

Run: .venv/bin/python benchmarks/bench_long_text.py [--repetitions N]

The text (600 words of everyday sentences) is cut to the default model's 512
tokens. Candidates, alternated in one run:
- lab: the corruption and its loss (`masking_lab`), as every page view runs it;
- PLL, whole text in one pass: what the page ran on every view before it
  scored long texts a window at a time;
- PLL, first window: what the page scores now by default (24 tokens);
- PLL, all windows: "Score all", one window after another.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import mlmviz  # noqa: E402
from common import alternate, machine_lines, median_ms, table  # noqa: E402
from mlmviz.analysis.masking_lab import masking_lab  # noqa: E402
from mlmviz.analysis.pseudo_likelihood import (  # noqa: E402
    pseudo_log_likelihood, scorable_positions, window_parts,
)

SENTENCES = (
    "the old man walked his dog in the park every morning.",
    "she opened the window and looked at the garden below.",
    "the children played football on the street after school.",
    "a small boat sailed slowly across the quiet lake.",
    "he read the letter twice before he put it away.",
)


def words(count):
    """`count` words of `SENTENCES`, repeated in turn."""
    pool = " ".join(SENTENCES).split()
    return " ".join(pool[i % len(pool)] for i in range(count))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    model = mlmviz.load("default")
    text = words(600)
    encoding = model.tokenizer.encode(text)
    scorable = scorable_positions(model, encoding)
    parts = [part for part in window_parts(scorable, len(encoding.ids)).values() if part]
    candidates = {
        "lab (corruption and loss)": lambda: masking_lab(model, text, 0),
        "PLL, whole text in one pass (before)": lambda: pseudo_log_likelihood(model, text),
        f"PLL, first window of {len(parts[0])} tokens (after, default)":
            lambda: pseudo_log_likelihood(model, text, parts[0]),
        f"PLL, all {len(parts)} windows (after, 'Score all')":
            lambda: [pseudo_log_likelihood(model, text, part) for part in parts],
    }
    times = alternate(candidates, repetitions=args.repetitions, warmup=1)
    before = median_ms(times["PLL, whole text in one pass (before)"])
    rows = [(name, f"{median_ms(t) / 1000:.2f}", f"{median_ms(t) / before:.2f}")
            for name, t in times.items()]
    print("\n".join(machine_lines()))
    print(f"text: 600 words, {len(encoding.ids)} tokens after the cut "
          f"(truncated: {encoding.truncated}), {len(scorable)} scorable; "
          f"median of {args.repetitions} alternated runs")
    print(table(rows, ["work", "seconds", "× whole-text PLL"]))


if __name__ == "__main__":
    main()
