"""Which vocabulary rows a vector is closest to, and the geometry behind it.

The head scores token t as `normed · W[t] + bias[t]` where W is the output
matrix (the tied input embedding, or the untied kernel transposed). Ranking
the rows of W by dot product therefore reproduces the logit order without
the bias; ranking by cosine removes the rows' lengths too. Everything here
works one vector against `(vocab, dim)` at a time: never vocab × vocab.
"""

import numpy as np


def row_norms(matrix):
    """Euclidean norm of each row, `(vocab,)` float32."""
    return np.linalg.norm(np.asarray(matrix, dtype=np.float32), axis=1)


def nearest_rows(matrix, vector, k, metric="dot", norms=None):
    """The `k` rows of `matrix` most similar to `vector`.

    Args:
        matrix: `(vocab, dim)` float array.
        vector: `(dim,)`.
        k: how many rows (at most vocab).
        metric: "dot" (what the logits use) or "cosine".
        norms: precomputed `row_norms(matrix)`, used for cosine.

    Returns:
        `(ids (k,), scores (k,))`, best first (ties broken by lower id).

    Raises:
        ValueError: for an unknown metric or a zero vector under cosine.
    """
    scores = np.asarray(matrix, dtype=np.float32) @ np.asarray(vector, dtype=np.float32)  # (vocab,)
    if metric == "cosine":
        length = float(np.linalg.norm(vector))
        if length == 0:
            raise ValueError("The cosine similarity of a zero vector is undefined.")
        norms = row_norms(matrix) if norms is None else norms
        scores = scores / (np.maximum(norms, 1e-12) * length)
    elif metric != "dot":
        raise ValueError(f"metric must be 'dot' or 'cosine'. Received {metric!r}")
    ids = np.argsort(-scores, kind="stable")[:k]
    return ids, scores[ids]


def median_standing(values, ids):
    """Where the tokens `ids` stand among all: the median over `ids` of the fraction
    of the vocabulary whose value is smaller (0 = the smallest, 1 = the largest).

    Args:
        values: `(vocab,)` per-token values (row norms, biases).
        ids: token ids, e.g. the top predictions.
    """
    values = np.asarray(values, dtype=np.float64)  # (vocab,)
    ordered = np.sort(values)
    below = np.searchsorted(ordered, values[np.asarray(ids)], side="left")  # (ids,)
    return float(np.median(below / len(values)))


def cosine_matrix(vectors):
    """Cosine similarity between every pair of a few vectors, `(n, n)`."""
    x = np.asarray(vectors, dtype=np.float64)  # (n, dim)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # (n, dim)
    return unit @ unit.T


def tie_report(output_matrix, input_embedding):
    """Whether the head's output matrix is the input embedding.

    Returns:
        dict with `tied` (same shape and equal within 1e-6), `same_shape`,
        `max_abs_difference` and `mean_row_cosine` (the last two None when
        the shapes differ).
    """
    out = np.asarray(output_matrix, dtype=np.float32)  # (vocab, dim)
    emb = np.asarray(input_embedding, dtype=np.float32)  # (vocab, dim')
    if out.shape != emb.shape:
        return {"tied": False, "same_shape": False, "max_abs_difference": None,
                "mean_row_cosine": None}
    difference = float(np.abs(out - emb).max())
    cosines = (out * emb).sum(axis=1) / np.maximum(row_norms(out) * row_norms(emb), 1e-12)
    return {"tied": difference <= 1e-6, "same_shape": True,
            "max_abs_difference": difference, "mean_row_cosine": float(cosines.mean())}
