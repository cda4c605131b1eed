"""Text -> top-k at every mask: mlmviz `fill_mask` (A) against the transformers
fill-mask pipeline on torch CPU (B), on the same checkpoint and sentences.

Run from the repository root:

    .venv/bin/python benchmarks/bench_fill_mask.py            # 20 repetitions
    .venv/bin/python benchmarks/bench_fill_mask.py --quick    # 5, while developing
    .venv/bin/python benchmarks/bench_fill_mask.py --threads 1 --profile
    .venv/bin/python benchmarks/bench_fill_mask.py --precision float32,bfloat16 --breakdown
    .venv/bin/python benchmarks/bench_fill_mask.py --models modernbert-base --breakdown

Models (`--models`): the shipped BERT-Tiny (`mlmviz/assets/default-model`),
and BERT-base-size and ModernBERT-base-size checkpoints with random weights
and the default model's tokenizer, built once and cached (`--cache-dir`).
Both sides get the same number of CPU threads.
A measures only the public `mlmviz.load(path).fill_mask(text, top_k=5)`, so it
times whatever that code currently does, once per `--precision` (the
pipeline stays float32): one table per precision, with its agreement with
float32 on mlmviz's fixed sample. Targets: A/B <= 0.5 (BERT), <= 1.0 (ModernBERT,
whose encoder is mlmviz's own).
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

import numpy as np

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
TARGETS = {"bert-tiny": 0.5, "bert-base": 0.5, "modernbert-base": 1.0}
BERT_BASE = dict(
    vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
    intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
)
MODERNBERT_BASE = dict(  # answerdotai/ModernBERT-base's sizes
    vocab_size=50368, hidden_size=768, num_hidden_layers=22, num_attention_heads=12,
    intermediate_size=1152, max_position_embeddings=8192, global_attn_every_n_layers=3,
    local_attention=128, pad_token_id=0, cls_token_id=101, sep_token_id=102,
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
    parser.add_argument("--precision", default="float32",
                        help="comma-separated mlmviz precisions, e.g. float32,bfloat16")
    parser.add_argument("--models", default="bert-tiny,bert-base",
                        help=f"comma-separated, of {', '.join(TARGETS)}")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time mlmviz's parts: tokenizing, encoder, encoder + head graph")
    args = parser.parse_args()
    args.precision = args.precision.split(",")
    args.models = args.models.split(",")
    unknown = set(args.models) - set(TARGETS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {', '.join(TARGETS)}")
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


def random_checkpoint(cache_dir, name):
    """A `bert-base` or `modernbert-base` size `*ForMaskedLM` with random weights
    (seed 0) and the default model's tokenizer, cached."""
    directory = cache_dir / f"{name}-random"
    if (directory / "model.safetensors").is_file() and (directory / "config.json").is_file():
        return directory
    import torch
    from transformers import BertConfig, BertForMaskedLM, ModernBertConfig, ModernBertForMaskedLM

    torch.manual_seed(0)
    if name == "bert-base":
        model = BertForMaskedLM(BertConfig(**BERT_BASE)).eval()
    else:
        model = ModernBertForMaskedLM(ModernBertConfig(**MODERNBERT_BASE)).eval()
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


def load_ours(path, precision):
    """(mlmviz model in `precision`, load seconds)."""
    import mlmviz

    start = time.perf_counter()
    return mlmviz.load(str(path), precision=precision), time.perf_counter() - start


def load_theirs(path):
    """(transformers fill-mask pipeline, load seconds)."""
    from transformers import pipeline

    start = time.perf_counter()
    theirs = pipeline(
        "fill-mask", model=str(path), tokenizer=str(path), device="cpu", top_k=TOP_K
    )
    return theirs, time.perf_counter() - start


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


def time_case(ours, theirs, text, args, target):
    """Timing cells for one sentence: medians, ratio, target, minimums."""
    times = alternate(
        {"A": lambda: ours.fill_mask(text, top_k=TOP_K), "B": lambda: theirs(text)},
        repetitions=args.repetitions, warmup=1 if args.quick else 3,
    )
    ms_a, ms_b = median_ms(times["A"]), median_ms(times["B"])
    ratio = ms_a / ms_b
    lowest = f"{1000 * min(times['A']):.1f} / {1000 * min(times['B']):.1f}"
    return [f"{ms_a:.1f}", f"{ms_b:.1f}", f"{ratio:.2f}",
            f"{target}: {'met' if ratio <= target else 'not met'}", lowest]


