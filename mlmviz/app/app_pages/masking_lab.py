"""Masking lab: what MLM training does to a sentence, and pseudo-log-likelihood."""

import time

import pandas as pd
import streamlit as st

from mlmviz.app import access, downloads, view
from mlmviz.analysis.masking_lab import first_seed_with_a_mask, masking_lab
from mlmviz.analysis.pseudo_likelihood import (
    WINDOW, combine, pseudo_log_likelihood, scorable_positions, window_parts, windows,
)
from mlmviz.figures.strips import corruption_strip, surprise_strip
from mlmviz.app.session import chart, current_model, current_ref, explain, load_model, table, text_and_masks


AUTO_SEED_KEY = "lab_auto_seed"  # session state: the seed the page chose for a new view


@st.cache_data(max_entries=32, show_spinner=False)
def run_lab(ref, text, seed, whole_word, selection_rate, mask_rate, random_rate):
    model = load_model(*ref)
    return masking_lab(model, text, seed, whole_word, selection_rate, mask_rate, random_rate)


@st.cache_data(max_entries=64, show_spinner=False)
def run_pll(ref, text, positions):
    return pseudo_log_likelihood(load_model(*ref), text, positions)


def choose_window(length):
    """A slider over the windows of a long text (the view's `span`); `(start, stop)`."""
    spans = windows(length)
    if len(spans) == 1:
        return spans[0]
    starts = [start for start, _ in spans]
    if view.check_from_url("span", starts, "is not the first token of a window") is None:
        view.state()["span"] = 0
    start = view.widget(
        st.select_slider, "span", f"Tokens shown ({WINDOW} at a time, of {length})",
        options=starts, format_func=lambda s: f"{s}–{min(s + WINDOW, length) - 1}",
    )
    return spans[starts.index(start)]


def default_seed(ref, text):
    """A new view's seed: the first whose draw shows a mask on `text` (a short
    sentence selects one or two tokens, and seed 0 may hide none), said in a caption."""
    if view.get("seed") is None:
        try:
            seed = first_seed_with_a_mask(load_model(*ref), text, view.get("ww"),
                                          *(view.get(name) / 100 for name in ("rate", "mrate", "rrate")))
        except ValueError:  # the lab says why below
            seed = 0
        view.setdefault("seed", seed)
        st.session_state[AUTO_SEED_KEY] = seed


def lab_settings(mask_token):
    """The lab's widgets: `(seed, whole_word, selection, mask, random)`, rates as fractions."""
    left, middle, right, last = st.columns(4)
    percent = {"min_value": 0, "max_value": 100}
    selection = view.widget(left.slider, "rate", "Selected tokens (%)", **percent)
    masked = view.widget(middle.slider, "mrate", f"… of those shown as {mask_token} (%)", **percent)
    randomised = view.widget(right.slider, "rrate", "… of those replaced at random (%)", **percent)
    seed = view.widget(last.number_input, "seed", "Seed", min_value=0, max_value=1_000_000)
    whole_word = view.widget(
        st.toggle, "ww", "Whole-word masking (a word's pieces are selected together)")
    st.caption(f"The rest of the selected tokens, {max(0, 100 - masked - randomised)} %, "
               "are left unchanged: the model must still predict them.")
    if seed == st.session_state.get(AUTO_SEED_KEY, 0) and seed > 0:
        st.caption(f"Seed {seed} is the first whose draw hides a token as {mask_token} in "
                   "this sentence (a short sentence selects only a token or two). Every seed "
                   "is an equally fair draw: change it to see others.")
    return int(seed), whole_word, selection / 100, masked / 100, randomised / 100


def lab_table(result, vocabulary):
    """One row per selected position: what the model read and how it did."""
    corruption = result.corruption
    return pd.DataFrame({
        "position": corruption.positions,
        "original (label)": [result.tokens[i] for i in corruption.positions],
        "model reads": [result.shown[i] for i in corruption.positions],
        "action": corruption.actions,
        "top-1 prediction": [vocabulary[i] for i in result.predictions],
        "loss (nats)": result.losses,
    })


@st.fragment
def lab(ref, text, mask_token, window):
    default_seed(ref, text)
    settings = lab_settings(mask_token)
    try:
        result = run_lab(ref, text, *settings)
    except ValueError as error:
        st.warning(str(error))
        return
    shown = slice(*window)
    chart(corruption_strip(result.tokens[shown], result.shown[shown], result.actions[shown],
                           first=window[0]), key="lab_strip")
    explain("Top row: the sentence; bottom row: what the model reads in training. Blue "
            "cells were masked, orange replaced at random, green kept but still scored.")
    left, right = st.columns(2)
    left.metric("MLM loss (mean cross-entropy at the selected positions)",
                f"{result.loss:.3f} nats")
    hits = round(result.accuracy * len(result.losses))
    right.metric("Accuracy (top-1 = original)", f"{result.accuracy:.0%}",
                 help=f"{hits} of {len(result.losses)} selected positions")
    table(lab_table(result, load_model(*ref).vocabulary), "Every selected position")
    downloads.masking_lab(result, load_model(*ref).vocabulary)


