"""The logit lens: the trained head read off every encoder layer.

The head was trained on the last layer's hidden states only. Applying it to
the output of the embeddings and of each earlier layer shows when, going up
the encoder, the final prediction appears: its rank falls to 1 and its
probability rises. At the last layer the lens is exactly the model's
prediction.
"""

import numpy as np

from mlmviz.distributions import rank, softmax


def lens_logits(model, masked):
    """The head's logits for every layer's hidden states at the masks.

    Returns:
        read-only float32 `(num_layers + 1, masks, vocab)`; entry 0 reads the
        embeddings' output, the last entry equals `model.stages(masked)`'s
        logits.
    """
    return model.inspect(masked).lens


def layer_names(count):
    """Row labels: "embeddings", then "layer 1" ... "layer count - 1"."""
    return ["embeddings"] + [f"layer {i}" for i in range(1, count)]


def lens_table(logits, mask_index, vocabulary, top_k=5, temperature=1.0):
    """Per-layer top-k at one mask, and the final prediction's course.

    Args:
        logits: `lens_logits` output `(layers + 1, masks, vocab)`.
        mask_index: which mask.
        vocabulary: id → token string.

    Returns:
        dict with `final` (the last layer's top token), and `layers`: one
        dict per layer with `layer`, `top` (list of `top_k` tokens, best
        first), `top_probability`, and the final token's `final_rank` and
        `final_probability` at that layer.
    """
    probabilities = softmax(logits[:, mask_index], temperature)  # (layers + 1, vocab)
    final = int(np.argmax(probabilities[-1]))
    rows = []
    for name, p in zip(layer_names(len(probabilities)), probabilities):
        best = np.argsort(-p, kind="stable")[:top_k]
        rows.append({
            "layer": name,
            "top": [vocabulary[i] for i in best],
            "top_probability": float(p[best[0]]),
            "final_rank": rank(p, final),
            "final_probability": float(p[final]),
        })
    return {"final": vocabulary[final], "layers": rows}
