"""Two masked LMs on the same text and masks: divergences, top-k overlap, targets.

Each model turns every mask into a probability distribution over its own
vocabulary. When both share a vocabulary the distributions can be compared
token by token (KL and Jensen-Shannon divergences); otherwise only their
top-k lists can be compared, by token string.
"""

import numpy as np

from mlmviz.distributions import softmax

LN2 = float(np.log(2))


def divergences(p, q):
    """KL(p‖q), KL(q‖p) and the Jensen-Shannon divergence, in nats.

    Args:
        p, q: probabilities over the last axis, same shape `(..., vocab)`,
            e.g. float32 softmax outputs. They are cast to float64 and
            renormalised (float32 rows sum to 1 only within ~1e-7).

    Returns:
        dict with `kl_pq`, `kl_qp` and `js`: floats for 1-D inputs, float64
        arrays `(...)` otherwise. Zeros are handled exactly: 0 * log 0 counts
        as 0, KL(p‖q) is `inf` where q has a 0 that p has not, and JS is
        always finite, symmetric and within [0, ln 2]. Identical inputs give
        exactly 0.

    Raises:
        ValueError: shapes differ, a probability is negative or not finite,
            or a row sums to 0.
    """
    p, q = _normalised(p), _normalised(q)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape. Received {p.shape} and {q.shape}")
    m = (p + q) / 2  # (..., vocab)
    js = np.clip((_kl(p, m) + _kl(q, m)) / 2, 0.0, LN2)  # (...)
    result = {"kl_pq": _kl(p, q), "kl_qp": _kl(q, p), "js": js}
    return {name: value[()] if value.ndim == 0 else value for name, value in result.items()}


def _normalised(p):
    p = np.asarray(p, dtype=np.float64)  # (..., vocab)
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("Probabilities must be finite and non-negative.")
    total = p.sum(axis=-1, keepdims=True)  # (..., 1)
    if np.any(total == 0):
        raise ValueError("A distribution sums to 0.")
    return p / total


