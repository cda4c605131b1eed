"""The view: everything a shared link restores, kept in one place and in the URL.

A view is the model source, the text, the masks, top-k, temperature, the
candidate words, the selected mask, each page's own settings and the
presentation mode. It lives in `st.session_state` under `VIEW_KEY`, so a
page switch keeps it, and it is written to the URL query string whenever it
changes and at the end of every run (a page switch clears the URL). The
URL's model fields name the model that runs (`show_in_url`): a path typed in
the sidebar that failed to load stays in the box, not in the link.

A new session reads the URL once. Each parameter is checked on its own: a
bad value (top_k=999, temperature=abc, an unknown name) is ignored with a
note, the valid ones are kept. Values that can only be checked against the
text (mask positions) are checked by the page that draws them
(`check_from_url`).

Widgets are drawn through `widget(...)`: the widget's key is the parameter
name, its value comes from the view, and its on_change writes the view (and
the URL) before the script runs.
"""

import functools
import math
import os
import urllib.parse
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from mlmviz.app import SOURCE_ENV, access
from mlmviz.sources import known

VIEW_KEY = "_view"
NOTES_KEY = "_view_notes"
DRAWN_KEY = "_view_drawn"  # each widget's value when last drawn
UNCHECKED_KEY = "_view_unchecked"  # names read from the URL, awaiting a check against the text
URL_KEY = "_view_url"  # values the URL shows instead of the view's (`show_in_url`)
PAGE_KEY = "_view_page"  # the current page's URL path (set by the router)
MODEL_KINDS = access.MODEL_KINDS  # those a link may name; the sidebar offers `access.model_kinds()`
COMPARE_KINDS = access.COMPARE_KINDS
STAGES = ("gathered", "after the head's transform")
CORPORA = ("Held-out sample", "Upload a .txt")
PRECISIONS = ("float32", "bfloat16")  # mlmviz.precision.PRECISIONS, which imports Keras
HUB_MODELS = tuple(model.repo_id for model in known.KNOWN_MODELS)
LEARNING_RATES = (0.0003, 0.001, 0.003, 0.01, 0.03)  # Train the head's choices
BATCH_SIZES = (64, 128, 256, 512, 1024)
ACTIVATIONS = ("gelu", "relu")
TRAIN_SECONDS = (30, 60, 120, 300)
CACHED_POSITIONS = (2_000, 20_000, 50_000, 200_000)
MOST_EVALUATED_LINES = 20_000
IGNORED = ("embed", "embed_options")  # Streamlit's own parameters
_UNSET = object()


@dataclass(frozen=True)
class Field:
    """One URL parameter.

    Attributes:
        default: the value when the URL does not give one (None: the page
            decides, e.g. the text is the model's first example).
        parse: URL string -> value; raises ValueError saying what is allowed.
        meaning: what it holds, for the README and the notes.
    """

    default: object
    parse: Callable[[str], object]
    meaning: str


def _digits(raw):
    """True for a plain ASCII whole number ("12"; not "²", "1.0" or "-1")."""
    return raw.isascii() and raw.isdigit()


def integer(low, high):
    def parse(raw):
        if not (_digits(raw) and low <= int(raw) <= high):
            raise ValueError(f"a whole number from {low} to {high}")
        return int(raw)
    return parse


def number(low, high):
    """A decimal in [low, high], rounded to one decimal (the sliders' step)."""
    def parse(raw):
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"a number from {low} to {high}")
        return round(value, 1)
    return parse


def choice(options):
    def parse(raw):
        if raw not in options:
            raise ValueError("one of " + ", ".join(repr(o) for o in options))
        return raw
    return parse


def text(limit):
    def parse(raw):
        if len(raw) > limit:
            raise ValueError(f"at most {limit:,} characters")
        return raw
    return parse


def one_of(values):
    """One of the numbers `values`, written as Python writes it ("0.003", "512")."""
    def parse(raw):
        for value in values:
            if raw == str(value):
                return value
        raise ValueError("one of " + ", ".join(str(v) for v in values))
    return parse


