"""Predict: type a sentence, pick tokens to mask, see the head's top-k."""

import streamlit as st

from mlmviz import distributions, plots, toy


@st.cache_resource(show_spinner="Building the model…")
def load_model():
    return toy.ToyModel(seed=0)


st.title("Fill the mask")
st.write(
    "Pick the tokens to hide (or type `[MASK]`). The MaskedLMHead turns the "
    "hidden state at each masked position into a probability for every "
    "token in the vocabulary."
)

model = load_model()
text = st.text_input("Text", value="the cat sat on the [MASK]", key="text")
tokens = model.tokenize(text)
if not tokens:
    st.info("Type a sentence to start.")
    st.stop()

picked = st.multiselect(
    "Tokens to mask",
    options=range(len(tokens)),
    format_func=lambda i: f"{i}: {tokens[i]}",
    key="picked",
)
left, right = st.columns(2)
top_k = left.slider("Top-k", 1, 20, 5, key="top_k")
temperature = right.slider("Temperature", 0.1, 3.0, 1.0, step=0.1, key="temperature")

positions = model.mask_positions(tokens, picked)
if not positions:
    st.info("Nothing is masked yet: pick a token above or type [MASK].")
    st.stop()

logits = model.mask_logits(tokens, positions)
for column, position, row in zip(st.columns(len(positions)), positions, logits):
    table = distributions.top_k_table(row, model.vocabulary, top_k, temperature)
    with column:
        st.plotly_chart(
            plots.probability_bars(table, f"Position {position}: {tokens[position]}"),
            key=f"bars-{position}",
        )
        st.dataframe(table, hide_index=True)