st.title("Masking lab")
model = current_model()
mask_token = model.tokenizer.mask_token
st.write(
    "**How a masked language model learns.** In training the model never sees the "
    "answers it must give. In every sentence a random 15 % of the tokens are "
    f"*selected*. Of those, 80 % are replaced by `{mask_token}`, 10 % by a random "
    "token and 10 % are left as they are, so the model cannot assume that only "
    f"`{mask_token}` positions need fixing. At every selected position it must name "
    "the original token; the training loss is the average cross-entropy, "
    "−log p(original token), over the selected positions only: the other tokens "
    "teach it nothing in this step. With *whole-word masking* all the pieces of a "
    "word (`play ##ing`) are selected together, so one piece cannot give the other away."
)


def score(ref, text, encoding, window):
    """The PLL of the window's tokens, or of every token with the `pll_all` toggle.

    The whole text is scored a window at a time under a progress bar with a
    Stop button; each window's scores are cached, so a stopped run goes on
    where it stopped.
    """
    scorable = scorable_positions(load_model(*ref), encoding)
    by_window = window_parts(scorable, len(encoding.ids))
    parts = [part for part in by_window.values() if part]
    if len(parts) == 1:
        with st.spinner("Masking each token in turn…"):
            return run_pll(ref, text, parts[0])
    if access.shared() and len(scorable) > access.SHARED_PLL_TOKENS:
        st.caption(f"This server scores at most {access.SHARED_PLL_TOKENS} tokens of a text at "
                   "once: the tokens shown are scored.")
        with st.spinner("Masking each token in turn…"):
            return run_pll(ref, text, by_window[window])
    whole = view.widget(st.toggle, "pll_all", f"Score all {len(scorable)} tokens",
                        help="One encoder run per token: a long text takes a while.")
    if not whole:
        with st.spinner("Masking each token in turn…"):
            return run_pll(ref, text, by_window[window])
    return score_all(ref, text, parts)


def score_all(ref, text, parts):
    """`parts` scored one after another under a progress bar, then combined."""
    place = st.empty()
    with place.container():
        st.button("Stop scoring", on_click=view.put, args=("pll_all", False))
        bar = st.progress(0.0, text="Scoring…")
    done, started, total = [], time.perf_counter(), sum(map(len, parts))
    for part in parts:
        done.append(run_pll(ref, text, part))
        scored = sum(len(p.positions) for p in done)
        left = (time.perf_counter() - started) / len(done) * (len(parts) - len(done))
        bar.progress(len(done) / len(parts),
                     text=f"Scored {scored} of {total} tokens, about {left:.0f} s left")
    place.empty()
    return combine(done)


@view.fragment
def page_body():
    """The text, the lab and the pseudo-likelihood: an edit reruns only this part."""
    text, encoding, _ = text_and_masks(model, pills=False)
    st.caption("The lab selects its own tokens, and the pseudo-likelihood masks every "
               "token in turn: the tokens clicked on the other pages stay for those pages.")
    window = choose_window(len(encoding.ids))

    st.subheader("What training does to the sentence")
    lab(current_ref(), text, mask_token, window)

    st.subheader("How natural is the sentence? Pseudo-log-likelihood")
    st.write(
        "A masked LM gives no left-to-right probability of a sentence. Instead, mask each "
        "token in turn and ask how probable the model finds the original token given all "
        "the others; the sum of these log-probabilities is the *pseudo-log-likelihood* "
        "(PLL, Salazar et al. 2020). The strip shows each token's surprise, −log p: "
        "dark where the model did not expect the word. Pseudo-perplexity, exp(−PLL / n), "
        "is about how many tokens the model hesitates between at each place: lower means "
        "a more natural sentence for this model."
    )
    try:
        pll = score(current_ref(), text, encoding, window)
    except ValueError as error:
        st.info(str(error))
        return
    shown = [i for i, p in enumerate(pll.positions) if window[0] <= p < window[1]]
    chart(surprise_strip([pll.tokens[i] for i in shown], pll.surprise[shown]), key="pll_strip")
    explain("One cell per token: the darker, the more the model was surprised by it "
            "(−log p in nats, printed under each cell).")
    left, middle, right = st.columns(3)
    left.metric("Pseudo-log-likelihood", f"{pll.total:.2f} nats")
    middle.metric("Pseudo-perplexity", f"{pll.pseudo_perplexity:.2f}")
    scored = len(pll.positions)
    right.metric("Tokens scored", scored if scored == pll.scorable else f"{scored} of {pll.scorable}")
    if scored < pll.scorable:
        st.caption("Only the tokens shown are scored (each token costs one run of the "
                   "encoder on the whole text): switch on “Score all” for the whole text.")
    if pll.typed_masks:
        st.caption(f"{pll.typed_masks} typed `{mask_token}` token(s) are not scored (their "
                   "word is unknown); they stay masked while the other tokens are scored.")
    downloads.pseudo_likelihood(pll)


page_body()
downloads.image_format()