def _kl(p, q):
    """KL(p‖q) over the last axis, float64 (>= 0; `inf` where p > 0 = q)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = p * (np.log(p) - np.log(q))  # (..., vocab); nan where p = 0
    return np.maximum(np.where(p > 0, terms, 0.0).sum(axis=-1), 0.0)  # (...)


def overlap(first, second):
    """How much two top-k lists agree, as sets.

    Returns:
        dict with `count` (items in both), `jaccard` (count / items in
        either; 1 = the same items, in any order) and `shared` (the common
        items, in `first`'s order).
    """
    other = set(second)
    shared = [item for item in dict.fromkeys(first) if item in other]
    union = len(set(first) | other)
    jaccard = len(shared) / union if union else 1.0
    return {"count": len(shared), "jaccard": jaccard, "shared": shared}


def top_k_ids(p, k):
    """Token ids of the `k` most probable tokens of one distribution `(vocab,)`.

    Ties keep the lower id first, as `MaskedLM.fill_mask` orders them.
    """
    return [int(i) for i in np.argsort(-np.asarray(p), kind="stable")[:k]]


def top_k_overlap(p, q, k):
    """`overlap` of the top-k token ids of two distributions `(vocab,)`."""
    return overlap(top_k_ids(p, k), top_k_ids(q, k))


def compare_masks(model_a, model_b, text, positions=(), top_k=5, targets=()):
    """Both models' predictions at every mask of `text`, and how they differ.

    Args:
        model_a, model_b: `MaskedLM`s.
        text, positions, top_k, targets: as for `MaskedLM.fill_mask`; the
            positions index the tokens, which must be the same in both.

    Returns:
        dict with `same_vocabulary` (the two `vocabulary` lists are equal),
        `tokens`, `truncated` and `masks`, one entry per mask in position
        order with
        - `position` and `original` (the token there before masking);
        - `a`, `b`: each model's `fill_mask` entry for that mask
          (`predictions`, `entropy`, `targets`, ...);
        - `overlap`: `overlap` of the two top-k lists by token string;
        - `kl_ab`, `kl_ba`, `js`: floats (nats) from `divergences`, None when
          the vocabularies differ;
        - `rows`: for each token in either top-k list, `token`,
          `probability_a` and `probability_b` (None where that model's
          vocabulary lacks the token), most probable on average first.

    Raises:
        ValueError: bad text, positions, top_k or targets (from
            `fill_mask`), or a text the two models tokenize differently.
    """
    masked = model_a.mask(text, positions)
    _check_same_tokens(masked.encoding.tokens, model_b.tokenizer.encode(text).tokens)
    fills = [m.fill_mask(text, top_k=top_k, positions=positions, targets=targets)
             for m in (model_a, model_b)]
    # 2 x (masks, vocab)
    probabilities = [_probabilities(m, text, positions) for m in (model_a, model_b)]
    same = model_a.vocabulary == model_b.vocabulary
    scores = divergences(*probabilities) if same else None
    lookup_a = _token_ids(model_a)
    lookups = (lookup_a, lookup_a if same else _token_ids(model_b))
    masks = [
        _compare_one(i, mask_a, mask_b, probabilities, lookups, scores)
        for i, (mask_a, mask_b) in enumerate(zip(fills[0]["masks"], fills[1]["masks"]))
    ]
    return {"same_vocabulary": same, "tokens": fills[0]["tokens"],
            "truncated": fills[0]["truncated"], "masks": masks}


def _check_same_tokens(tokens_a, tokens_b):
    if list(tokens_a) == list(tokens_b):
        return
    first = next(
        (i for i, (a, b) in enumerate(zip(tokens_a, tokens_b)) if a != b),
        min(len(tokens_a), len(tokens_b)),
    )
    raise ValueError(
        "The two models split this text into different tokens, so their masks "
        f"do not line up (first difference at token {first}: A has "
        f"{list(tokens_a[first:first + 3])}, B has {list(tokens_b[first:first + 3])}). "
        "Compare models that share a tokenizer, or change the text."
    )


def _probabilities(model, text, positions):
    """Float32 softmax `(masks, vocab)` of the head's logits at the masks."""
    logits = model.stages(model.mask(text, positions))["logits"][0]  # (masks, vocab)
    return softmax(logits)  # (masks, vocab)


def _token_ids(model):
    """`{token string: id}` of a model's vocabulary."""
    return {token: i for i, token in enumerate(model.vocabulary)}


def _compare_one(index, mask_a, mask_b, probabilities, lookups, scores):
    """The per-mask entry of `compare_masks` for mask number `index`."""
    tokens_a, tokens_b = ([p["token"] for p in m["predictions"]] for m in (mask_a, mask_b))
    rows = []
    for token in dict.fromkeys(tokens_a + tokens_b):  # A's top-k, then B's others
        p_a, p_b = (_probability(p[index], ids, token) for p, ids in zip(probabilities, lookups))
        rows.append({"token": token, "probability_a": p_a, "probability_b": p_b})
    rows.sort(key=lambda row: -((row["probability_a"] or 0) + (row["probability_b"] or 0)))
    kl_ab, kl_ba, js = (
        (None,) * 3 if scores is None
        else (float(scores[key][index]) for key in ("kl_pq", "kl_qp", "js"))
    )
    return {
        "position": mask_a["position"], "original": mask_a["original"],
        "a": mask_a, "b": mask_b, "overlap": overlap(tokens_a, tokens_b),
        "kl_ab": kl_ab, "kl_ba": kl_ba, "js": js, "rows": rows,
    }


def _probability(probs, lookup, token):
    """`probs` `(vocab,)` at `token`, or None if the vocabulary lacks it."""
    token_id = lookup.get(token)
    return None if token_id is None else float(probs[token_id])
