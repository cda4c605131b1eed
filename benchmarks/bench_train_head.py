"""bench_train_head: how fast a fresh MaskedLMHead learns on the frozen default encoder.

Run (each piece well under 5 minutes; the states are cached to --states once):
    .venv/bin/python benchmarks/bench_train_head.py --only caching
    .venv/bin/python benchmarks/bench_train_head.py --only tied-gelu
    .venv/bin/python benchmarks/bench_train_head.py --only torch
    ... (tied-relu, untied-gelu, untied-relu)

`caching` times `mlmviz.training.head.cache_states` for 200,000 positions of
the shipped training sample (tokenizing, packing, masking, the encoder) and
saves them with the held-out states to --states. Each training piece then
loads those states and trains a fresh head (AdamW 3e-3, --batch-size) for 120 s
of training time, reporting held-out top-1 accuracy after 10, 30, 60 and
120 s (held-out evaluations are not counted as training time). `torch` is a
plain PyTorch reference loop on the same states: a fresh BERT-style tied
head (dense 128 -> 128 with weights N(0, 0.02), GELU, LayerNorm, the frozen
embedding as output projection, a zero bias), AdamW(3e-3), --batch-size
(the issue's reference: 512), float32 cross-entropy.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import numpy as np  # noqa: E402

from common import machine_lines  # noqa: E402

CHECKPOINTS = (10, 30, 60, 120)
VARIANTS = {
    "tied-gelu": dict(tied=True, activation="gelu"),
    "tied-relu": dict(tied=True, activation="relu"),
    "untied-gelu": dict(tied=False, activation="gelu"),
    "untied-relu": dict(tied=False, activation="relu"),
}


def loadavg():
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])


def caching(args):
    import mlmviz
    from mlmviz.training import head

    model = mlmviz.load("default")
    lines = head.default_corpus()
    started = time.perf_counter()
    train = head.cache_states(model, lines, max_positions=args.positions)
    seconds = time.perf_counter() - started
    heldout = head.cache_states(model, head.heldout_corpus())
    np.savez(args.states, train_hidden=train.hidden, train_labels=train.labels,
             heldout_hidden=heldout.hidden, heldout_labels=heldout.labels)
    print(f"| caching {len(train):,} positions (cache_states) | {seconds:.1f} s "
          f"| {len(train) / seconds:,.0f} positions/s |")
    print(f"| held-out states | {len(heldout):,} positions | |")


def load_states(path):
    from mlmviz.training.head import CachedStates

    data = np.load(path)
    return (CachedStates(data["train_hidden"], data["train_labels"]),
            CachedStates(data["heldout_hidden"], data["heldout_labels"]))


def keras_curve(name, args):
    import mlmviz
    from mlmviz.training import head

    train, heldout = load_states(args.states)
    settings = head.HeadSettings(batch_size=args.batch_size, **VARIANTS[name])
    job = head.HeadTraining(mlmviz.load("default"), train, heldout, settings)
    accuracies = []
    for checkpoint in CHECKPOINTS:
        job.run(seconds=checkpoint - job.seconds, every=10**9)
        accuracies.append(job.curve[-1].heldout_accuracy)
    steps_per_second = job.steps / job.seconds
    print(f"(the step's compilation, before training: {job.compile_seconds:.1f} s)")
    return accuracies, job.steps, steps_per_second, job.baseline_accuracy


def torch_curve(args):
    import torch

    import mlmviz

    torch.manual_seed(0)
    train, heldout = load_states(args.states)
    model = mlmviz.load("default")
    embedding = torch.tensor(model.embedding_matrix)  # (vocab, hidden), frozen
    hidden = embedding.shape[1]
    dense = torch.nn.Linear(hidden, hidden)
    torch.nn.init.normal_(dense.weight, std=0.02)
    torch.nn.init.zeros_(dense.bias)
    norm = torch.nn.LayerNorm(hidden, eps=model.head.layer_norm_epsilon)
    bias = torch.nn.Parameter(torch.zeros(embedding.shape[0]))
    parameters = [*dense.parameters(), *norm.parameters(), bias]
    optimizer = torch.optim.AdamW(parameters, lr=3e-3)

    def logits(states):  # (b, hidden) -> (b, vocab)
        return norm(torch.nn.functional.gelu(dense(states))) @ embedding.T + bias

    train_hidden = torch.tensor(train.hidden.astype("float32"))
    train_labels = torch.tensor(train.labels.astype("int64"))
    heldout_hidden = torch.tensor(heldout.hidden.astype("float32"))
    heldout_labels = torch.tensor(heldout.labels.astype("int64"))
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(train_labels), generator=generator)
    cursor, steps, seconds, accuracies = 0, 0, 0.0, []
    for checkpoint in CHECKPOINTS:
        while seconds < checkpoint:
            if cursor + args.batch_size > len(order):
                order, cursor = torch.randperm(len(train_labels), generator=generator), 0
            rows = order[cursor:cursor + args.batch_size]
            cursor += args.batch_size
            started = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(logits(train_hidden[rows]), train_labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()
            seconds += time.perf_counter() - started
            steps += 1
        with torch.no_grad():
            hits = sum(
                int((logits(heldout_hidden[i:i + 1024]).argmax(-1) == heldout_labels[i:i + 1024]).sum())
                for i in range(0, len(heldout_labels), 1024)
            )
        accuracies.append(hits / len(heldout_labels))
    return accuracies, steps, steps / seconds, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", required=True, choices=["caching", "torch", *VARIANTS])
    parser.add_argument("--states", default="/tmp/bench_train_head_states.npz",
                        help="where `caching` saves the states and the other pieces read them")
    parser.add_argument("--positions", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=128,
                        help="states per step (default 128, HeadSettings' default; the "
                             "issue's reference loop used 512)")
    args = parser.parse_args()
    print("\n".join(machine_lines(("keras", "tensorflow", "torch", "numpy"))))
    before = loadavg()
    if args.only == "caching":
        print("| step | time | rate |\n|---|---|---|")
        caching(args)
    else:
        run = torch_curve(args) if args.only == "torch" else keras_curve(args.only, args)
        accuracies, steps, rate, baseline = run
        header = " | ".join(f"{c} s" for c in CHECKPOINTS)
        print(f"| loop | {header} | steps | steps/s |")
        print("|---|" + "---|" * (len(CHECKPOINTS) + 2))
        figures = " | ".join(f"{a:.1%}" for a in accuracies)
        name = "PyTorch reference (tied-gelu)" if args.only == "torch" else f"mlmviz {args.only}"
        name += f", batch {args.batch_size}"
        print(f"| {name} | {figures} | {steps:,} | {rate:.2f} |")
        if baseline is not None:
            print(f"(bias-only baseline: {baseline:.1%})")
    print(f"load average before / after: {before} / {loadavg()}")


if __name__ == "__main__":
    main()
