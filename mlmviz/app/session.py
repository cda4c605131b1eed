"""Streamlit glue shared by the router and the pages: the model the sidebar chose,
and the text and masks every page works on."""

import collections
import threading

import streamlit as st

import mlmviz
from mlmviz.app import WARM_UP_THREAD, access, storage, view
from mlmviz.sources.checkpoints import CheckpointError
from mlmviz.examples import UNMASKED, rank_examples
from mlmviz.figures.layout import for_projector

TEXT_HEIGHT = 100  # px, about three lines: a longer text scrolls in its box
SCROLL_PILLS_PAST = 60  # tokens: more pills than this go in a scrollable box
PILLS_HEIGHT = 220  # px


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(source, precision="float32"):
    """One `MaskedLM` per (source, precision), shared by all sessions and never mutated.

    `source` is what `mlmviz.load` reads, or "server:NAME" for a model the
    shared server offers (`access.server_models`). Its prediction path is
    compiled for a second shape in the background, after the first page has
    drawn, so later lengths do not wait for tracing.

    Raises:
        CheckpointError: the model cannot be loaded; in shared mode its
            message names no server path.
    """
    try:
        model = mlmviz.load(readable(source), precision=precision, name=source_name(source))
    except CheckpointError as error:
        if not access.shared():
            raise
        raise CheckpointError(access.public(str(error))) from None
    # Not a daemon (a thread started from Streamlit's script thread would inherit
    # daemon=True): TensorFlow aborts the process if it is killed mid-call at exit.
    threading.Thread(target=model.warm_up, name=WARM_UP_THREAD, daemon=False).start()
    return model


def readable(source):
    """The path (or "default", "hf:ORG/NAME") that `mlmviz.load` reads for `source`."""
    if not source.startswith(access.SERVER_PREFIX):
        return source
    name = source.removeprefix(access.SERVER_PREFIX)
    offered = access.server_models()
    if name not in offered:
        raise CheckpointError(f"This server offers no model named {name!r}.")
    return str(offered[name])


def source_name(source):
    """What the model of `source` is called on the pages: the source itself,
    except that in shared mode a visitor's own file is named by its place in
    the session's folder ("session:uploads/…"), never by a server path."""
    within = storage.within_session(source) if access.shared() else None
    return f"session:{within}" if within else source


def current_source():
    """The sidebar's current (last successfully loaded) model source."""
    return st.session_state.get("model_source", "default")


def current_precision():
    """The precision of the sidebar's current model (the last that loaded)."""
    return st.session_state.get("model_precision", "float32")


def current_ref():
    """`(source, precision)` of the sidebar's current model: what every cached
    result computed from it is keyed by (`load_model(*ref)` gives the model)."""
    return current_source(), current_precision()


EXPLORED_KEY = "explored_head"  # session state: the source of the head "Explore this head" saved
PAGE_HEAD_CHECK = "page_head_check"  # session state: (HeadCheck, whose head), this run only


def show_head_check(check, whose):
    """Let the sidebar's head check show `check` (a `HeadCheck`, or None while that
    head is training) after this run: the page works with another head than the
    loaded model's, `whose` in words. Call it from the page's body, not from a
    fragment (the router draws it after full runs only)."""
    st.session_state[PAGE_HEAD_CHECK] = (check, whose)


def current_model():
    """The model of the sidebar's current source, in its precision."""
    return load_model(*current_ref())


def choose_second():
    """The source of model B (Compare, Evaluate), or None while none is chosen.

    Local mode: the embedded default or a typed path; shared mode: the
    embedded default or a model the server offers, by name.
    """
    kinds = access.compare_kinds()
    view.offered("compare_kind", kinds)
    kind = view.widget(st.radio, "compare_kind", "Model B", options=kinds, horizontal=True)
    if kind == access.DEFAULT:
        return "default"
    if kind == access.SERVER:
        names = ["", *access.server_models()]
        view.offered("compare_model", names)
        name = view.widget(st.selectbox, "compare_model", "Model B on this server",
                           options=names, format_func=lambda n: n or "Choose a model…")
        return f"{access.SERVER_PREFIX}{name}" if name else None
    path = view.widget(
        st.text_input, "compare_path", "Model B: path or hf:ORG/NAME",
        help="A Hugging Face checkpoint directory, a keras-hub preset or .keras file, "
        "or hf:ORG/NAME from the local Hugging Face cache.",
    )
    return path.strip() or None


