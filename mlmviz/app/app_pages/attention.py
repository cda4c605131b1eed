"""Attention at the mask: what each layer and head of the encoder reads for it."""

import pandas as pd
import streamlit as st

from mlmviz.app import downloads, view
from mlmviz.analysis import logit_lens
from mlmviz.analysis.attention import attention, blank_beyond_windows, share_of, windows
from mlmviz.figures.attention import attention_matrix, average_rows, mask_rows
from mlmviz.figures.probabilities import percent, probability_bars
from mlmviz.app.session import (
    chart, choose_mask, current_model, current_ref, explain, load_model,
    masked_view, presenting,
)

st.title("Attention at the mask")
st.write(
    "Each layer of the encoder rebuilds every token's vector from the others: each of its "
    "**heads** gives every token a share of its attention (the shares add up to 100 %) and "
    "mixes their vectors in those proportions. Here is what the mask reads in every layer "
    "and head, next to the rank the final answer has after that layer (the logit lens)."
)
model, ref = current_model(), current_ref()


@st.cache_data(max_entries=32, show_spinner=False)
def analyse(ref, text, positions):
    """`(weights, lens)`: the attention `(layers, heads, seq, seq)` of the masked text and
    its logit lens logits `(layers + 1, masks, vocab)`. Raises ValueError for a model
    without TransformerEncoder layers."""
    model = load_model(*ref)
    masked = model.mask(text, positions)
    return attention(model, masked), logit_lens.lens_logits(model, masked)


def compute(text, positions):
    """The analysis with the text it was made for, or the reason there is none."""
    try:
        weights, lens = analyse(ref, text, positions)
    except ValueError as error:
        return {"error": str(error)}
    return {"text": text, "positions": positions, "weights": weights, "lens": lens}


def chosen(name, count, what):
    """The view's `name` (1 … `count`, 1 when unset or out of range), as a select box."""
    options = list(range(1, count + 1))
    view.check_from_url(name, options, f"is not a {what} of this model")
    view.setdefault(name, 1)
    return view.widget(st.selectbox, name, what.capitalize(), options=options)


def show(masked, encoding, computed):
    """The mask chooser, the grid beside the prediction, the head average and one matrix."""
    if "error" in computed:
        st.warning(f"{computed['error']} The attention cannot be shown for this model; "
                   "choose another one in the sidebar. The other pages still work.")
        return
    weights = computed["weights"]  # (layers, heads, seq, seq)
    layers, heads = weights.shape[:2]
    tokens = list(encoding.tokens)
    special = [p for p, is_special in enumerate(encoding.special) if is_special]
    names = ", ".join(f"`{token}`" for token in dict.fromkeys(tokens[p] for p in special))
    settings, prediction_place = (
        (st.container(), st.container()) if presenting() else st.columns(2))
    with settings:
        index = choose_mask(masked, encoding)
        hide = view.widget(
            st.toggle, "hide_special", f"Hide {names}" if special else "Hide the special tokens",
            help="Leaves the model's special tokens out of the charts. The weights are not "
            "renormalised: each cell keeps the model's own number.",
        )
        lens = logit_lens.lens_table(computed["lens"], index, model.vocabulary, top_k=1)
        answer, ranks = lens["final"], [row["final_rank"] for row in lens["layers"]]
        st.caption(f"Before layer 1 (on the embeddings alone) the head ranks the final "
                   f"answer “{answer}” #{ranks[0]:,}.")
    query = masked.positions[index]
    with prediction_place:
        prediction(computed, query)
    shown_weights = local_windows(weights)

    shown = [p for p in range(len(tokens)) if not (hide and p in special)]
    notes = [f"#{rank:,}" for rank in ranks[1:]]
    chart(mask_rows(shown_weights, tokens, query, keys=shown, layer_notes=notes,
                    title=f"What the mask at position {query} reads, layer by layer",
                    notes_title=f"rank of “{answer}”"),
          key="attention_grid")
    explain(
        "Each row is one head of one layer (layer 1 reads the embeddings, the last layer "
        "feeds the head); each column is a token of the text; a cell is the share of the "
        "mask's attention, in %, that goes to that token, so a row adds up to 100 % (hover "
        f"for the exact number). Right: the rank of the final answer “{answer}” when the "
        "head reads that layer's output (the logit lens; #1 = its top guess)."
    )
    if hide and special:
        taken = share_of(weights, query, special)  # (layers, heads)
        st.caption(
            f"{names} hidden: the cells keep the model's own weights (not renormalised), so "
            f"the rows add up to less than 100 %. The hidden tokens took "
            f"{percent(float(taken.min()))}–{percent(float(taken.max()))} of the mask's "
            "attention, depending on the head."
        )

    chart(average_rows(shown_weights, tokens, query, keys=shown, layer_notes=notes,
                       title="The same, averaged over each layer's heads",
                       notes_title=f"rank of “{answer}”"),
          key="attention_average")
    explain("One row per layer: the mean of its heads' rows above, what the layer as a "
            "whole mixes into the mask's vector.")

    st.subheader("One head, every token")
    left, right = st.columns(2)
    with left:
        layer = chosen("layer", layers, "layer")
    with right:
        head = chosen("head", heads, "head")
    chart(attention_matrix(shown_weights[layer - 1, head - 1], tokens, positions=shown,
                           query=query, title=f"Layer {layer}, head {head}: who reads whom"),
          key="attention_matrix")
    explain("Each row is a token reading (the query), each column a token read (the key); a "
            "cell is the share of the row token's attention that goes to the column token. "
            "The mask's row, outlined in red, is this head's row in the grid above.")
    downloads.attention(tokens, weights, query)


def local_windows(weights):
    """The weights to chart: blank where a local layer cannot read, with a caption
    naming those layers (ModernBERT's); `weights` as they are for other models."""
    layer_windows = windows(model)
    local = [i + 1 for i, w in enumerate(layer_windows) if w is not None]
    if not local:
        return weights
    width = max(w for w in layer_windows if w is not None)
    named = (f"Layer {local[0]} is" if len(local) == 1
             else f"Layers {', '.join(map(str, local))} are")
    st.caption(
        f"{named} local: a token there reads only the tokens "
        f"at most {width} positions away, so the cells farther away are empty (the model never "
        "looks there). The other layers read the whole text."
    )
    return blank_beyond_windows(weights, layer_windows)


def prediction(computed, query):
    """The mask's top-k as on Predict (its top-k and temperature), or why there is none."""
    top_k, temperature = view.get("top_k"), view.get("temperature")
    try:
        result = model.fill_mask(computed["text"], top_k=top_k, temperature=temperature,
                                 positions=computed["positions"])
    except ValueError as error:
        st.info(str(error))
        return
    mask = next(m for m in result["masks"] if m["position"] == query)
    frame = pd.DataFrame(mask["predictions"])[["token", "probability", "logit"]]
    chart(probability_bars(frame, "The head's prediction"), key="attention_prediction")
    st.caption(f"Top {top_k} at temperature {temperature}, as set on Predict.")


masked_view(model, compute, show)
downloads.image_format()
