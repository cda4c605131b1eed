"""Corpus evaluation: `mlmviz.analysis.evaluation.evaluate` (A) against the same
evaluation written plainly with `transformers` (B), on the same checkpoint.

Run from the repository root:

    .venv/bin/python benchmarks/bench_evaluate.py            # 3 runs per side
    .venv/bin/python benchmarks/bench_evaluate.py --quick    # 1 run, fewer lines

A times the public `evaluate(model, lines, batch_size=B)` on the corpus lines:
tokenizing, masking, batching, the model and the metrics. B gets the very same
masked batches ready-made (built with mlmviz's masking beforehand, not timed,
padded only to each batch's longest line) and runs `*ForMaskedLM` on each, then
takes, at the masked positions, the figures of A's summary: top-1, top-5, the
label's cross-entropy at each temperature of the grid (the loss and the best
temperature) and the top-1 probability's calibration bins (ECE). So B's time
is the model plus the read-out, A's everything (by_frequency aside, which
only counts tokens). Both sides use the same batch size and threads; runs alternate A, B, A, B.
Tokens per second count the tokens of the scored lines (special tokens
included, padding not). Targets: A/B speed >= 3 on the default model,
>= 1.2 on a BERT-base-size random checkpoint.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_fill_mask import DEFAULT_MODEL, bert_base_random, code_line, set_threads
from common import machine_lines, table

SAMPLE = ROOT / "mlmviz" / "assets" / "heldout-sample.txt"
TARGETS = {"bert-tiny (default)": 3.0, "bert-base random": 1.2}
RATE, SEED = 0.15, 0
FIGURES = ("top1_accuracy", "top5_accuracy", "loss", "ece")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SAMPLE, help="one sequence per line")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side")
    parser.add_argument("--lines", type=int, default=2000, help="corpus lines, default model")
    parser.add_argument("--base-lines", type=int, default=256, help="corpus lines, BERT-base")
    parser.add_argument("--quick", action="store_true", help="1 run, 500 / 64 lines")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path("~/.cache/mlmviz-bench").expanduser(),
                        help="where the random BERT-base checkpoint is kept")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.lines, args.base_lines = 1, 500, 64
    return args


def masked_batches(model, lines, batch_size):
    """mlmviz's own masked batches of `lines`, unpadded beyond each batch's longest."""
    from mlmviz.analysis import evaluation

    corpus = evaluation.examples(model, lines, RATE, SEED)
    return [evaluation.pad(batch, model.tokenizer.mask_id)
            for batch, _ in evaluation.batches(corpus, batch_size) if batch]


def plain_transformers(reference, padded_batches):
    """B: `*ForMaskedLM` on each batch, then the summary's figures at the masks:
    top-1, top-5, loss, ECE (`BINS` bins) and the loss at each grid temperature."""
    import torch

    from mlmviz.analysis.evaluation import BINS, TEMPERATURES, UNIT

    grid = torch.zeros(len(TEMPERATURES), dtype=torch.float64)  # summed loss per temperature
    bin_count = torch.zeros(BINS, dtype=torch.float64)
    bin_confidence = torch.zeros(BINS, dtype=torch.float64)
    bin_correct = torch.zeros(BINS, dtype=torch.float64)
    top1 = top5 = masks = 0
    with torch.inference_mode():
        for ids, padding, positions, labels, valid in padded_batches:
            logits = reference(input_ids=torch.from_numpy(ids).long(),
                               attention_mask=torch.from_numpy(padding).long()).logits
            rows = torch.arange(len(ids))[:, None]  # (b, 1)
            at_masks = logits[rows, torch.from_numpy(positions).long()]  # (b, m, vocab)
            at_masks = at_masks[torch.from_numpy(valid)].float()  # (n, vocab)
            label = torch.from_numpy(labels[valid]).long()  # (n,)
            label_logit = at_masks.gather(1, label[:, None])  # (n, 1)
            for k, t in enumerate(TEMPERATURES):
                at_t = torch.logsumexp(at_masks / t, -1) - label_logit[:, 0] / t  # (n,)
                grid[k] += at_t.double().sum()
            log_p = torch.log_softmax(at_masks, dim=-1)  # (n, vocab)
            best_log_p, best = log_p.max(dim=-1)  # (n,) each
            correct = (best == label).double()  # (n,)
            confidence = best_log_p.double().exp()  # (n,)
            bins = torch.clamp((confidence * BINS).long(), max=BINS - 1)  # (n,)
            bin_count += torch.bincount(bins, minlength=BINS)
            bin_confidence += torch.bincount(bins, confidence, minlength=BINS)
            bin_correct += torch.bincount(bins, correct, minlength=BINS)
            top1 += int(correct.sum())
            top5 += int(((at_masks > label_logit).sum(dim=-1) < 5).sum())
            masks += len(label)
    losses = grid / masks  # (T,)
    return {"top1_accuracy": top1 / masks, "top5_accuracy": top5 / masks,
            "loss": float(losses[UNIT]),
            "ece": float((bin_correct - bin_confidence).abs().sum() / masks),
            "best_temperature": TEMPERATURES[int(losses.argmin())]}


def bench_model(name, path, lines, args):
    """One table row: tokens/s of A and B, the ratio, and the agreement of their numbers."""
    from transformers import AutoModelForMaskedLM

    import mlmviz
    from mlmviz.analysis.evaluation import evaluate

    ours = mlmviz.load(str(path))
    reference = AutoModelForMaskedLM.from_pretrained(str(path)).eval()
    padded = masked_batches(ours, lines, args.batch_size)
    tokens = sum(int(padding.sum()) for _, padding, *_ in padded)
    runs = {
        "A": lambda: evaluate(ours, lines, RATE, SEED, batch_size=args.batch_size),
        "B": lambda: plain_transformers(reference, padded),
    }
    results = {key: run() for key, run in runs.items()}  # warm-up (A compiles its shapes)
    seconds = {"A": [], "B": []}
    for _ in range(args.runs):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[key].append(time.perf_counter() - start)
    speed = {key: tokens / statistics.median(values) for key, values in seconds.items()}
    ratio = speed["A"] / speed["B"]
    gaps = max(abs(results["A"][key] - results["B"][key]) for key in FIGURES)
    same_t = results["A"]["best_temperature"]["temperature"] == results["B"]["best_temperature"]
    return [name, len(lines), tokens, f"{speed['A']:,.0f}", f"{speed['B']:,.0f}", f"{ratio:.2f}",
            f">= {TARGETS[name]}: {'met' if ratio >= TARGETS[name] else 'not met'}",
            f"{results['A']['top1_accuracy']:.4f} / {results['B']['top1_accuracy']:.4f}",
            f"{gaps:.1e}", "yes" if same_t else "no"]


def main():
    args = parse_args()
    threads = set_threads(args.threads)
    load_before, code = os.getloadavg()[0], code_line()
    with open(args.corpus, encoding="utf-8") as corpus:
        lines = [line for line in corpus][:max(args.lines, args.base_lines)]
    rows = [
        bench_model("bert-tiny (default)", DEFAULT_MODEL, lines[:args.lines], args),
        bench_model("bert-base random", bert_base_random(args.cache_dir),
                    lines[:args.base_lines], args),
    ]
    packages = ("keras", "tensorflow", "keras-hub", "numpy", "torch", "transformers")
    print("## evaluate: mlmviz (A) vs plain transformers *ForMaskedLM (B)\n")
    notes = machine_lines(packages) + [threads, code]
    notes += [(f"corpus {args.corpus.name}, rate {RATE}, seed {SEED}, batch size "
              f"{args.batch_size}; {args.runs} timed run(s) per side after one warm-up, "
              "interleaved, medians"),
              f"1-minute load average: {load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end"]
    print("\n".join(f"- {line}" for line in notes))
    print()
    print(table(rows, ["model", "lines", "tokens", "A tokens/s", "B tokens/s", "A/B speed",
                       "target", "top-1 A / B", "max |Δ| top-1, top-5, loss, ECE", "same best T"]))


if __name__ == "__main__":
    main()
