"""Top-5 predictions of a model for probe sentences, and how often they hit.

Usage: python tools/probe_model.py [SOURCE] [PROBES_FILE]
(defaults: the embedded default model and tools/probes.txt). Each probe line
is `sentence<TAB>acceptable answers, comma-separated`. Prints a Markdown
table and the top-1 / top-5 hit counts.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mlmviz  # noqa: E402


def main(source="default", probes=Path(__file__).with_name("probes.txt")):
    model = mlmviz.load(source)
    top1 = top5 = 0
    lines = Path(probes).read_text().splitlines()
    print("| sentence | top-5 (probability) |\n|---|---|")
    for line in lines:
        text, answers = line.split("\t")
        answers = {a.strip() for a in answers.split(",")}
        predictions = model.fill_mask(text, top_k=5)["masks"][0]["predictions"]
        tokens = [p["token"] for p in predictions]
        top1 += tokens[0] in answers
        top5 += bool(answers & set(tokens))
        guesses = ", ".join(f"{p['token']} {p['probability']:.2f}" for p in predictions)
        print(f"| {text} | {guesses} |")
    print(f"\ntop-1 hits: {top1}/{len(lines)}, top-5 hits: {top5}/{len(lines)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