def positions(raw):
    """Comma-separated token positions ("2,6"), as a sorted tuple."""
    values = [part.strip() for part in raw.split(",") if part.strip()]
    if not all(_digits(value) for value in values):
        raise ValueError("token positions such as 2,6")
    return tuple(sorted({int(value) for value in values}))


def flag(raw):
    if raw not in ("0", "1"):
        raise ValueError("1 (on) or 0 (off)")
    return raw == "1"


FIELDS = {
    "model_kind": Field("Embedded default", choice(MODEL_KINDS), "where model A comes from"),
    "model_path": Field("", text(4096), "model A's checkpoint path or hf:ORG/NAME"),
    "hub_model": Field("", choice(HUB_MODELS), "model A, a well-known Hugging Face Hub checkpoint"),
    "server_model": Field("", text(200), "model A, by its name on a shared server"),
    "precision": Field("float32", choice(PRECISIONS), "model A's weights' precision"),
    "text": Field(None, text(100_000), "the text"),
    "picked": Field((), positions, "the clicked token positions (besides typed masks)"),
    "top_k": Field(5, integer(1, 20), "candidates shown per mask"),
    "temperature": Field(1.0, number(0.1, 3.0), "softmax temperature"),
    "words": Field("", text(1000), "candidate words, comma-separated"),
    "mask": Field(None, integer(0, 100_000), "the position of the mask drawn in detail"),
    "hist": Field(None, text(100), "Head anatomy: the stage shown as a histogram"),
    "heat": Field(STAGES[0], choice(STAGES), "Hidden states: heatmap of the current text"),
    "batch": Field(None, text(100_000), "Hidden states: the sentences, one per line"),
    "bheat": Field(STAGES[0], choice(STAGES), "Hidden states: heatmap of the sentences"),
    "nbrs": Field(10, integer(5, 30), "Embedding similarity: neighbours listed"),
    "lens_k": Field(5, integer(1, 10), "Logit lens: tokens per layer"),
    "rate": Field(15, integer(0, 100), "Masking lab: selected tokens (%)"),
    "mrate": Field(80, integer(0, 100), "Masking lab: of those, masked (%)"),
    "rrate": Field(10, integer(0, 100), "Masking lab: of those, random (%)"),
    "seed": Field(None, integer(0, 1_000_000),
                  "Masking lab: random seed (default: the first that shows a mask)"),
    "ww": Field(False, flag, "Masking lab: whole-word masking"),
    "span": Field(0, integer(0, 100_000), "Masking lab: the first token shown of a long text"),
    "pll_all": Field(False, flag, "Masking lab: score every token of a long text"),
    "layer": Field(None, integer(1, 1000), "Attention: the layer of the matrix"),
    "head": Field(None, integer(1, 1000), "Attention: the head of the matrix"),
    "hide_special": Field(False, flag, "Attention: hide the special tokens ([CLS], [SEP])"),
    "ecorpus": Field(CORPORA[0], choice(CORPORA), "Evaluate: the corpus"),
    "erate": Field(15, integer(1, 100), "Evaluate: masked tokens per line (%)"),
    "eseed": Field(0, integer(0, 1_000_000), "Evaluate: masking seed"),
    "elines": Field(2000, integer(1, MOST_EVALUATED_LINES), "Evaluate: lines read at most"),
    "ecompare": Field(False, flag, "Evaluate: compare with model B (compare_kind, compare_path)"),
    "compare_kind": Field("Embedded default", choice(COMPARE_KINDS), "where model B comes from"),
    "compare_path": Field("", text(4096), "model B's checkpoint path or hf:ORG/NAME"),
    "compare_model": Field("", text(200), "model B, by its name on a shared server"),
    "lens_word": Field("", text(100), "Compare: the word followed layer by layer (empty: "
                       "model A's top guess)"),
    "compare_hide": Field(False, flag, "Compare: hide the special tokens in the attention"),
    "tlr": Field(0.003, one_of(LEARNING_RATES), "Train the head: learning rate"),
    "tbatch": Field(128, one_of(BATCH_SIZES), "Train the head: batch size"),
    "tuntied": Field(False, flag, "Train the head: an untied output (its own kernel)"),
    "tact": Field("gelu", choice(ACTIVATIONS), "Train the head: intermediate activation"),
    "tembed": Field(False, flag, "Train the head: let training change the tied embedding"),
    "tsec": Field(60, one_of(TRAIN_SECONDS), "Train the head: seconds of training at most"),
    "tpos": Field(50_000, one_of(CACHED_POSITIONS), "Train the head: masked positions learnt from"),
    "present": Field(False, flag, "presentation mode"),
}


