"""The head taken apart: what each stage does to one masked position.

`MaskedLMHead.stages` gives every intermediate of the forward pass. The
functions here pick one mask out of it, summarise each stage, and split each
token's logit into its two additive parts:

    logit[t] = context[t] + bias[t]
    context[t] = normed · W[t]     (W: the tied embedding or the output kernel)

The context term is what the sentence contributes; the bias is a learned
per-token prior, the same for every input, which on its own ranks tokens
roughly by how often they were seen in training.
"""

import numpy as np

from mlmviz.distributions import softmax

VECTOR_STAGES = ("gathered", "dense", "activated", "normed")
STAGE_TITLES = {
    "gathered": "Gathered hidden state",
    "dense": "Dense (before activation)",
    "activated": "After the activation",
    "normed": "After LayerNorm",
}


def vector_summary(stages, mask_index):
    """Norm, mean, std, min and max of each vector stage at one mask.

    Args:
        stages: the dict of `MaskedLMHead.stages` for a batch of one.
        mask_index: which mask (0-based, in position order).

    Returns:
        list of dicts with `stage`, `size`, `norm`, `mean`, `std`, `min`,
        `max`, in forward order.
    """
    rows = []
    for name in VECTOR_STAGES:
        vector = stages[name][0, mask_index]  # (size,)
        rows.append({
            "stage": STAGE_TITLES[name],
            "size": vector.size,
            "norm": float(np.linalg.norm(vector)),
            "mean": float(vector.mean()),
            "std": float(vector.std()),
            "min": float(vector.min()),
            "max": float(vector.max()),
        })
    return rows


def decompose(stages, mask_index, token_ids):
    """Split the logits of `token_ids` at one mask into context + bias.

    Returns:
        dict of float32 arrays `(len(token_ids),)`: `context`, `bias` and
        `logit` (= context + bias, as the head computed it).
    """
    token_ids = np.asarray(token_ids, dtype="int64")  # (k,)
    return {
        "context": stages["context_logits"][0, mask_index, token_ids],
        "bias": stages["bias"][token_ids],
        "logit": stages["logits"][0, mask_index, token_ids],
    }


def top_tokens(probabilities, top_k):
    """Ids of the `top_k` most probable tokens, most probable first."""
    return np.argsort(-probabilities, kind="stable")[:top_k]


def anatomy_table(stages, mask_index, vocabulary, top_k=10, temperature=1.0):
    """The head's top tokens at one mask with their logit split.

    Also scores the same tokens under the "bias only" distribution,
    softmax(bias), which is what the head would say with no context.

    Returns:
        list of dicts, most probable first, with `token`, `context`, `bias`,
        `logit`, `probability` and `bias_only_probability`.
    """
    probabilities = softmax(stages["logits"][0, mask_index], temperature)  # (vocab,)
    prior = softmax(stages["bias"], temperature)  # (vocab,)
    ids = top_tokens(probabilities, top_k)
    parts = decompose(stages, mask_index, ids)
    return [
        {
            "token": vocabulary[i],
            "context": float(parts["context"][n]),
            "bias": float(parts["bias"][n]),
            "logit": float(parts["logit"][n]),
            "probability": float(probabilities[i]),
            "bias_only_probability": float(prior[i]),
        }
        for n, i in enumerate(ids)
    ]


def bias_only_top(bias, vocabulary, top_k=10, temperature=1.0):
    """The top tokens of softmax(bias): the head's prediction with no context.

    Returns:
        list of dicts with `token` and `probability`, most probable first.
    """
    prior = softmax(bias, temperature)  # (vocab,)
    return [
        {"token": vocabulary[i], "probability": float(prior[i])}
        for i in top_tokens(prior, top_k)
    ]
