"""Text -> top-k at every mask: mlmviz `fill_mask` (A) against the transformers
fill-mask pipeline on torch CPU (B), on the same checkpoint and sentences.

Run from the repository root:

    .venv/bin/python benchmarks/bench_fill_mask.py            # 20 repetitions
    .venv/bin/python benchmarks/bench_fill_mask.py --quick    # 5, while developing
    .venv/bin/python benchmarks/bench_fill_mask.py --threads 1 --profile

Models: the shipped BERT-Tiny (`mlmviz/assets/default-model`) and a BERT-base-size
checkpoint with random weights and the default model's tokenizer, built once
and cached (`--cache-dir`). Both sides get the same number of CPU threads.
A measures only the public `mlmviz.load(path).fill_mask(text, top_k=5)`, so it
times whatever that code currently does. Target: A/B <= 0.5.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from common import alternate, machine_lines, median_ms, table  # noqa: E402

DEFAULT_MODEL = ROOT / "mlmviz" / "assets" / "default-model"
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"
)
SENTENCES = {
    1: "The capital of France is [MASK].",
    3: "The [MASK] sat on the [MASK] and ate a [MASK] for breakfast.",
}
TOP_K = 5
TARGET = 0.5
BERT_BASE = dict(
    vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
    intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="CPU threads for torch and TensorFlow alike (default: all)")
    parser.add_argument("--repetitions", type=int, default=20, help="timed calls per side")
    parser.add_argument("--quick", action="store_true", help="5 repetitions, 1 warm-up")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path("~/.cache/mlmviz-bench").expanduser(),
                        help="where the random BERT-base checkpoint is kept")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile (top 15 cumulative) of one call per side")
    args = parser.parse_args()
    if args.quick:
        args.repetitions = 5
    return args


def set_threads(n):
    """Give TensorFlow and torch `n` threads; TF's must be set before it runs anything."""
    import tensorflow as tf
    import torch

    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)
    torch.set_num_threads(n)
    return (f"threads: torch {torch.get_num_threads()}, TensorFlow intra-op "
            f"{tf.config.threading.get_intra_op_parallelism_threads()} / inter-op "
            f"{tf.config.threading.get_inter_op_parallelism_threads()}")


def code_line():
    """Which mlmviz code is measured: the commit, and files changed since it."""
    def git(*command):
        result = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.rstrip("\n")

    try:
        commit = git("rev-parse", "--short", "HEAD") or "unknown"
        changed = [line[3:] for line in git("status", "--porcelain", "--", "mlmviz").splitlines()]
    except OSError:
        return "mlmviz code: not a git checkout"
    return f"mlmviz code: commit {commit}" + (
        f" + uncommitted changes to {', '.join(changed)}" if changed else " (clean)"
    )


def load_warning(load, threads):
    """A caution when other work competes for the CPUs the benchmark uses."""
    if load < 0.5 or threads < 2:
        return []
    return [
        f"**busy machine**: 1-minute load average {load:.2f} before the run. torch's "
        f"OpenMP threads slow down badly when fewer than {threads} cores are free "
        "(the pipeline's calls become bimodal); compare with `--threads 1`."
    ]


def bert_base_random(cache_dir):
    """A BERT-base-size `BertForMaskedLM` with random weights (seed 0), cached."""
    directory = cache_dir / "bert-base-random"
    if (directory / "model.safetensors").is_file() and (directory / "config.json").is_file():
        return directory
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(**BERT_BASE)).eval()
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".building-"))
    try:
        model.save_pretrained(staging)  # safetensors: the only format in transformers 5
        for name in TOKENIZER_FILES:
            if (DEFAULT_MODEL / name).is_file():
                shutil.copy(DEFAULT_MODEL / name, staging)
        shutil.rmtree(directory, ignore_errors=True)  # an incomplete earlier build
        os.replace(staging, directory)  # never leave a half-written cache
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def load_both(path):
    """(mlmviz model, transformers pipeline, load seconds of each) for `path`."""
    import mlmviz
    from transformers import pipeline

    start = time.perf_counter()
    ours = mlmviz.load(str(path))
    middle = time.perf_counter()
    theirs = pipeline(
        "fill-mask", model=str(path), tokenizer=str(path), device="cpu", top_k=TOP_K
    )
    return ours, theirs, (middle - start, time.perf_counter() - middle)