def second_model(source):
    """Model B of `source`, or None after a message (none chosen, or it cannot be loaded)."""
    if source is None:
        st.info("Choose model B on this server." if access.shared()
                else "Type the path of model B, or hf:ORG/NAME.")
        return None
    try:
        model = load_model(source)
    except ValueError as error:  # CheckpointError is a ValueError
        st.error(f"Model B could not be loaded: {access.public(str(error))}")
        return None
    if not model.head_check.trained:
        st.warning(f"Model B: {model.head_check.message}")
    return model


@st.cache_data(show_spinner=False, max_entries=8)
def ranked_examples(ref):
    """The candidate examples as the model of `ref` (`current_ref()`) answers them,
    those it answers best first (`mlmviz.examples.rank_examples`).

    A model with NaN or infinite weights answers nothing (the pages say so
    and stop): it gets none.
    """
    model = load_model(*ref)
    return [] if model.warnings else rank_examples(model)


def examples(ref):
    """Example sentences for the model of `ref`: those it answers best first,
    then one without a mask to click."""
    return [example.text for example in ranked_examples(ref)] + [UNMASKED]


def example_label(ref):
    """A function that labels an example sentence for the Examples box: the
    ones the model of `ref` answers (every hidden word its first guess) are
    marked with their answer."""
    answered = {e.text: e.answers for e in ranked_examples(ref) if e.answered}

    def label(text):
        if text in answered:
            return f"{text}  ✓ the model says “{', '.join(answered[text])}”"
        return text
    return label


def text_and_masks(model, pills=True):
    """The text box and the token pills, shared by every page.

    A note under the text box says where the text was cut when it is longer
    than the model reads. Past `SCROLL_PILLS_PAST` tokens the pills sit in a
    scrollable box. With `pills=False` (a page that chooses its own tokens)
    no pills are drawn and `picked` is empty; the view keeps the clicked
    tokens for the other pages.

    Returns:
        `(text, encoding, picked)`: the text, its `Encoding`, and the
        positions the user clicked. Stops the page with a hint when the text
        is empty.
    """
    if model.warnings:
        st.warning(
            "This model's weights hold NaN or infinity, so its predictions are not "
            "numbers. Choose another model in the sidebar."
        )
        st.stop()
    view.setdefault("text", examples(current_ref())[0])
    text = view.widget(
        st.text_area, "text", "Text", height=TEXT_HEIGHT,
        help=f"Type {model.tokenizer.mask_token} where the model should guess a word. "
        "Ctrl+Enter (or a click outside the box) applies the text.",
    )
    if not text.strip():
        st.info("Type a sentence to start.")
        st.stop()
    encoding = model.tokenizer.encode(text)
    if encoding.truncated:
        st.warning(truncation_notice(text, encoding, model.tokenizer.max_length))
    if not pills:
        return text, encoding, ()
    typed = model.typed_masks(encoding)
    options = sorted([*model.maskable_positions(encoding), *typed])
    # A typed mask is a pill of its own, always shown masked (a click on it
    # changes nothing); the view's `picked` holds the clicked positions only.
    view.absorb("picked")
    # Positions of an earlier text that this one lacks are dropped.
    clicked = view.check_from_url("picked", options, "not a maskable token of this text")
    view.state()["picked"] = tuple(sorted({*clicked, *typed}))
    labels = pill_labels(encoding, text, model.tokenizer.unk_token)
    scroll = len(options) > SCROLL_PILLS_PAST
    with st.container(height=PILLS_HEIGHT if scroll else "content", border=scroll):
        shown = view.widget(
            st.pills, "picked", "Click tokens to mask them (click again to unmask)",
            options=options, selection_mode="multi", format_func=labels.__getitem__,
            help=PILLS_HELP.format(mask=model.tokenizer.mask_token),
        )
    picked = tuple(p for p in shown if p not in typed)
    view.state()["picked"] = picked
    return text, encoding, picked


PILLS_HELP = (
    "Each button is one token of the text as the model reads it (long or rare words "
    "come in pieces, like ##ing). A small number after a token, as in the₃, is its "
    "position in the text: it tells apart a token that occurs twice. A {mask} you typed "
    "is a masked button of its own; delete it from the text to unmask it."
)