def state():
    """The session's view dict, read from the URL on the session's first run."""
    if VIEW_KEY not in st.session_state:
        query = _query()
        st.session_state[VIEW_KEY], st.session_state[NOTES_KEY] = from_query(query)
        st.session_state[UNCHECKED_KEY] = {"picked", "mask", "hist", "span", "layer", "head"} & set(query)
    return st.session_state[VIEW_KEY]


def _query():
    """The URL's parameters, repeated ones ("picked=2&picked=6") joined by commas."""
    return {name: ",".join(st.query_params.get_all(name)) for name in st.query_params}


def from_query(query):
    """`(view, notes)` from URL parameters: each bad value ignored with a note."""
    view = {name: field.default for name, field in FIELDS.items()}
    if "model_kind" not in query:
        view.update(opening_model())
    notes = []
    for name, raw in query.items():
        if name in IGNORED:
            continue
        if name in PATHS and access.shared():  # never parsed: the note says nothing of it
            not_offered(notes)
            continue
        if name not in FIELDS:
            notes.append(f"`{name}` is not a setting of this app.")
            continue
        try:
            view[name] = FIELDS[name].parse(raw)
        except ValueError as reason:
            notes.append(f"`{name}={_short(raw)}`: {FIELDS[name].meaning} must be {reason}.")
    return view, notes


PATHS = ("model_path", "compare_path")  # the fields a shared server never reads


def not_offered(notes):
    """Add `access.NOT_OFFERED` to `notes` (a list), once."""
    if access.NOT_OFFERED not in notes:
        notes.append(access.NOT_OFFERED)


def opening_model():
    """The model fields of a session whose link names no model: those of the
    source `mlmviz app SOURCE` serves (`SOURCE_ENV`), none for the embedded
    default or a shared server."""
    source = os.environ.get(SOURCE_ENV, "default")
    if source == "default" or access.shared():
        return {}
    repo_id = source.removeprefix("hf:")
    if source.startswith("hf:") and repo_id in HUB_MODELS:
        return {"model_kind": "Well-known model", "hub_model": repo_id}
    return {"model_kind": "Checkpoint path", "model_path": source}


def to_query(view):
    """The URL parameters of `view`: every value that differs from its default,
    and the model's kind whenever the server opens with another model than
    the embedded default (so a link to the embedded default says so)."""
    query = {}
    served = bool(opening_model())
    for name, field in FIELDS.items():
        value = view.get(name, field.default)
        if value is None or (value == field.default and not (served and name == "model_kind")):
            continue
        if isinstance(value, bool):
            query[name] = "1" if value else "0"
        elif isinstance(value, tuple):
            query[name] = ",".join(str(v) for v in value)
        else:
            query[name] = str(value)
    return query


def _short(raw, limit=40):
    return raw if len(raw) <= limit else raw[:limit] + "…"


def get(name):
    return state()[name]


def put(name, value):
    """Set one value of the view and write the URL."""
    state()[name] = tuple(value) if isinstance(value, list) else value
    sync_url()


def setdefault(name, value):
    """The view's value of `name`, set to `value` first when the page decides it (None)."""
    if state()[name] is None:
        state()[name] = value
    return state()[name]


def show_in_url(**values):
    """Let the URL carry `values` for those names instead of the view's own.

    The sidebar's path box keeps what the user typed, even a path that did
    not load, while the URL (the link a user shares) names the model that
    actually runs.
    """
    st.session_state[URL_KEY] = values