def top_ks(ours, theirs, text):
    """Per mask, `[(token_id, probability)] * top_k` from each side."""
    a = [[(p["token_id"], p["probability"]) for p in mask["predictions"]]
         for mask in ours.fill_mask(text, top_k=TOP_K)["masks"]]
    b = theirs(text)
    b = [b] if isinstance(b[0], dict) else b  # one mask: a flat list
    b = [[(p["token"], p["score"]) for p in row] for row in b]
    return a, b


def agreement(ours, a, b):
    """Cells: top-1 agreement, top-5 overlap, max |Δprob| on shared tokens, top-1s."""
    if len(a) != len(b):
        return [f"mask count {len(a)} vs {len(b)}", "", "", ""]
    same_top1 = sum(x[0][0] == y[0][0] for x, y in zip(a, b))
    shared, gap = 0, 0.0
    for x, y in zip(a, b):
        theirs = dict(y)
        for token_id, probability in x:
            if token_id in theirs:
                shared += 1
                gap = max(gap, abs(probability - theirs[token_id]))
    tokens = " ".join(ours.vocabulary[x[0][0]] for x in a)
    return [f"{same_top1}/{len(a)}", f"{shared}/{TOP_K * len(a)}", f"{gap:.1e}", tokens]


def profile(function, label):
    """Top 15 cumulative entries of one call of `function`, as text."""
    profiler = cProfile.Profile()
    profiler.runcall(function)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    body = out.getvalue().strip().replace(str(ROOT) + "/", "")
    body = re.sub(r"\S*/site-packages/", "", body)
    return f"\n#### {label}\n\n```\n{body}\n```"


def time_case(ours, theirs, text, args):
    """Timing cells for one sentence: medians, ratio, target, minimums."""
    times = alternate(
        {"A": lambda: ours.fill_mask(text, top_k=TOP_K), "B": lambda: theirs(text)},
        repetitions=args.repetitions, warmup=1 if args.quick else 3,
    )
    ms_a, ms_b = median_ms(times["A"]), median_ms(times["B"])
    ratio = ms_a / ms_b
    lowest = f"{1000 * min(times['A']):.1f} / {1000 * min(times['B']):.1f}"
    return [f"{ms_a:.1f}", f"{ms_b:.1f}", f"{ratio:.2f}",
            "met" if ratio <= TARGET else "not met", lowest]


def bench_model(name, path, args):
    """Timing rows, agreement rows and notes (load times, profiles) for one model."""
    ours, theirs, (load_a, load_b) = load_both(path)
    timing, agree = [], []
    notes = [f"- {name}: load {load_a:.2f} s (mlmviz), {load_b:.2f} s (transformers)"]
    for masks, text in SENTENCES.items():
        agree.append([name, masks] + agreement(ours, *top_ks(ours, theirs, text)))
        timing.append([name, masks] + time_case(ours, theirs, text, args))
        if args.profile:
            case = f"{name}, {masks} mask(s)"
            notes.append(profile(lambda: ours.fill_mask(text, top_k=TOP_K), f"A mlmviz, {case}"))
            notes.append(profile(lambda: theirs(text), f"B transformers, {case}"))
    return timing, agree, notes


def main():
    args = parse_args()
    threads = set_threads(args.threads)
    load_before, code = os.getloadavg()[0], code_line()  # before the run changes either
    models = {
        "bert-tiny (default)": DEFAULT_MODEL,
        "bert-base random": bert_base_random(args.cache_dir),
    }
    timing, agree, notes = [], [], []
    for name, path in models.items():
        rows = bench_model(name, path, args)
        timing += rows[0]
        agree += rows[1]
        notes += rows[2]
    packages = ("keras", "tensorflow", "keras-hub", "numpy", "torch", "transformers", "tokenizers")
    print("## fill_mask: mlmviz (A) vs transformers pipeline, torch CPU (B)\n")
    lines = machine_lines(packages) + [threads, code]
    lines += load_warning(load_before, args.threads)
    print("\n".join(f"- {line}" for line in lines))
    print(f"- {args.repetitions} repetitions per side, interleaved, medians; top_k={TOP_K}")
    print(f"- 1-minute load average: {load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    for masks, text in SENTENCES.items():
        print(f"- {masks} mask(s): {text!r}")
    print("\n### Time per call (text -> top-k)\n")
    print(table(timing, ["model", "masks", "A mlmviz ms", "B transformers ms", "A/B",
                         f"target A/B <= {TARGET}", "min ms A / B"]))
    print("\n### Agreement (same weights; random BERT-base is near-uniform)\n")
    print(table(agree, ["model", "masks", "top-1 same", "top-5 shared",
                        "max Δprob (shared top-5)", "A top-1"]))
    print("\n### Notes\n")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
