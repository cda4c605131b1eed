"""Train the head: watch a freshly initialised MaskedLMHead learn on the loaded
model's frozen encoder.

Start submits a job (`mlmviz.training.lab.head_job`) to the server's one
training queue (`mlmviz.training.jobs.QUEUE`): one training runs at a time,
the others wait and see their place. A fragment polls the job every
second, and so touches it: a job whose page was closed or left for
`jobs.IDLE_TIMEOUT` seconds stops. It draws the curves, the probe
sentences' answers and the head's check. At the end the trained model can
become the sidebar's model source ("Explore this head": a `.keras` file in
`storage.folder("trained")`; in local mode given as a checkpoint path in the
view and the URL, in shared mode the sidebar's "Trained head", which names
no path) or be downloaded.
"""

import tempfile
import uuid
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from mlmviz.app import access, page_path, storage, view
from mlmviz.examples import UNMASKED
from mlmviz.figures.training import HEIGHT as CURVE_HEIGHT, training_curves
from mlmviz.sources.saving import save
from mlmviz.training import head as head_training
from mlmviz.training import jobs
from mlmviz.training.lab import LabRun, Probes, head_job
from mlmviz.app.session import (
    EXPLORED_KEY, chart, current_model, current_ref, current_source, examples, explain, model_key,
    presenting, show_head_check,
)

JOB_KEY = "train_head_job"  # session state: this session's `jobs.Job`, or absent
FRESH_KEY = "train_head_fresh"  # session state: (key, head check, answers) of the fresh head
SAVED_KEY = "train_head_saved"  # session state: job id -> the .keras file it was saved to
POLL = 1.0  # s between two looks at the running job
PROBES = 3
CURVE_KEY = "train_curves"
# The curve's height in presentation mode, px: the projector style makes it about
# 430, so that the curve and the guesses fit one 720 px screen.
PRESENT_CURVE_HEIGHT = 270