def breakdown(ours, text, args):
    """Median ms of mlmviz's parts for `text`: fill_mask, tokenize + mask, the compiled
    encoder + head graph, the encoder alone (compiled the same way)."""
    import keras

    from mlmviz.compiled import encoder_inputs

    masked = ours.mask(text)
    queries = [[0]] * len(masked.positions)  # (masks, 1)
    ids = np.array([masked.ids], "int32")  # (1, seq)
    feed = encoder_inputs(ours.backbone, ids, np.ones_like(ids))
    encoder = keras.Model(ours.backbone.input, ours.backbone.output)
    times = alternate({
        "fill_mask": lambda: ours.fill_mask(text, top_k=TOP_K),
        "mask": lambda: ours.mask(text),
        "graph": lambda: ours._predictor(masked.ids, masked.positions, queries, 1.0),
        "encoder": lambda: encoder.predict_on_batch(feed),
    }, repetitions=args.repetitions, warmup=1 if args.quick else 3)
    return {name: median_ms(values) for name, values in times.items()}


def bench_model(name, path, args):
    """Per precision: timing rows, agreement rows, breakdown rows; notes."""
    theirs, load_b = load_theirs(path)
    rows = {precision: ([], [], []) for precision in args.precision}
    notes = []
    for precision in args.precision:
        ours, load_a = load_ours(path, precision)
        timing, agree, parts = rows[precision]
        sample = "" if precision == "float32" else ", agreement sample included"
        notes.append(f"- {name}, {precision}: load {load_a:.2f} s (mlmviz{sample}), "
                     f"{load_b:.2f} s (transformers, float32)")
        for masks, text in SENTENCES.items():
            agree.append([name, masks] + agreement(ours, *top_ks(ours, theirs, text)))
            timing.append([name, masks] + time_case(ours, theirs, text, args, TARGETS[name])
                          + sample_cells(ours.metadata))
            if args.breakdown:
                ms = breakdown(ours, text, args)
                parts.append([name, masks] + [f"{ms[k]:.1f}" for k in
                             ("fill_mask", "mask", "graph", "encoder")]
                             + [f"{ms['graph'] - ms['encoder']:.1f}",
                                f"{ms['fill_mask'] - ms['graph'] - ms['mask']:.1f}"])
            if args.profile:
                case = f"{name}, {precision}, {masks} mask(s)"
                notes.append(profile(lambda: ours.fill_mask(text, top_k=TOP_K),
                                     f"A mlmviz, {case}"))
    if args.profile:
        for masks, text in SENTENCES.items():
            notes.append(profile(lambda: theirs(text), f"B transformers, {name}, {masks} mask(s)"))
    return rows, notes


def sample_cells(metadata):
    """The agreement with float32 on mlmviz's sample: top-1, top-5 overlap, max |Δp|."""
    figures = metadata.get("agreement")
    if figures is None:
        return ["(reference)", "", ""]
    same = round(figures["top1"] * figures["masks"])
    return [f"{same}/{figures['masks']} ({100 * figures['top1']:.1f} %)",
            f"{figures['top5_overlap']:.2f}/5", f"{figures['max_dp']:.1e}"]


def main():
    args = parse_args()
    threads = set_threads(args.threads)
    load_before, code = os.getloadavg()[0], code_line()  # before the run changes either
    models = {name: DEFAULT_MODEL if name == "bert-tiny" else random_checkpoint(args.cache_dir, name)
              for name in args.models}
    rows = {precision: ([], [], []) for precision in args.precision}
    notes = []
    for name, path in models.items():
        model_rows, model_notes = bench_model(name, path, args)
        for precision, (timing, agree, parts) in model_rows.items():
            rows[precision][0].extend(timing)
            rows[precision][1].extend(agree)
            rows[precision][2].extend(parts)
        notes += model_notes
    packages = ("keras", "tensorflow", "keras-hub", "numpy", "torch", "transformers", "tokenizers")
    print("## fill_mask: mlmviz (A) vs transformers pipeline, torch CPU (B)\n")
    lines = machine_lines(packages) + [threads, code]
    lines += load_warning(load_before, args.threads)
    print("\n".join(f"- {line}" for line in lines))
    print(f"- {args.repetitions} repetitions per side, interleaved, medians; top_k={TOP_K}")
    print(f"- 1-minute load average: {load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    for masks, text in SENTENCES.items():
        print(f"- {masks} mask(s): {text!r}")
    for precision, (timing, agree, parts) in rows.items():
        print(f"\n### mlmviz in {precision}: time per call (text -> top-k), B in float32\n")
        print(table(timing, ["model", "masks", "A mlmviz ms", "B transformers ms", "A/B",
                             "target A/B <=", "min ms A / B",
                             "sample top-1 same as float32", "sample top-5 overlap",
                             "sample max |Δp|"]))
        print(f"\n### mlmviz in {precision} vs the pipeline: agreement on the two sentences\n")
        print(table(agree, ["model", "masks", "top-1 same", "top-5 shared",
                            "max Δprob (shared top-5)", "A top-1"]))
        if parts:
            print(f"\n### mlmviz in {precision}: where a call's time goes (median ms)\n")
            print(table(parts, ["model", "masks", "fill_mask", "tokenize + mask",
                                "encoder + head graph", "encoder alone", "head + read-out",
                                "Python rest"]))
    print("\n### Notes\n")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
