"""Compare checkpoints: two models on the same text and masks, side by side."""

from pathlib import Path

import pandas as pd
import streamlit as st

from mlmviz.app import downloads, view
from mlmviz.analysis import compare
from mlmviz.figures.compare import attention_pair, lens_columns
from mlmviz.figures.probabilities import paired_probability_bars
from mlmviz.app.session import (
    chart,
    choose_second,
    current_model,
    current_ref,
    explain,
    load_model,
    masked_or_stop,
    second_model,
    table,
    text_and_masks,
)

EXPLANATION = """
Both models read the same sentence with the same tokens hidden, and each turns every
mask into a probability for every token of its vocabulary. **KL(A‖B)**, the
Kullback–Leibler divergence, is the average of log(P_A / P_B) over A's guesses: how
surprised, in nats, you would be by A's answers if you expected B's. It is 0 when the
two distributions are identical and grows as A puts probability where B puts little;
it is not symmetric, so **KL(B‖A)** asks the same question the other way round, and it
becomes infinite when one model gives a token a probability the other rounds to zero.
The **Jensen–Shannon divergence (JS)** compares each model with their average: it is
symmetric, always finite, and runs from 0 (identical) to ln 2 ≈ 0.693 nats (no token
in common). **Top-k overlap** counts the tokens found in both top-k lists; the
**Jaccard** index divides that by the number of different tokens in the two lists
(1 = the same tokens, perhaps in another order).
"""

LENS_EXPLANATION = """
Each model's head was trained to read its encoder's last layer. Reading the same head
off the embeddings and every earlier layer (the *logit lens*) shows where, going up
each encoder, a word becomes the model's answer: its probability rises and its rank
falls to 1. Each model keeps its own layer axis, so models of different depths can
be compared; the last layer is each model's own prediction above.
"""


@st.cache_data(max_entries=32, show_spinner=False)
def comparison(ref_a, source_b, text, positions, top_k, targets):
    """`compare.compare_masks` of the two cached models (plain, hashable arguments)."""
    return compare.compare_masks(
        load_model(*ref_a), load_model(source_b), text, positions, top_k, targets
    )


def second_model_or_stop(source):
    """Model B, or a message and stop when none is typed or it cannot be loaded."""
    model = second_model(source)
    if model is None:
        st.stop()
    return model


def label(letter, source):
    return f"{letter}: {Path(source).name or source}"


def summary_table(result):
    """One row per mask: divergences (same vocabulary only) and top-k overlap."""
    rows = []
    for mask in result["masks"]:
        row = {"position": mask["position"], "masked": mask["original"]}
        if result["same_vocabulary"]:
            row.update({"KL(A‖B)": mask["kl_ab"], "KL(B‖A)": mask["kl_ba"], "JS": mask["js"]})
        shared = mask["overlap"]["count"]
        row.update({"shared top-k": f"{shared} of {len(mask['a']['predictions'])}",
                    "Jaccard": mask["overlap"]["jaccard"]})
        rows.append(row)
    return pd.DataFrame(rows)


def target_table(result):
    """One row per (mask, target word): probability and rank in each model."""
    rows = [
        {"position": mask["position"], "target": a["word"],
         "P in A": a["probability"], "rank in A": a["rank"],
         "P in B": b["probability"], "rank in B": b["rank"]}
        for mask in result["masks"]
        for a, b in zip(mask["a"]["targets"], mask["b"]["targets"])
    ]
    return pd.DataFrame(rows)


@st.cache_data(max_entries=32, show_spinner=False)
def lens_comparison(ref_a, source_b, text, positions, mask, word):
    """`compare.compare_lens` of the two cached models (plain, hashable arguments)."""
    return compare.compare_lens(
        load_model(*ref_a), load_model(source_b), text, positions, mask, word
    )


def word_choices(mask, targets):
    """`{word: label}` for the word box: A's top guess first (the empty
    value, which follows the mask), then B's, the targets, both top-k lists
    and the word typed last."""
    top_a, top_b = (mask[side]["predictions"][0]["token"] for side in ("a", "b"))
    choices = {"": f"{top_a} (A's top guess)", top_b: f"{top_b} (B's top guess)"}
    for word in targets:
        choices.setdefault(word, f"{word} (target word)")
    for side in ("a", "b"):
        for prediction in mask[side]["predictions"]:
            choices.setdefault(prediction["token"], prediction["token"])
    choices.pop(top_a, None)  # the empty value stands for it
    typed = view.get("lens_word")
    choices.setdefault(typed, typed)  # a word the user typed stays in the list
    return choices