def heldout_positions(positions):
    """Held-out positions scored at every point: 500 to 1,000 (each point scores them all
    against the whole vocabulary: 1,000 take ~0.4 s on two cores, as long as a step)."""
    return min(1_000, max(500, positions // 20))


def point_every(batch_size):
    """Steps between two points of the curve: about 2,000 answers learnt from (16 steps
    of the default batch of 128: under a second on two cores, plus the held-out check)."""
    return max(2, 2_048 // batch_size)


def probe_sentences(model):
    """The first `PROBES` example sentences with a mask (those the model answers best)."""
    return tuple(text for text in examples(current_ref()) if text != UNMASKED)[:PROBES]


def choose_settings(disabled):
    """The controls, each with what it changes in plain words; returns `(HeadSettings, LabRun
    fields)`. Disabled while a training runs (it keeps the settings it started with)."""
    st.subheader("What you can change", divider="gray")
    rows = [st.columns(2, gap="large") for _ in range(4)]
    cells = [cell for row in rows for cell in row]

    def control(cell, factory, name, label, sentence, **kwargs):
        with cell:
            value = view.widget(factory, name, label, disabled=disabled, **kwargs)
            st.caption(sentence)
        return value

    rate = control(cells[0], st.select_slider, "tlr", "Learning rate",
                   "How big a step the head takes after each batch. Larger learns faster at "
                   "first but can overshoot and wobble; smaller is steadier but slower.",
                   options=view.LEARNING_RATES)
    batch = control(cells[1], st.select_slider, "tbatch", "Batch size",
                    "How many hidden words the head guesses before each nudge of its weights. "
                    "Larger batches give a smoother curve; each step takes longer.",
                    options=view.BATCH_SIZES)
    untied = control(cells[2], st.radio, "tuntied", "Output words", options=(False, True),
                     format_func=lambda u: "own word vectors (untied)" if u else
                     "the input word vectors (tied)", horizontal=True,
                     sentence="Tied: the head scores every word with the vector the encoder "
                     "reads it with, and learns only a small transform and one number per "
                     "word. Untied: it learns a new vector for every word: much more to "
                     "learn, so it starts slower.")
    activation = control(cells[3], st.radio, "tact", "Activation", options=view.ACTIVATIONS,
                         horizontal=True,
                         sentence="The bend between the head's two steps. GELU is smooth "
                         "(BERT uses it); ReLU sets every negative number to zero.")
    train_embedding = control(
        cells[4], st.toggle, "tembed", "Let training change the word vectors",
        "Off: the word vectors stay as the model learnt them (frozen); only the head changes. "
        "On: training moves them too (tied output only; the encoder's answers were read "
        "before training, so they do not change).")
    choices = access.train_seconds(view.TRAIN_SECONDS)
    if view.get("tsec") not in choices:  # a link asking for more than this server allows
        view.note(f"`tsec={view.get('tsec')}`: this server trains for at most {choices[-1]} s.")
        view.state()["tsec"] = choices[-1]
    seconds = control(cells[5], st.select_slider, "tsec", "Train for at most (seconds)",
                      "Training stops by itself then. One training runs at a time on this "
                      "server: others wait their turn."
                      + (f" This server allows at most {choices[-1]} s per training."
                         if choices != view.TRAIN_SECONDS else ""), options=choices)
    positions = control(cells[6], st.select_slider, "tpos", "Masked words to learn from",
                        "The encoder reads these once, before training starts (a few seconds "
                        "per 10,000). More words: a longer wait, answers that hold up "
                        "better on new sentences.", options=view.CACHED_POSITIONS,
                        format_func="{:,}".format)
    settings = head_training.HeadSettings(learning_rate=rate, batch_size=batch, tied=not untied,
                                          activation=activation,
                                          train_embedding=train_embedding and not untied)
    return settings, seconds, positions


def fresh_head(model, settings, probes):
    """`(head check, probe answers)` of a freshly initialised head for `settings`,
    made once per model, settings and probes in this session."""
    key = (model_key(model), settings, probes)
    kept = st.session_state.get(FRESH_KEY)
    if kept is None or kept[0] != key:
        fresh = head_training.fresh_model(model, settings)
        kept = (key, fresh.head_check, Probes(model, probes).answers(fresh.head))
        st.session_state[FRESH_KEY] = kept
    return kept[1], kept[2]


def start(model, run):
    """Submit this session's training; the page reruns to poll it."""
    ctx = get_script_run_ctx()
    st.session_state[JOB_KEY] = jobs.QUEUE.submit(head_job(model, run),
                                                  owner=ctx.session_id if ctx else None)
    st.rerun(scope="app")


def reset():
    """Forget this session's training (stopping it): the fresh head is shown again."""
    job = st.session_state.pop(JOB_KEY, None)
    if job is not None:
        job.cancel("Reset.")
    st.rerun(scope="app")


def status(job, run):
    """One line saying what the job does now; a Cancel button while it waits."""
    if job is None:
        st.info(f"**A fresh head.** Its weights are random, as at the start of any training, so "
                f"its guesses are noise. Press **Start**: the encoder first reads "
                f"{run.positions:,} masked words once, then the head trains for up to "
                f"{run.seconds:g} s.")
        return
    progress = job.progress
    curve = progress.get("curve") or []
    if job.state == jobs.QUEUED:
        line = st.container(horizontal=True, vertical_alignment="center")
        line.warning(f"Another session's training is running: yours is number "
                     f"{job.position or 1} in the queue and starts when the one before it ends "
                     "(each runs a few minutes at most).", width="stretch")
        if line.button("Cancel", key="train_cancel", icon=":material/close:"):
            job.cancel()
            st.rerun(scope="app")
    elif job.state == jobs.RUNNING and job.stop.is_set():
        st.info("Stopping…")
    elif job.state == jobs.RUNNING and progress.get("phase") == "preparing":
        st.info("Getting ready: the encoder reads the held-out sentences, and the fresh head "
                "is built…")
    elif job.state == jobs.RUNNING and progress.get("phase") != "training":
        done, total = progress.get("cached", (0, run.positions))
        st.info(f"The encoder reads the training text and keeps its hidden state at each "
                f"masked word (once: the encoder is frozen): {done:,} of {total:,}…")
    elif job.state == jobs.RUNNING and curve[-1].step == 0:
        st.info("Training begins (the first steps take longer: Keras prepares them)…")
    elif job.state == jobs.RUNNING:
        st.info(f"Training: step {curve[-1].step:,} after {curve[-1].seconds:.0f} s "
                f"of at most {run.seconds:g} s.")
    elif job.state == jobs.FAILED:
        st.error(f"The training failed: {job.message} The page keeps working: change the "
                 "settings and press Start again.")
    elif curve:
        how = "Trained" if job.state == jobs.DONE else "Stopped after"
        why = "" if job.message in ("", "Stopped.") else f" {job.message}"
        st.success(f"{how} {curve[-1].step:,} steps ({curve[-1].seconds:.0f} s): held-out "
                   f"accuracy {curve[-1].heldout_accuracy:.1%}.{why}")
    else:
        st.info(f"Stopped before training began. {job.message}")


def metrics(curve):
    """The latest numbers as four cards in one row (dashes before the first point)."""
    last = curve[-1] if curve else None
    cards = st.columns(4)
    cards[0].metric("Held-out accuracy", f"{last.heldout_accuracy:.1%}" if last else "–",
                    help="How often the head's first guess is the hidden word, on sentences "
                    "it never trains on.", border=True)
    cards[1].metric("Loss", f"{last.loss:.2f}" if last else "–", border=True,
                    help="The training loss: −log of the probability the head gave the right "
                    "word, averaged. It falls as the head learns.")
    cards[2].metric("Steps", f"{last.step:,}" if last else "–", border=True,
                    help="Batches the head has learnt from.")
    cards[3].metric("Seconds", f"{last.seconds:.0f}" if last else "–", border=True,
                    help="Seconds of training (the held-out checks not counted).")


def show_probes(probes, answers, mask_token):
    """Each probe sentence with the head's top answers at its mask."""
    st.markdown("**The head's guesses right now**")
    for text, options in zip(probes, answers):
        guesses = " · ".join(f"**{a.token}** {percent(a.probability)}" for a in options)
        shown = text.replace(mask_token, f"`{mask_token}`")
        st.markdown(f"{shown} → {guesses}")
    explain("The same sentences all along: a fresh head guesses random words; a trained one "
            "guesses words that fit.")


def percent(probability):
    """"23%", "0.8%" or "<0.1%" (a fresh head spreads its belief over the whole vocabulary)."""
    if probability >= 0.095:
        return f"{probability:.0%}"
    return f"{probability:.1%}" if probability >= 0.0005 else "<0.1%"


def show_check(check):
    """The head check of a head that has trained (the fresh head this page
    starts from is described once, in the status line)."""
    if check.trained:
        st.success(f"**Head check:** {check.message}")


def saved_path(job):
    """The job's trained model as a `.keras` file in this session's
    `storage.folder("trained")` (saved once).

    Raises:
        StorageFull: the file does not fit in the server's budget (removed again).
    """
    saved = st.session_state.setdefault(SAVED_KEY, {})
    if job.id not in saved:
        path = storage.folder("trained") / f"trained-head-{uuid.uuid4().hex[:12]}.keras"
        save(job.result, path)
        storage.keep(path)
        saved[job.id] = path
    return saved[job.id]


def keras_bytes(model):
    """`model` as the bytes of a `.keras` file (built when the download is clicked)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trained-head.keras"
        save(model, path)
        return path.read_bytes()


def explore(job):
    """Make the trained model the sidebar's source, like a typed checkpoint path."""
    try:
        path = saved_path(job)
    except (OSError, ValueError) as error:
        st.error(f"The trained head could not be saved: {access.public(str(error))}")
        return
    if access.shared():
        st.session_state[EXPLORED_KEY] = str(path)
        view.put("model_kind", access.TRAINED)
    else:
        view.put("model_kind", access.PATH)
        view.put("model_path", str(path))
    st.rerun(scope="app")


def finish(job):
    """"Explore this head" and "Download as .keras": usable once a trained head exists."""
    ready = job is not None and job.ended and job.result is not None
    row = st.container(horizontal=True)
    if row.button("Explore this head", icon=":material/travel_explore:", disabled=not ready,
                  help="The sidebar's model becomes this encoder with the head just trained: "
                  "every page (Predict, Head anatomy, Evaluate, …) uses it, and the link "
                  "carries it."):
        explore(job)
    row.download_button("Download as .keras", (lambda: keras_bytes(job.result)) if ready else b"",
                        file_name="mlmviz-trained-head.keras", mime="application/octet-stream",
                        disabled=not ready, on_click="ignore", icon=":material/download:")
    saved = st.session_state.get(SAVED_KEY, {}).get(job.id) if job is not None else None
    if saved is not None and str(saved) == current_source():
        st.success("The sidebar's model is this head now: every page uses it.")
        st.page_link(page_path("predict"), label="Try it on Predict", icon=":material/target:")


st.title("Train the head")
model = current_model()
mask_token = model.tokenizer.mask_token
st.write(
    "**Watch a head learn.** The encoder below stays as it is (frozen); the MaskedLMHead on top "
    "starts from random numbers. Training shows it thousands of sentences with a word hidden "
    "and nudges its weights towards the hidden word. The curve shows how often it is right on "
    "sentences it never trains on; the sentences below show its guesses as it learns."
)
if model.warnings:
    st.warning("This model's weights hold NaN or infinity: it cannot train a head. "
               "Choose another model in the sidebar.")
    st.stop()
job = st.session_state.get(JOB_KEY)
active = job is not None and not job.ended
top = st.container()  # the live part, drawn above the settings it reads
settings, seconds, positions = choose_settings(disabled=active)
probes = probe_sentences(model)
run = LabRun(settings, seconds, positions, heldout_positions(positions), probes,
             point_every(settings.batch_size))
fresh_check, fresh_answers = fresh_head(model, settings, probes)
if job is not None and not (job.ended and job.result is None):  # a head that trains or trained
    show_head_check(job.result.head_check if job.ended else None, "This page's head")


@view.fragment(run_every=POLL if active else None)
def live():
    """Buttons, status, numbers, curves and guesses; reruns every second while a job is on."""
    job = st.session_state.get(JOB_KEY)
    if job is not None:
        job.touch()
    on = job is not None and not job.ended
    buttons = st.container(horizontal=True)
    if buttons.button("Start", type="primary", icon=":material/play_arrow:", disabled=on,
                      help="Train a fresh head with the settings above."):
        start(model, run)
    if buttons.button("Stop", icon=":material/stop:", disabled=not on,
                      help="Stop now; the head keeps what it has learnt."):
        job.cancel("Stopped.")
    if buttons.button("Reset", icon=":material/restart_alt:", disabled=job is None,
                      help="Throw the trained head away and show a fresh one."):
        reset()
    status(job, run)
    progress = job.progress if job is not None else {}
    curve = progress.get("curve") or []
    metrics(curve)
    # Side by side in presentation mode too: the class watches both on one screen.
    left, right = st.columns([3, 2], gap="large")
    with left:
        baseline = progress.get("baseline")
        chart(training_curves(curve, seconds=run.seconds, reference=None if baseline is None
                              else (baseline, "always the most common word"),
                              height=PRESENT_CURVE_HEIGHT if presenting() else CURVE_HEIGHT),
              key=CURVE_KEY)
        explain("Top: held-out accuracy, how often the head's first guess is the hidden word on "
                "sentences it never trains on; the dashed line is what always answering the "
                "most common word would score. Bottom: the loss it is trained to lower.")
    with right:
        show_probes(probes, progress.get("probes") or fresh_answers, mask_token)
        show_check(progress.get("head_check") or fresh_check)
    finish(job)
    if active and not on:  # it has just ended: redraw the settings, stop polling
        st.rerun(scope="app")


with top:
    live()
