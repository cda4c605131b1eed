"""Head anatomy: one masked position through the MaskedLMHead, stage by stage."""

import pandas as pd
import streamlit as st

from mlmviz.app import downloads, view
from mlmviz.analysis import anatomy
from mlmviz.figures.logits import logit_split_bars
from mlmviz.figures.probabilities import paired_probability_bars, percent
from mlmviz.figures.vectors import value_histogram, vector_heatmap
from mlmviz.app.session import (
    chart, choose_mask, current_model, current_ref, explain, head_stages, masked_view, table,
)

st.title("Inside the head")
st.write(
    "The encoder gives one hidden vector per token. At each masked position the head "
    "**gathers** that vector, passes it through a **dense** layer and its activation, "
    "**normalises** it (LayerNorm), and **projects** it onto every row of the token "
    "embedding matrix: one dot product per vocabulary token. Adding a learned per-token "
    "**bias** gives the logits, and **softmax** turns them into probabilities."
)
model, ref = current_model(), current_ref()
TABLE_COLUMNS = {"context": "context term", "bias": "bias term",
                 "probability": "probability (the head)",
                 "bias_only_probability": "probability (bias alone)"}


def bias_note(weight):
    """What the page says instead of the bias-only list when the bias is
    negligible: one plain sentence first, `(note, numbers)`."""
    (low, high), (top_low, top_high) = weight["bias_range"], weight["top_bias_range"]
    context_low, context_high = weight["top_context_range"]
    note = (
        f"**Here the bias hardly matters: the sentence decides.** What the sentence says "
        f"lifts its favourite word {weight['context_lift']:.1f} above a typical word; the bias "
        f"lifts no word more than {weight['bias_lift']:.2f}, {weight['ratio']:.0%} as much "
        f"(under {anatomy.NEGLIGIBLE_LIFT:.0%} counts as hardly mattering). On its own the "
        f"bias barely prefers any word: its favourite gets {percent(weight['prior_top'])}, "
        f"an even spread {percent(weight['uniform'])}."
    )
    numbers = (
        f"For this checkpoint at this mask the bias spans {low:+.2f} to {high:+.2f} over the "
        f"vocabulary and {top_low:+.2f} to {top_high:+.2f} on the top tokens, whose context "
        f"terms are {context_low:.1f} to {context_high:.1f}. A lift is how far a term raises "
        "its highest token above the median token (adding the same number to every token "
        "changes no probability)."
    )
    return note, numbers


def show_mask(masked, encoding, stages):
    """The views of the chosen mask."""
    index = choose_mask(masked, encoding)
    left, right = st.columns(2)
    top_k = view.widget(left.slider, "top_k", "Top-k (tokens shown)", min_value=1,
                        max_value=20, help="The same top-k as on the Predict page.")
    temperature = view.widget(
        right.slider, "temperature", "Temperature", min_value=0.1, max_value=3.0, step=0.1,
        help="The same temperature as on the Predict page: it divides the logits.",
    )

    st.subheader("1 · Gather → dense → activation → LayerNorm")
    names = anatomy.VECTOR_STAGES
    vectors = [stages[name][0, index] for name in names]
    width = max(v.size for v in vectors)
    padded = [list(v) + [float("nan")] * (width - v.size) for v in vectors]
    labels = [anatomy.STAGE_TITLES[name] for name in names]
    chart(vector_heatmap(padded, labels, "Each stage's vector, one cell per dimension"),
          key="anatomy_vectors")
    explain("One row per stage of the head, one cell per dimension of its vector: "
            "blue above zero, red below.")
    table(pd.DataFrame(anatomy.vector_summary(stages, index)), "Each stage's vector in numbers")
    view.check_from_url("hist", labels, "is not a stage of the head")
    view.setdefault("hist", labels[3])
    shown = view.widget(st.selectbox, "hist", "Histogram of", options=labels)
    chart(value_histogram(vectors[labels.index(shown)], shown), key="anatomy_histogram_chart")
    explain("How many of the vector's dimensions take each value.")
    st.caption(
        "LayerNorm recentres and rescales the vector (mean ≈ β, spread ≈ γ), so every "
        "mask reaches the projection at a comparable length."
    )

    st.subheader("2 · Projection + bias = logit")
    split = pd.DataFrame(anatomy.anatomy_table(stages, index, model.vocabulary, top_k, temperature))
    chart(logit_split_bars(split, "Each top token's logit, split in two"), key="anatomy_split")
    st.write(
        "The **context** term is the dot product of the normalised vector with the token's "
        "embedding row: what this sentence says. The **bias** term is the same for every "
        "sentence: a learned prior that favours frequent tokens."
    )
    weight = anatomy.bias_weight(stages, index, top_k)
    if weight["negligible"]:
        note, numbers = bias_note(weight)
        st.info(note)
        with st.expander("The bias in numbers"):
            st.markdown(numbers)

    st.subheader("3 · Softmax: with and without the context")
    chart(
        paired_probability_bars(
            split["token"], split["probability"], split["bias_only_probability"],
            ["the head", "bias only"], "Probability of the top tokens",
        ),
        key="anatomy_prior",
    )
    explain("One linear axis, every bar printed: what each token gets from the whole head, "
            "and from the bias alone (softmax of the bias, the same for every sentence).")
    if not weight["negligible"]:
        prior = pd.DataFrame(
            anatomy.bias_only_top(stages["bias"], model.vocabulary, top_k, temperature))
        st.write("What the head predicts from the bias alone, for any sentence:")
        table(prior, "The bias alone: its top tokens")
    table(split.rename(columns=TABLE_COLUMNS), "The top tokens' logits, terms and probabilities")
    position = masked.positions[index]
    downloads.anatomy(stages, index, model.vocabulary, top_k, temperature, position,
                      encoding.tokens[position])


masked_view(model, lambda text, positions: head_stages(ref, text, positions), show_mask)
downloads.image_format()