def found_sentence(table, names, word):
    """In words: from which layer on each model ranks `word` first."""
    parts = []
    for model in "AB":
        layer = compare.settled_layer(table, model)
        start = "the embeddings" if layer == "embeddings" else layer
        parts.append(f"**{names[model]}** ranks “{word}” first from {start} up"
                     if layer else f"**{names[model]}** does not rank “{word}” first")
    return "; ".join(parts) + "."


def layer_by_layer(text, positions, mask, targets, names):
    """Both models' logit lens at `mask`, following one word.

    Returns `(table, word)`: the `compare.compare_lens` table (None after
    a message, for a word that is not one token in both) and the word.
    """
    st.subheader("Layer by layer: where each model finds a word")
    st.markdown(LENS_EXPLANATION)
    choices = word_choices(mask, targets)
    chosen = view.widget(
        st.selectbox, "lens_word", "Word to follow (pick one, or type any word)",
        options=tuple(choices), format_func=lambda w: choices.get(w, w),
        accept_new_options=True,
    )
    word = (chosen or "").strip() or mask["a"]["predictions"][0]["token"]
    try:
        lens = lens_comparison(ref_a, source_b, text, positions, mask["position"], word)
    except ValueError as error:
        st.warning(str(error))
        return None, word
    st.markdown(found_sentence(lens, names, word))
    chart(lens_columns(lens, names, word, f"“{word}” at position {mask['position']}, "
                       "layer by layer"), key="compare_lens")
    explain("Top row: the probability of the word when the head reads each layer. Bottom "
            "row: its rank there (1 = the head's top guess). Left: model A; right: model B.")
    wide = lens_wide(lens)
    table(wide, "The word's probability and rank in each layer")
    shallow = [model for model in "AB" if wide[f"rank in {model}"].isna().any()]
    if shallow:
        depth = int(wide[f"rank in {shallow[0]}"].count()) - 1
        explain(f"{names[shallow[0]]} has {depth} layers: its cells below layer {depth} are "
                "empty (None).")
    return lens, word


@st.cache_data(max_entries=16, show_spinner=False)
def attention_comparison(ref_a, source_b, text, positions, mask):
    """`compare.compare_attention` of the two cached models (plain, hashable arguments)."""
    return compare.compare_attention(
        load_model(*ref_a), load_model(source_b), text, positions, mask
    )


def attention_in_both(text, positions, position, names, lens, word):
    """What the mask at `position` reads in each model, per layer and head, with
    the rank of `word` per layer beside (when `lens` has it)."""
    st.subheader("Attention at the mask in both models")
    try:
        rows = attention_comparison(ref_a, source_b, text, positions, position)
    except ValueError as error:
        st.info(str(error))
        return
    tokens, special = rows["tokens"], rows["special"]
    hidden = ", ".join(dict.fromkeys(tokens[p] for p in special)) or "the special tokens"
    hide = view.widget(
        st.toggle, "compare_hide", f"Hide {hidden}",
        help="Leaves the special tokens out of both charts. The weights are not "
        "renormalised: each cell keeps the model's own number.",
    )
    keys = [p for p in range(len(tokens)) if not (hide and p in special)]
    notes = None if lens is None else {model: lens_ranks(lens, model) for model in "AB"}
    figures = attention_pair({"A": rows["a"], "B": rows["b"]}, tokens, keys, names, notes,
                             f"rank of “{word}”")
    for model, figure in zip("AB", figures):
        chart(figure, key=f"compare_attention_{model.lower()}")
    total = "100 % with the hidden tokens" if hide else "100 %"
    ranks = "" if lens is None else (f" Right of each layer: the rank of “{word}” when the "
                                     "head reads that layer (#1 = the top guess).")
    explain("A above, B below, on one colour scale. Each row is one head of one layer; each "
            "column a token of the text; a cell is the share of the mask's attention, in %, "
            f"that goes to that token (a row adds up to {total}).{ranks}")


def lens_ranks(lens, model):
    """`model`'s rank of the followed word after each layer (not the embeddings), as "#3"."""
    rows = lens[(lens["model"] == model) & (lens["depth"] > 0)]
    return [f"#{rank:,}" for rank in rows["rank"]]


