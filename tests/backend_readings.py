"""What the package computes on the default model, as one JSON-like dict: the
numbers that must agree across Keras backends (tests/test_backends.py).

`PYTHONPATH=. python tests/backend_readings.py OUT.json` writes them under the backend
that KERAS_BACKEND selects.
"""

import itertools
import json
import sys

import numpy as np

FILLS = [  # fill_mask arguments: text, extra positions, targets, temperature
    ("he opened the [MASK] and walked into the room.", (), ("door", "window"), 1.0),
    ("the [MASK] barked at the [MASK] all night.", (7,), ("dog",), 0.5),
    ("we walked " * 12 + "to the [MASK] .", (1, 4, 9), ("park",), 2.5),
]
TEXT = "the [MASK] barked at the [MASK] all night."
CORPUS_LINES = 24  # of the shipped held-out sample


def readings(model):
    """fill_mask, fill_sequentially, stages, layer_states and the analysis
    functions on `model`, as nested dicts and lists of Python numbers."""
    from mlmviz.analysis import attention, gathered, logit_lens, masking_lab, pseudo_likelihood
    from mlmviz.analysis.evaluation import evaluate
    from mlmviz.samples import HELDOUT_SAMPLE

    masked = model.mask(TEXT, positions=(7,))
    pll = pseudo_likelihood.pseudo_log_likelihood(model, "the dog barked at the cat all night.")
    lab = masking_lab.masking_lab(model, "the quick brown fox jumps over the lazy dog .", seed=4)
    vectors = gathered.collect(model, [TEXT, "a [MASK] of tea ."])
    records = []
    with HELDOUT_SAMPLE.open() as lines:
        summary = evaluate(model, itertools.islice(lines, CORPUS_LINES), rate=0.3, seed=2,
                           batch_size=8, on_details=records.extend, pll=True)
    return _plain({
        "fill_mask": [model.fill_mask(text, top_k=8, temperature=t, positions=p, targets=w)
                      for text, p, w, t in FILLS],
        "fill_sequentially": model.fill_sequentially(TEXT, positions=(7,), temperature=0.7),
        "stages": model.stages(masked),
        "layer_states": model.layer_states(masked),
        "attention": attention.attention(model, masked),
        "lens": logit_lens.lens_logits(model, masked),
        "pseudo_log_likelihood": pll.log_probabilities,
        "masking_lab": lab,
        "gathered": [vectors.gathered, vectors.normed, list(vectors.predicted)],
        "evaluate": summary,
        "evaluate_details": records,
    })


def _plain(value):
    """`value` with numpy arrays, tuples and dataclasses as lists, dicts and Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return _plain(value.tolist()) if isinstance(value, np.ndarray) else value.item()
    return value


if __name__ == "__main__":
    import mlmviz

    with open(sys.argv[1], "w") as out:
        json.dump(readings(mlmviz.load("default")), out)