def truncation_notice(text, encoding, max_length):
    """Where `text` was cut to the model's `max_length` tokens, in words."""
    kept = encoding.kept_characters
    last_words = " ".join(text[:kept].split()[-4:])
    return (f"The model reads at most {max_length} tokens: every page uses the text up to "
            f"“… {last_words}” (character {kept:,} of {len(text):,}); the rest is cut.")


def pill_labels(encoding, text, unk_token=None):
    """A unique label per token of `encoding`.

    An unknown token (`unk_token`) shows the characters of `text` it stands
    for ("😀", not "[UNK]"). Streamlit identifies pills by their labels, so
    a repeated label gets the token's position as a subscript.
    """
    shown = [
        text[start:end] if token == unk_token and end > start else token
        for token, (start, end) in zip(encoding.tokens, encoding.offsets)
    ]
    counts = collections.Counter(shown)
    digits = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    return [
        label if counts[label] == 1 else f"{label}{str(i).translate(digits)}"
        for i, label in enumerate(shown)
    ]


def masked_or_stop(model, text, picked):
    """`model.mask(text, picked)`, or an info message and stop on bad input."""
    try:
        return model.mask(text, picked)
    except ValueError as error:
        st.info(str(error))
        st.stop()


@st.cache_data(max_entries=32, show_spinner=False)
def head_stages(ref, text, positions):
    """`model.stages` of the masked text, cached per (model `ref`, text, masks)."""
    model = load_model(*ref)
    return model.stages(model.mask(text, positions))


def model_key(model):
    """What tells `model`'s results apart in a cache shared by every session: its
    source, its weights and its precision (a bfloat16 copy of the same weights
    answers differently)."""
    meta = model.metadata
    return meta["source"], meta["weight_hash"], meta.get("precision", "float32")


PREDICTIONS_KEPT = 64  # fill-mask results: a few KB each


def predictions(model, text, **settings):
    """`model.fill_mask(text, **settings)`, shared by every session: thirty
    students opening one link, or a page switch back to Predict, ask once.

    Raises what `fill_mask` raises (nothing is cached then).
    """
    return _predictions(model, model_key(model), text, **settings)


@st.cache_data(max_entries=PREDICTIONS_KEPT, show_spinner=False)
def _predictions(_model, key, text, **settings):
    """`key` (`model_key(_model)`) stands for the model, which is not hashed."""
    return _model.fill_mask(text, **settings)


@view.fragment
def masked_view(model, compute, show):
    """The text box, the pills and `show(masked, encoding, computed)` below them.

    `computed` is `compute(text, positions)` (a cached analysis of the masked
    text). A fragment: an edit of the text, the masks or the page's settings
    reruns only this, not the navigation and the sidebar.
    """
    text, encoding, picked = text_and_masks(model)
    masked = masked_or_stop(model, text, picked)
    show(masked, encoding, compute(text, tuple(picked)))


def choose_mask(masked, encoding):
    """A select box over the masks of `masked` (the view's `mask`); returns the index."""
    view.check_from_url("mask", masked.positions, "is not a mask of this text")
    if view.get("mask") is None:
        view.state()["mask"] = masked.positions[0]
    position = view.widget(
        st.selectbox, "mask", "Mask", options=masked.positions,
        format_func=lambda p: f"position {p}: {encoding.tokens[p]}",
    )
    return masked.positions.index(position)


def presenting():
    """True in presentation mode (the sidebar's toggle, `present=1` in the URL)."""
    return view.get("present")


def chart(figure, key):
    """`st.plotly_chart`, restyled for a projector in presentation mode.

    Its camera button saves `mlmviz-<key>.png` or `.svg`, as chosen with
    `downloads.image_format` (session state `chart_format`).
    """
    image = {"format": st.session_state.get("chart_format", "PNG").lower(),
             "filename": f"mlmviz-{key}"}
    st.plotly_chart(for_projector(figure) if presenting() else figure, key=key,
                    config={"toImageButtonOptions": image})


def chart_columns(count, most=4):
    """Columns for `count` charts side by side; one per row in presentation mode."""
    return [st.container()] if presenting() else st.columns(min(count, most))


def table(frame, label="The numbers as a table", **kwargs):
    """`st.dataframe`, folded into an expander in presentation mode."""
    place = st.expander(label) if presenting() else st.container()
    place.dataframe(frame, hide_index=True, **kwargs)


def explain(sentence):
    """The "what am I looking at" line under a chart."""
    st.caption(f":material/info: {sentence}")