def lens_wide(lens):
    """One row per layer, A's and B's probability and rank side by side
    (empty where one model has fewer layers)."""
    a, b = (
        lens[lens["model"] == model].drop(columns="model")
        .rename(columns={"probability": f"P in {model}", "rank": f"rank in {model}"})
        for model in "AB"
    )
    wide = a.merge(b, on=["depth", "layer"], how="outer").sort_values("depth")
    return wide.drop(columns="depth").astype({"rank in A": "Int64", "rank in B": "Int64"})


@st.fragment
def mask_detail(result, name_a, name_b, text, positions, targets):
    """The paired bar chart, both top-k lists and the layer-by-layer views
    of one mask (its own rerun)."""
    masks = {mask["position"]: mask for mask in result["masks"]}
    view.check_from_url("mask", tuple(masks), "is not a mask of this text")
    if view.get("mask") is None:
        view.state()["mask"] = next(iter(masks))
    if len(masks) > 1:
        view.widget(st.selectbox, "mask", "Mask to draw", options=tuple(masks),
                    format_func=lambda p: f"position {p}: {masks[p]['original']}")
    mask = masks[view.get("mask")]
    rows = pd.DataFrame(mask["rows"])
    title = f"Position {mask['position']}: {mask['original']}"
    chart(
        paired_probability_bars(
            rows["token"], rows["probability_a"], rows["probability_b"], (name_a, name_b), title
        ),
        key="compare_bars",
    )
    explain("The two models' probabilities for the tokens either of them ranks highest.")
    for column, name, side in zip(st.columns(2), (name_a, name_b), ("a", "b")):
        column.markdown(f"**{name}** · entropy {mask[side]['entropy']:.2f} nats")
        with column:
            table(pd.DataFrame(mask[side]["predictions"])[["token", "probability"]],
                  f"{name}: its top-k")
    names = {"A": name_a, "B": name_b}
    lens, word = layer_by_layer(text, positions, mask, targets, names)
    attention_in_both(text, positions, mask["position"], names, lens, word)


st.title("Compare two checkpoints")
model_a, ref_a = current_model(), current_ref()
source_a = ref_a[0]
st.write(
    f"**A** is the sidebar's model (`{source_a}`). Choose **B** below: both predict the "
    "same masks in the same text."
)
source_b = choose_second()
model_b = second_model_or_stop(source_b)
if (model_b.metadata["weight_hash"], model_b.metadata["precision"]) == (
        model_a.metadata["weight_hash"], model_a.metadata["precision"]):
    st.info(f"A and B are the same model (weights `{model_a.metadata['weight_hash']}`): their "
            "answers are identical, so every divergence is 0 and every overlap 1. Choose "
            "another model B, e.g. a checkpoint path, to see two models differ.")


@view.fragment
def page_body():
    """The text, its masks and both models' answers: an edit reruns only this part."""
    text, _, picked = text_and_masks(model_a)
    masked_or_stop(model_a, text, picked)
    left, right = st.columns(2)
    top_k = view.widget(left.slider, "top_k", "Top-k", min_value=1, max_value=20)
    typed = view.widget(right.text_input, "words", "Target words (comma-separated)")
    targets = tuple(word.strip() for word in typed.split(",") if word.strip())

    try:
        result = comparison(ref_a, source_b, text, tuple(picked), top_k, targets)
    except ValueError as error:
        st.warning(str(error))
        return

    if result["truncated"]:
        st.warning(
            f"The text is longer than model A's {model_a.metadata['max_length']} tokens: "
            "it was cut."
        )
    if not result["same_vocabulary"]:
        st.warning(
            f"The two models have different vocabularies ({len(model_a.vocabulary):,} and "
            f"{len(model_b.vocabulary):,} tokens): their probabilities are spread over different "
            "sets of tokens, so KL and JS divergences are not defined. Only the top-k lists "
            "are compared, token string by token string."
        )
    name_a, name_b = label("A", source_a), label("B", source_b)
    table(
        summary_table(result), "Divergences and overlap, mask by mask",
        column_config={name: st.column_config.NumberColumn(format="%.4f")
                       for name in ("KL(A‖B)", "KL(B‖A)", "JS", "Jaccard")},
    )
    if targets:
        table(target_table(result), "The target words in each model")
    st.markdown(EXPLANATION)
    mask_detail(result, name_a, name_b, text, tuple(picked), targets)
    downloads.compare(result, model_b.metadata)


page_body()
downloads.image_format()
