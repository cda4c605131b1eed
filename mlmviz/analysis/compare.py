"""Two masked LMs on the same text and masks: divergences, top-k overlap, targets.

Each model turns every mask into a probability distribution over its own
vocabulary. When both share a vocabulary the distributions can be compared
token by token (KL and Jensen-Shannon divergences); otherwise only their
top-k lists can be compared, by token string.

Layer by layer, the logit lens of both models follows one word at one mask
(`compare_lens`): at which depth each model comes to prefer it; and, for two
models with the same tokenizer, what that mask attends to in each
(`compare_attention`).
"""

import numpy as np
import pandas as pd

from mlmviz.analysis.attention import attention
from mlmviz.analysis.logit_lens import layer_names, lens_logits
from mlmviz.distributions import rank, softmax

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
    lookups = (model_a.token_index, model_a.token_index if same else model_b.token_index)
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


def word_ids(model_a, model_b, word):
    """The token ids of `word` in model A's and model B's vocabularies.

    The word is split as a typed word is (as `fill_mask`'s targets are); a
    string that is itself a token of the vocabulary (a piece such as "##s",
    which a top-k list may show) is taken as that token.

    Returns:
        `(id in A, id in B)`.

    Raises:
        ValueError: the word is empty, or is not one known token in both
            vocabularies (the message names the model and the pieces).
    """
    if not isinstance(word, str) or not word.strip():
        raise ValueError("Choose a word to follow through the layers.")
    return tuple(_one_token(model, word.strip(), name)
                 for model, name in ((model_a, "A"), (model_b, "B")))


def _one_token(model, word, name):
    pieces = model.tokenizer.encode_words([word])[0]
    if len(pieces) != 1 and word in model.vocabulary:
        pieces = [model.vocabulary.index(word)]
    if len(pieces) != 1:
        split = " + ".join(model.vocabulary[i] for i in pieces)
        raise ValueError(
            f"“{word}” is {len(pieces)} tokens for model {name} ({split}), and the lens "
            "follows one token: choose a word that is a single token in both vocabularies."
        )
    if model.vocabulary[pieces[0]] == model.tokenizer.unk_token:
        raise ValueError(
            f"Model {name}'s vocabulary lacks “{word}” (it reads as "
            f"{model.tokenizer.unk_token}): choose a word both vocabularies hold."
        )
    return pieces[0]


def word_by_layer(logits, mask_index, token_id):
    """Probability and rank of one token at one mask, layer by layer.

    Args:
        logits: `logit_lens.lens_logits` output `(layers + 1, masks, vocab)`.
        mask_index: which mask.
        token_id: the token followed.

    Returns:
        list of dicts with `layer` (`logit_lens.layer_names`), `depth` (0 =
        the embeddings), `probability` and `rank` (1 = the head's top token
        when it reads that layer), embeddings first.
    """
    probabilities = softmax(logits[:, mask_index])  # (layers + 1, vocab)
    names = layer_names(len(probabilities))
    return [
        {"layer": name, "depth": depth, "probability": float(p[token_id]),
         "rank": rank(p, token_id)}
        for depth, (name, p) in enumerate(zip(names, probabilities))
    ]


LENS_COLUMNS = ["model", "layer", "depth", "probability", "rank"]


def _mask_index(masked, mask_position):
    if mask_position not in masked.positions:
        raise ValueError(f"Position {mask_position} is not a mask of this text.")
    return masked.positions.index(mask_position)


def compare_lens(model_a, model_b, text, positions, mask_position, word):
    """Where each model finds `word` at one mask: the logit lens of both.

    Args:
        model_a, model_b: `MaskedLM`s that split `text` into the same tokens.
        text, positions: as for `compare_masks`.
        mask_position: the token position of the mask followed.
        word: one token in both vocabularies (see `word_ids`).

    Returns:
        a tidy DataFrame with `LENS_COLUMNS`: model "A" rows (its layers,
        embeddings first), then model "B" rows; each model keeps its own
        number of layers. A model's last row is its own prediction.

    Raises:
        ValueError: bad text or positions, texts tokenized differently, a
            `mask_position` that is not a mask, or a word `word_ids` refuses.
    """
    ids = word_ids(model_a, model_b, word)
    masked = [model.mask(text, positions) for model in (model_a, model_b)]
    _check_same_tokens(masked[0].encoding.tokens, masked[1].encoding.tokens)
    index = _mask_index(masked[0], mask_position)
    rows = [
        {"model": name, **row}
        for name, model, one, token_id in zip("AB", (model_a, model_b), masked, ids)
        for row in word_by_layer(lens_logits(model, one), index, token_id)
    ]
    return pd.DataFrame(rows, columns=LENS_COLUMNS)


def settled_layer(table, model):
    """The first layer from which `model`'s rows of a `compare_lens` table
    keep the word at rank 1 to the last layer, or None if its last layer
    does not rank it first."""
    ranks = table[table["model"] == model].sort_values("depth")
    found = None
    for layer, rank_there in zip(ranks["layer"], ranks["rank"]):
        found = (found or layer) if rank_there == 1 else None
    return found


def compare_attention(model_a, model_b, text, positions, mask_position):
    """What the mask at `mask_position` attends to in each model, per layer and head.

    Attention weights are spread over a model's own tokens, so they are
    compared only between two models with the same tokenizer (here: the
    same vocabulary, and the same tokens for `text`).

    Returns:
        dict with `tokens` (the text's tokens, special ones included),
        `special` (positions of the special tokens), and `a`, `b`: float32
        `(layers, heads, seq)`, the mask's row of `attention.attention` in
        each model (each row sums to 1; the two models may differ in depth
        and heads).

    Raises:
        ValueError: different vocabularies (the message says why nothing is
            compared), bad text or positions, texts tokenized differently, or
            a `mask_position` that is not a mask.
    """
    if model_a.vocabulary != model_b.vocabulary:
        raise ValueError(
            "Their attention is not compared: A and B have different tokenizers "
            f"(vocabularies of {len(model_a.vocabulary):,} and {len(model_b.vocabulary):,} "
            "tokens). A model's attention is spread over its own tokens, so attention is "
            "set side by side only for two models that share a tokenizer."
        )
    masked = [model.mask(text, positions) for model in (model_a, model_b)]
    _check_same_tokens(masked[0].encoding.tokens, masked[1].encoding.tokens)
    _mask_index(masked[0], mask_position)
    a, b = (attention(model, one)[:, :, mask_position]  # (layers, heads, seq)
            for model, one in zip((model_a, model_b), masked))
    encoding = masked[0].encoding
    return {"tokens": list(encoding.tokens),
            "special": [i for i, special in enumerate(encoding.special) if special],
            "a": a, "b": b}
