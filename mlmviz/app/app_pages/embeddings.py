"""Tied-embedding similarity: the geometry that turns a vector into logits."""

import pandas as pd
import streamlit as st

from mlmviz.app import downloads, view
from mlmviz.analysis import anatomy, neighbours
from mlmviz.figures.logits import norm_bias_scatter
from mlmviz.figures.vectors import matrix_heatmap
from mlmviz.app.session import (
    chart, choose_mask, current_model, current_ref, explain, head_stages, load_model,
    masked_view,
)

st.title("Embedding similarity")
st.write(
    "The head scores every token by the dot product of its transformed vector with that "
    "token's row of the output matrix, then adds the token's bias. So the tokens it "
    "predicts are the rows that point the same way as the vector **and** are long, "
    "helped by a large bias. Cosine similarity ignores the length: comparing the two "
    "rankings shows how much a row's norm matters."
)
model, ref = current_model(), current_ref()


@st.cache_resource(max_entries=4, show_spinner="Measuring the vocabulary…")
def geometry(ref):
    """Per-model constants: the output matrix, its row norms, the bias, the tie check."""
    model = load_model(*ref)
    matrix = model.output_matrix  # (vocab, feature)
    tie = neighbours.tie_report(matrix, model.embedding_matrix)
    return matrix, neighbours.row_norms(matrix), model.output_bias, tie


matrix, norms, bias, tie = geometry(ref)
if model.head.token_embedding is not None:
    st.success("This head is **tied**: its output matrix is the input token embedding itself.")
elif tie["tied"]:
    st.info("This head has its own output kernel, equal to the input embedding.")
else:
    detail = (
        f"largest difference {tie['max_abs_difference']:.3g}, mean row cosine "
        f"{tie['mean_row_cosine']:.3f}" if tie["same_shape"] else "different shapes"
    )
    st.info(f"This head is **untied**: its output kernel is not the input embedding ({detail}).")


def neighbour_table(vector, k, metric):
    ids, scores = neighbours.nearest_rows(matrix, vector, k, metric, norms)
    return pd.DataFrame({
        "token": [model.vocabulary[i] for i in ids], metric: scores,
        "row norm": norms[ids], "bias": bias[ids],
    })


def scatter_caption(norm_standing, bias_standing, weight):
    """Where this mask's top predictions (red) sit in the scatter, in words, from
    the data, and what their bias weighs at this mask (`anatomy.bias_weight`,
    the measure Head anatomy states, so the two pages agree)."""
    side = "right" if norm_standing >= 0.5 else "left"
    height = "high" if bias_standing >= 0.5 else "low"
    rows = (
        f"their rows are longer than most ({norm_standing:.0%} of the vocabulary's are "
        "shorter), so length helps them win"
        if norm_standing >= 0.5 else
        f"their rows are shorter than most (only {norm_standing:.0%} of the vocabulary's are "
        "shorter), so the direction of the vector, not the rows' length, picks them"
    )
    counts = "hardly matters" if weight["negligible"] else "counts"
    return (
        f"The top predictions (red) sit to the {side} and {height}: {rows}. Their biases are "
        f"larger than {bias_standing:.0%} of the vocabulary's (middle values), yet at this mask "
        f"the bias {counts} next to what the sentence says: it weighs {weight['ratio']:.0%} of "
        "the context, as Head anatomy shows."
    )


def show_mask(masked, encoding, stages):
    """The views of the chosen mask."""
    index = choose_mask(masked, encoding)
    k = view.widget(st.slider, "nbrs", "Neighbours", min_value=5, max_value=30)
    vector = stages["normed"][0, index]  # (feature,)
    left, right = st.columns(2)
    left.markdown("**By dot product** (the logits without the bias)")
    left.dataframe(neighbour_table(vector, k, "dot"), hide_index=True)
    right.markdown("**By cosine** (direction only)")
    try:
        right.dataframe(neighbour_table(vector, k, "cosine"), hide_index=True)
    except ValueError as error:
        right.info(str(error))

    top = stages["logits"][0, index].argsort()[::-1][:k]  # (k,) best first
    tokens = [model.vocabulary[i] for i in top]
    chart(
        matrix_heatmap(neighbours.cosine_matrix(matrix[top]), tokens,
                       "Cosine similarity among the top predictions' rows"),
        key="embeddings_similarity",
    )
    explain("How alike the top predictions' rows of the output matrix are: 1 = the same "
            "direction, 0 = unrelated.")
    chart(
        norm_bias_scatter(norms, bias, model.vocabulary, top,
                          "Every token: row norm vs output bias"),
        key="embeddings_scatter",
    )
    explain(scatter_caption(neighbours.median_standing(norms, top),
                            neighbours.median_standing(bias, top),
                            anatomy.bias_weight(stages, index, k)))
    downloads.embeddings(matrix, vector, k, model.vocabulary, norms, bias)


masked_view(model, lambda text, positions: head_stages(ref, text, positions), show_mask)
downloads.image_format()
