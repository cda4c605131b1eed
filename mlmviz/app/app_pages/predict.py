"""Predict: type a sentence, pick tokens to mask, see the head's top-k."""

import math

import pandas as pd
import streamlit as st

from mlmviz.app import downloads, view
from mlmviz import export
from mlmviz.analysis.filled import filled_segments
from mlmviz.figures.probabilities import probability_bars
from mlmviz.app.session import (
    chart, chart_columns, current_model, current_ref, example_label, examples, explain,
    predictions, table, text_and_masks,
)

st.title("Fill the mask")
model = current_model()
mask_token = model.tokenizer.mask_token
st.write(
    f"Hide a word and see what the model guesses in its place: type `{mask_token}` in "
    "the text, or click a word below. Each chart lists the model's best guesses for one "
    "hidden word, with how likely it thinks each one is."
)
st.caption(
    "How: the encoder reads the whole text; at each hidden position its prediction head "
    "(a Keras MaskedLMHead) turns what the encoder computed there into a probability for "
    "every token of the vocabulary."
)

EXAMPLES = examples(current_ref())


def use_example():
    view.put("text", st.session_state.example)


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
    view.put("text", bundle["text"])
    view.put("picked", tuple(bundle["positions"]))
    view.put("top_k", min(max(bundle["top_k"], 1), 20))
    view.put("temperature", round(min(max(bundle["temperature"], 0.1), 3.0), 1))
    if bundle.get("weight_hash") != model.metadata["weight_hash"]:
        st.session_state.view_message = (
            f"This view was made with model {bundle.get('model')!r} "
            f"(weights {bundle.get('weight_hash')}); it is shown on the current model."
        )


def filled_markdown(text, encoding, fills):
    """The text with each fill in bold (Markdown specials of the text escaped;
    a fill's own leading or trailing space outside the bold, where Markdown needs it)."""
    def escape(piece):
        return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~$" else c for c in piece)

    def bold(piece):
        core = piece.strip()
        if not core:
            return escape(piece)
        start = piece.index(core)
        return f"{piece[:start]}**{escape(core)}**{piece[start + len(core):]}"

    return "".join(
        bold(piece) if filled else escape(piece)
        for piece, filled in filled_segments(text, encoding.offsets, fills)
    )


st.selectbox(
    "Examples", EXAMPLES, index=None, placeholder="Pick an example sentence",
    key="example", on_change=use_example, format_func=example_label(current_ref()),
    help="✓: the model's first guess is the hidden word. The sentences it answers "
    "come first; the last one has no mask: click its words to hide them.",
)
with st.expander("Load a saved view (.json)"):
    st.file_uploader("View file", type=["json"], key="view_file", on_change=load_view)
if st.session_state.get("view_message"):
    st.warning(st.session_state.view_message)


@view.fragment
def prediction():
    """Text, masks, settings and the charts: an edit reruns only this part."""
    text, encoding, picked = text_and_masks(model)
    left, middle, right = st.columns(3)
    top_k = view.widget(left.slider, "top_k", "Top-k", min_value=1, max_value=20,
                        help="How many of the most probable tokens to list at each mask.")
    temperature = view.widget(
        middle.slider, "temperature", "Temperature", min_value=0.1, max_value=3.0, step=0.1,
        help="The logits are divided by it before the softmax: below 1 the top answer takes "
        "more of the probability, above 1 the probability spreads over more tokens.",
    )
    typed = view.widget(right.text_input, "words", "Candidate words (comma-separated)",
                        help="Words whose probability and rank to show at every mask.")
    targets = [w for w in typed.split(",") if w.strip()]

    try:
        result = predictions(
            model, text, top_k=top_k, temperature=temperature, positions=picked, targets=targets
        )
    except ValueError as error:
        st.info(str(error))
        return

    fills = {mask["position"]: mask["predictions"][0]["token"] for mask in result["masks"]}
    st.markdown("**With the top guesses:** " + filled_markdown(text, encoding, fills))
    explain("Each chart: the head's probability for its top tokens at one mask; the "
            "probabilities of the whole vocabulary add up to 100 %.")
    columns = chart_columns(len(result["masks"]), most=2)
    for i, mask in enumerate(result["masks"]):
        frame = pd.DataFrame(mask["predictions"])[["token", "probability", "logit"]]
        with columns[i % len(columns)]:
            title = f"Position {mask['position']}: {mask['original']}"
            chart(probability_bars(frame, title), key=f"bars-{mask['position']}")
            st.caption(
                f"Entropy {mask['entropy']:.2f} nats: as uncertain as a choice between about "
                f"{math.exp(mask['entropy']):,.0f} equally "
                "likely tokens."
            )
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
            table(frame)

    downloads.predict(result, model.metadata, text, picked, top_k, temperature)

    if len(result["masks"]) > 1:
        st.subheader("Independent or one at a time?")
        st.write(
            "The charts above are what the head computes: every mask predicted on its own, "
            "with the other masks still hidden. Filling the most confident mask first and "
            "running the model again lets later guesses see earlier ones."
        )
        if st.button("Fill one at a time", key="sequential"):
            steps = model.fill_sequentially(text, positions=picked, temperature=temperature)
            done = {step["position"]: mask_token for step in steps}  # all open at first
            for number, step in enumerate(steps, 1):
                done[step["position"]] = step["token"]
                st.markdown(
                    f"{number}. **{step['token']}** at position {step['position']} "
                    f"({step['probability']:.1%}): " + filled_markdown(text, encoding, done)
                )
            table(pd.DataFrame(steps))


prediction()
downloads.image_format()
