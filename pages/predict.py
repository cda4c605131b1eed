"""Predict: type a sentence, pick tokens to mask, see the head's top-k."""

import pandas as pd
import streamlit as st

from mlmviz import export
from mlmviz.figures.probabilities import probability_bars
from shared import current_model, examples, keep, set_shared, text_and_masks

st.title("Fill the mask")
model = current_model()
mask_token = model.tokenizer.mask_token
st.write(
    f"Type `{mask_token}` where a word should be guessed, or pick tokens to hide. "
    "The MaskedLMHead turns the encoder's hidden state at each masked position "
    "into a probability for every token in the vocabulary."
)

EXAMPLES = examples(mask_token)


def use_example():
    set_shared("text", st.session_state.example)


def load_view():
    """Restore text, masks, top-k and temperature from an uploaded view."""
    upload = st.session_state.view_file
    if upload is None:
        return
    try:
        bundle = export.read_bundle(upload.getvalue())
    except ValueError as error:
        st.session_state.view_message = str(error)
        return
    st.session_state.view_message = None
    set_shared("text", bundle["text"])
    set_shared("picked", bundle["positions"])
    set_shared("top_k", min(max(bundle["top_k"], 1), 20))
    st.session_state.temperature = min(max(bundle["temperature"], 0.1), 3.0)
    if bundle.get("weight_hash") != model.metadata["weight_hash"]:
        st.session_state.view_message = (
            f"This view was made with model {bundle.get('model')!r} "
            f"(weights {bundle.get('weight_hash')}); it is shown on the current model."
        )


st.selectbox(
    "Examples", EXAMPLES, index=None, placeholder="Pick an example sentence",
    key="example", on_change=use_example,
)
with st.expander("Load a saved view (.json)"):
    st.file_uploader("View file", type=["json"], key="view_file", on_change=load_view)
if st.session_state.get("view_message"):
    st.warning(st.session_state.view_message)
text, encoding, picked = text_and_masks(model)
left, middle, right = st.columns(3)
st.session_state.setdefault("top_k", 5)
top_k = keep("top_k", left.slider(
    "Top-k", 1, 20, key="top_k", bind="query-params", on_change=keep, args=("top_k",)
))
temperature = middle.slider(
    "Temperature", 0.1, 3.0, 1.0, step=0.1, key="temperature", bind="query-params"
)
targets = [w for w in right.text_input("Candidate words (comma-separated)", key="targets").split(",") if w.strip()]

try:
    result = model.fill_mask(
        text, top_k=top_k, temperature=temperature, positions=picked, targets=targets
    )
except ValueError as error:
    st.info(str(error))
    st.stop()

if result["truncated"]:
    st.warning(f"The text is longer than the model's {model.metadata['max_length']} tokens: it was cut.")
columns = st.columns(min(len(result["masks"]), 4))
for i, mask in enumerate(result["masks"]):
    table = pd.DataFrame(mask["predictions"])[["token", "probability", "logit"]]
    with columns[i % len(columns)]:
        title = f"Position {mask['position']}: {mask['original']}"
        st.plotly_chart(probability_bars(table, title), key=f"bars-{mask['position']}")
        st.caption(f"Entropy {mask['entropy']:.2f} nats")
        if mask["original_rank"] is not None:
            st.caption(
                f"The hidden word **{mask['original']}**: probability "
                f"{mask['original_probability']:.1%}, rank {mask['original_rank']:,}"
            )
        for target in mask["targets"]:
            note = f" (scored as its first piece {target['token']})" if target["split"] else ""
            st.caption(
                f"{target['word']}{note}: probability {target['probability']:.2%}, "
                f"rank {target['rank']:,}"
            )
        st.dataframe(table, hide_index=True)

left, right = st.columns(2)
left.download_button(
    "Download predictions (CSV)", export.predictions_csv(result),
    file_name="mlmviz-predictions.csv", mime="text/csv", key="download_csv",
)
right.download_button(
    "Download this view (JSON)",
    export.view_bundle(result, model.metadata, text, picked, top_k, temperature),
    file_name="mlmviz-view.json", mime="application/json", key="download_json",
)

if len(result["masks"]) > 1:
    st.subheader("Independent or one at a time?")
    st.write(
        "The charts above are what the head computes: every mask predicted on its own, "
        "with the other masks still hidden. Filling the most confident mask first and "
        "running the model again lets later guesses see earlier ones."
    )
    if st.button("Fill one at a time", key="sequential"):
        steps = model.fill_sequentially(text, positions=picked, temperature=temperature)
        st.dataframe(pd.DataFrame(steps), hide_index=True)