def _linked():
    """The view as its link names it: the URL's own values (`show_in_url`) over the view's."""
    return {**state(), **st.session_state.get(URL_KEY, {})}


def settings():
    """Every value of the view as the URL names it (defaults included), JSON-ready."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in _linked().items()}


def link():
    """The link that restores the view on this page: the app's address as the
    browser gave it (absent in tests), the page's path and the query."""
    query = urllib.parse.urlencode(to_query(_linked()))
    base = (st.context.url or "").rstrip("/")
    return f"{base}/{st.session_state.get(PAGE_KEY, '')}?{query}"


def sync_url():
    """Write the view to the URL (only when it differs: each write is a message)."""
    wanted = to_query(_linked())
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def widget(factory, name, label, **kwargs):
    """Draw `factory(label, key=name, ...)` showing the view's value of `name`.

    The user's change reaches the view in on_change, before the script runs,
    so the value written here before drawing is the current one. A value
    set in `st.session_state[name]` by code (or a test) since the last
    drawing is taken into the view too.
    """
    absorb(name)
    value = get(name)
    st.session_state[name] = st.session_state[DRAWN_KEY][name] = (
        list(value) if isinstance(value, tuple) else value)
    return factory(label, key=name, on_change=_changed, args=(name,), **kwargs)


def absorb(name):
    """Take into the view a value of widget `name` that code (or a test) set in
    `st.session_state` since the widget was last drawn (`widget` calls it; a
    page that adjusts the value before drawing calls it first)."""
    drawn = st.session_state.setdefault(DRAWN_KEY, {})
    if name in st.session_state and st.session_state[name] != drawn.get(name, _UNSET):
        put(name, st.session_state[name])
        drawn[name] = st.session_state[name]


def _changed(name):
    put(name, st.session_state[name])
    st.session_state[NOTES_KEY] = []  # the user has moved on from the link


def offered(name, options):
    """The view's value of the model field `name` when it is one of `options`
    (what this server offers now); else its first option, with a note that in
    shared mode names nothing of the refused value (`access.NOT_OFFERED`)."""
    value = get(name)
    if value in options:
        return value
    notes = st.session_state.setdefault(NOTES_KEY, [])
    if access.shared():
        not_offered(notes)
    else:
        notes.append(f"`{name}={_short(str(value))}`: not offered here; one of "
                     + ", ".join(repr(o) for o in options) + ".")
    state()[name] = options[0]
    return options[0]


def check_from_url(name, valid, reason):
    """Drop the URL's values of `name` that are not in `valid`, with a note (first run only).

    Returns the view's value, filtered. Later (the user edits the text)
    values that no longer fit are dropped silently, as before.
    """
    value = get(name)
    unchecked = st.session_state.get(UNCHECKED_KEY, set())
    kept = tuple(v for v in value if v in valid) if isinstance(value, tuple) else (
        value if value is None or value in valid else None)
    if kept != value:
        if name in unchecked:
            bad = sorted(set(value) - set(kept)) if isinstance(value, tuple) else [value]
            note(f"`{name}`: {', '.join(map(str, bad))} {reason}.")
        state()[name] = kept
    unchecked.discard(name)
    return kept


def fragment(function=None, *, run_every=None):
    """`st.fragment(function, run_every=...)` that writes the view to the URL after
    each of its runs (`@fragment` or `@fragment(run_every=1.0)`).

    A fragment's rerun skips the router (the navigation, the sidebar and the
    URL sync at its end), so values the fragment changed reach the URL here.
    """
    if function is None:
        return functools.partial(fragment, run_every=run_every)

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            sync_url()
    return st.fragment(run, run_every=run_every)


def note(message):
    st.session_state.setdefault(NOTES_KEY, []).append(message)


def show_notes(container):
    """The notes about the link's ignored values, small, in `container`."""
    notes = st.session_state.get(NOTES_KEY) or []
    if notes:
        container.caption("Ignored from the link: " + " · ".join(notes))
