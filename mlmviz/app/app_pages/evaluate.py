"""Evaluate: the model's masked-token accuracy, loss and calibration on a corpus.

The corpus is the held-out sample shipped in assets/ or an uploaded .txt.
A run feeds a progress bar; its result stays in the session (a rerun or a
page switch does not evaluate again) together with what it was run on, so
a change of corpus, settings or model says the numbers are stale instead of
showing them as current.

With "Compare with a second model" on, model B (the Compare page's choice)
scores the same masked lines in the same pass: its cards sit under A's with
the differences, then the paired accuracy difference and the lines where B
gains or loses most.
"""

import hashlib
import itertools
import time
from typing import NamedTuple

import streamlit as st

from mlmviz.app import access, downloads, page_path, view
from mlmviz.analysis.evaluation import evaluate
from mlmviz.analysis.filled import filled_segments
from mlmviz.analysis.line_scores import line_scores, worst_lines
from mlmviz.analysis.paired import check_same_tokenizer
from mlmviz.figures.evaluation import frequency_bars, reliability_diagram
from mlmviz.samples import HELDOUT_SAMPLE as SAMPLE
from mlmviz.sources.corpus import corpus_lines
from mlmviz.app.session import (
    chart,
    choose_second,
    current_model,
    current_source,
    explain,
    presenting,
    second_model,
)

RESULT_KEY = "evaluation_result"  # session state: the last run's `Result`
UPLOAD_KEY = "evaluation_upload"  # session state: the uploaded corpus, kept across pages
WORST = 10  # worst lines listed
CARD_WIDTH = 150  # px: five metric cards in a row at 1280 px
WIDE_CARD_WIDTH = 185  # px: a longer label and its help icon
PRESENT_CARD_SCALE = 1.5  # cards' widths in presentation mode
CHART_MIN_WIDTH = 380  # px: two charts side by side need twice this
DELTA_DIGITS = {"top1_accuracy": 1, "top5_accuracy": 1, "loss": 3, "perplexity": 1, "ece": 3}
CHART_KEYS = ("eval_chart_reliability", "eval_chart_frequency")


class Corpus(NamedTuple):
    """A corpus to evaluate on: its `name`, a `digest` of its content, its `lines`."""

    name: str
    digest: str
    lines: list


class Run(NamedTuple):
    """What one evaluation ran on; two runs on equal `Run`s give the same numbers."""

    source: str
    weight_hash: str
    corpus: str
    digest: str
    rate: int  # percent
    seed: int
    max_lines: int
    source_b: str | None = None  # model B's source and weights, None without B
    weight_hash_b: str | None = None
    missing_b: str = ""  # why model B, asked for, was not evaluated

    def describe(self):
        compared = f" compared with `{self.source_b}`" if self.source_b else ""
        if self.missing_b:
            compared = " alone (model B was not evaluated)"
        return (f"`{self.corpus}`, {self.rate} % masked, seed {self.seed}, "
                f"at most {self.max_lines:,} lines, model `{self.source}`{compared}")


class Result(NamedTuple):
    """A finished run: its `Run`, the summary, the detail records (A's and
    B's), A's worst lines, the `texts` of every line listed and how long it took."""

    run: Run
    summary: dict
    records: list
    worst: object  # DataFrame of `worst_lines`
    texts: dict  # line number -> its text
    seconds: float


@st.cache_resource(show_spinner=False)
def sample_corpus():
    """The shipped held-out sample (shared by all sessions, never mutated)."""
    data = SAMPLE.read_bytes()
    return Corpus(SAMPLE.name, hashlib.sha256(data).hexdigest(), corpus_lines(SAMPLE.name, data))


def remember_upload():
    """Decode a new upload once and keep it (or why it cannot be read) for the session."""
    upload = st.session_state.eval_file
    if upload is None:
        st.session_state[UPLOAD_KEY] = None
        return
    data = upload.getvalue()
    try:
        lines = corpus_lines(upload.name, data)
        kept = Corpus(upload.name, hashlib.sha256(data).hexdigest(), lines)
    except ValueError as error:
        kept = str(error)
    st.session_state[UPLOAD_KEY] = kept


def choose_corpus():
    """The corpus to run on, or None (with a message) while there is none."""
    kind = view.widget(st.radio, "ecorpus", "Corpus", options=view.CORPORA, horizontal=True)
    if kind == view.CORPORA[0]:
        corpus = sample_corpus()
        st.caption(f"{len(corpus.lines):,} sentences the default model never trained on "
                   "(everyday sentences from Tatoeba, casual chat, Wikipedia summaries, WordNet, "
                   "a little Austen and Bible; sources and licences in "
                   "`mlmviz/assets/heldout-sample.md`).")
        return corpus
    st.file_uploader("A UTF-8 text file, one sentence per line", type=["txt"],
                     key="eval_file", on_change=remember_upload)
    kept = st.session_state.get(UPLOAD_KEY)
    if kept is None:
        st.info("Upload a .txt file to evaluate the model on it, or choose the held-out sample.")
        return None
    if isinstance(kept, str):
        st.error(kept)
        return None
    st.caption(f"`{kept.name}`: {len(kept.lines):,} lines (blank lines are skipped). "
               "Upload another file to replace it.")
    return kept


def choose_settings(mask_token):
    """The masking settings: `(rate %, seed, max lines)`."""
    left, middle, right = st.columns(3)
    rate = view.widget(left.slider, "erate", f"Tokens per line shown as {mask_token} (%)",
                       min_value=1, max_value=100,
                       help="At least one per line; every chosen token is masked (no 80/10/10).")
    seed = view.widget(middle.number_input, "eseed", "Masking seed", min_value=0,
                       max_value=1_000_000, help="The same seed masks the same tokens.")
    limit = access.most_evaluated_lines(view.MOST_EVALUATED_LINES)
    if view.get("elines") > limit:
        view.note(f"`elines={view.get('elines')}`: this server reads at most {limit:,} lines "
                  "per evaluation.")
        view.state()["elines"] = limit
    most = view.widget(right.number_input, "elines", "Lines read at most", min_value=1,
                       max_value=limit, step=100,
                       help=f"At most {limit:,} here. For a longer corpus use "
                       "`python -m mlmviz evaluate`.")
    return int(rate), int(seed), int(most)


def choose_model_b(model):
    """`(model_b, missing)`: model B to evaluate beside `model`, or None with
    the reason it is not (empty when the switch is off). B is missing when no
    path is typed, or it cannot be loaded, holds NaN weights or has another
    tokenizer (each with a message); A then runs alone, and says so."""
    if not view.widget(st.toggle, "ecompare", "Compare with a second model",
                       help="Model B predicts the same masks of the same lines in the same "
                       "pass. It is the Compare page's model B."):
        return None, ""
    model_b = second_model(choose_second())
    if model_b is None:
        return None, "it is not loaded"
    if model_b.warnings:
        st.warning("Model B's weights hold NaN or infinity, so it scores nothing: "
                   "model A is evaluated alone.")
        return None, "its weights hold NaN or infinity"
    try:
        check_same_tokenizer(model, model_b)
    except ValueError as error:
        st.error(f"Model B cannot be compared with A on the same masks: {error} "
                 "Model A is evaluated alone.")
        return None, "its tokenizer differs from model A's"
    return model_b, ""


def run_evaluation(model, corpus, run, model_b=None):
    """Evaluate (with `model_b` beside, when given) under one progress bar; returns the `Result`.

    Raises:
        ValueError: from `evaluate`, e.g. a line the two tokenizers split differently.
    """
    total = min(len(corpus.lines), run.max_lines)
    bar = st.progress(0.0, text=f"Evaluating {total:,} lines…")
    done, records, started = 0, [], time.perf_counter()

    def progress(lines):
        nonlocal done
        done += lines
        bar.progress(min(done / total, 1.0), text=f"Evaluated {done:,} of {total:,} lines")

    summary = evaluate(model, corpus.lines, rate=run.rate / 100, seed=run.seed,
                       max_lines=run.max_lines, on_details=records.extend, on_progress=progress,
                       compare=model_b)
    seconds = time.perf_counter() - started
    bar.progress(1.0, text=f"Evaluated {total:,} lines in {seconds:.1f} s")
    worst = worst_lines(line_scores([r for r in records if r.get("model", "A") == "A"]), WORST)
    paired = summary.get("compare", {}).get("paired", {})
    listed = [*worst["line"], *(row["line"] for row in paired.get("gains", []) +
                                paired.get("losses", []))]
    texts = {line: corpus.lines[line] for line in listed}
    return Result(run, summary, records, worst, texts, seconds)


def open_on_predict(text, positions):
    """Predict, showing `text` with exactly the masks at `positions`."""
    view.put("text", text)
    view.put("picked", tuple(positions))
    st.switch_page(page_path("predict"))


def show_metrics(summary, base=None):
    """The summary's numbers as metric cards that wrap onto more rows on a narrow screen.

    With `base` (model A's summary, when `summary` is B's) each card shows
    its difference from A, and the counts (the same for both) are left out.
    """
    best = summary["best_temperature"]
    cards = st.container(horizontal=True, gap="small")
    widen = PRESENT_CARD_SCALE if presenting() else 1  # the projector's numbers are larger

    def card(label, value, help=None, name=None, scale=1, better="normal", width=CARD_WIDTH,
             **delta):
        if base is not None and name:
            change = (summary[name] - base[name]) * scale
            delta = {"delta": f"{change:+.{DELTA_DIGITS[name]}f}{' pt' * (scale == 100)}",
                     "delta_color": better}
        cards.metric(label, value, help=help, border=True, width=round(width * widen), **delta)

    card("Top-1 accuracy", f"{summary['top1_accuracy']:.1%}",
         "How often the model's first guess is the hidden token.", "top1_accuracy", 100)
    card("Top-5 accuracy", f"{summary['top5_accuracy']:.1%}",
         "How often the hidden token is among the five most probable.", "top5_accuracy", 100)
    card("Loss (nats)", f"{summary['loss']:.3f}",
         "Mean cross-entropy at the masks, −log p(hidden token).", "loss", better="inverse")
    card("Perplexity", f"{summary['perplexity']:.1f}",
         "exp(loss): as unsure as a choice between this many tokens.", "perplexity",
         better="inverse")
    card("ECE", f"{summary['ece']:.3f}",
         "Expected calibration error: the mean gap between confidence and accuracy over "
         "10 bins, weighted by their masks (0 = calibrated).", "ece", better="inverse")
    # A wider card: the label and its help icon fit whole; the loss there sits below.
    card("Best temperature", f"{best['temperature']:.2f}",
         "The softmax temperature that would give the lowest loss on these masks. 1 means "
         "the model's confidence fits; above 1 it is over-confident (dividing its logits by "
         "this would help), below 1 under-confident. The loss at that temperature is below.",
         width=WIDE_CARD_WIDTH, delta=f"loss {best['loss']:.3f} there", delta_color="off",
         delta_arrow="off")
    if base is not None:
        return
    card("Lines", f"{summary['lines']:,}",
         f"Lines scored; {summary['skipped_lines']:,} blank or with nothing to mask were "
         "skipped.")
    card("Masked tokens", f"{summary['masked_tokens']:,}",
         "Tokens hidden and scored: the chosen share of each line's tokens, picked by the "
         "seed (the same tokens for every model and every run with these settings).",
         width=WIDE_CARD_WIDTH)
    card("Cut lines", f"{summary['cut_lines']:,}",
         "Lines longer than the model reads, cut to its limit.")


def show_charts(summary):
    """The reliability diagram and accuracy by frequency band, side by side."""
    row = st.container() if presenting() else st.container(horizontal=True, gap="medium")
    # The flex item is the chart container's wrapper: narrower, one chart under the other.
    st.html("<style>" + ", ".join(
        f"[data-testid=stLayoutWrapper]:has(> .st-key-{key})" for key in CHART_KEYS
    ) + f" {{min-width: min({CHART_MIN_WIDTH}px, 100%)}}</style>")
    with row.container(width="stretch", key=CHART_KEYS[0]):
        chart(reliability_diagram(summary["reliability"]), key="eval_reliability")
        explain("Masks grouped by the probability of the model's top guess. A bar's height is "
                "how often those guesses were right, the dot their mean probability; the "
                "numbers along the top count the masks in each bin. On the dashed diagonal the "
                "model is calibrated: bars below it are over-confident, above it under-confident.")
    with row.container(width="stretch", key=CHART_KEYS[1]):
        chart(frequency_bars(summary["by_frequency"]), key="eval_frequency")
        explain("Masks grouped by how common the hidden token is among the tokens of the "
                "evaluated lines (rank 1 = the most common): frequent words are easier.")


def show_worst(result, tokenizer):
    """The worst lines, each with a button that opens it on Predict with its masks."""
    st.subheader(f"The {len(result.worst)} hardest lines")
    st.caption("Highest mean loss at their masks first. Line numbers count from 1 "
               "(the details file counts from 0). Each mask: the hidden token → the model's "
               "guess.")
    for row in result.worst.itertuples():
        marks = " · ".join(f"{_escape(label)} → {_mark(label, guess)}"
                           for label, guess in row.guesses)
        line_row(result.texts[row.line], tokenizer, row.positions,
                 f"**Line {row.line + 1:,}** — {row.correct} of {row.masks} right, "
                 f"mean loss {row.mean_loss:.2f} nats", marks, f"eval_open_{row.line}")


def line_row(text, tokenizer, positions, heading, marks, key):
    """One listed line: `heading`, the text with its masked words in bold,
    the `marks` below, and a button that opens it on Predict with its masks."""
    line = st.container(horizontal=True, vertical_alignment="center", wrap=False)
    line.markdown(f"{heading}  \n{marked(text, tokenizer.encode(text).offsets, positions)}  \n"
                  f":small[{marks}]", width="stretch")
    if line.button("Open on Predict", key=key,
                   help=f"Predict with this line and its {len(positions)} mask(s)"):
        open_on_predict(text, positions)


def _mark(label, guess):
    return f"{_escape(guess)} " + (":green[✓]" if label == guess else ":red[✗]")


def paired_sentence(paired):
    """The accuracy difference B − A and its 95 % interval, in words."""
    difference, (low, high) = paired["accuracy_difference"], paired["interval"]
    points = abs(difference) * 100
    verdict = ("not a clear difference" if low <= 0 <= high
               else f"B is clearly {'better' if low > 0 else 'worse'} on this corpus")
    return (f"B is right on {points:.1f} points {'more' if difference >= 0 else 'fewer'} of "
            f"the masks (95 % interval {_signed(low * 100)} to {_signed(high * 100)}): "
            f"{verdict}.")


def _signed(value):
    shown = f"{value:+.1f}"
    return "0.0" if shown[1:] == "0.0" else shown.replace("-", "−")


def show_paired(result, tokenizer):
    """B against A: the accuracy difference in words, and the lines where B gains or loses most."""
    paired = result.summary["compare"]["paired"]
    st.subheader("B against A, line by line")
    st.markdown(paired_sentence(paired))
    explain(f"B's top-1 accuracy minus A's, over the same {paired['masked_tokens']:,} masks. "
            "The interval comes from resampling whole lines "
            f"{paired['bootstrap']['resamples']:,} times (the masks of one line go together): "
            "when it contains 0, the corpus does not tell the two models apart.")
    guesses = {(r["model"], r["line"], r["position"]): r["predicted"] for r in result.records}
    for rows, title in ((paired["gains"], "Where B gains most"),
                        (paired["losses"], "Where B loses most")):
        st.markdown(f"**{title}**" + ("" if rows else ": no line."))
        for row in rows:
            marks = " · ".join(
                f"{_escape(label)} → A {_mark(label, guesses['A', row['line'], position])}, "
                f"B {_mark(label, guesses['B', row['line'], position])}"
                for label, position in zip(row["labels"], row["positions"]))
            line_row(result.texts[row["line"]], tokenizer, row["positions"],
                     f"**Line {row['line'] + 1:,}** — B right on {row['correct_b']}, "
                     f"A on {row['correct_a']} of {row['masked_tokens']}", marks,
                     f"eval_pair_{row['line']}")


def marked(text, offsets, positions):
    """`text` as Markdown with the tokens at `positions` in bold (the masked words).

    Each bold run sits in a `:primary[...]` label: Markdown leaves `**,**`
    right after a word unbolded, but not after the label's bracket.
    """
    spans = {p: text[slice(*offsets[p])] for p in positions}
    runs = itertools.groupby(filled_segments(text, offsets, spans), key=lambda s: s[1])
    return "".join(f":primary[**{_escape(''.join(p for p, _ in pieces))}**]" if masked
                   else _escape("".join(p for p, _ in pieces)) for masked, pieces in runs)


def _escape(text):
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~$" else c for c in text)


def show_result(result, tokenizer):
    """The numbers, charts, hardest lines and downloads of a finished run."""
    summary = result.summary
    if not summary["masked_tokens"]:
        st.warning("No line of this corpus had a token to mask: there is nothing to score.")
        return
    compared = summary.get("compare")
    if result.run.missing_b:
        st.warning(f"Model B was not evaluated ({result.run.missing_b}): these are model A's "
                   "numbers alone.")
    if compared:
        st.markdown(f"**A** · `{summary['model']}`")
    show_metrics(summary)
    if compared:
        st.markdown(f"**B** · `{compared['model']}` (the differences are B − A)")
        show_metrics(compared, base=summary)
        show_paired(result, tokenizer)
    show_charts(summary)
    show_worst(result, tokenizer)
    downloads.evaluation(summary, result.records, result.run._asdict())


st.title("Evaluate on a corpus")
model = current_model()
mask_token = model.tokenizer.mask_token
st.write(
    "**How good is this checkpoint on real text?** Every line of the corpus is one "
    f"sequence: a share of its tokens is replaced by `{mask_token}` and the model predicts "
    "each one from the rest. The page reports how often it is right, its loss, and whether "
    "its probabilities can be trusted (calibration)."
)
if model.warnings:
    st.warning("This model's weights hold NaN or infinity, so it scores nothing. "
               "Choose another model in the sidebar.")
    st.stop()

corpus = choose_corpus()
rate, seed, max_lines = choose_settings(mask_token)
model_b, missing_b = choose_model_b(model)
on_sample = view.get("ecorpus") == view.CORPORA[0]
corpus_option = "" if on_sample else " --corpus FILE"  # the sample is the default
compare_option = "" if model_b is None else f" --compare {model_b.metadata['source']}"
alone = " (model A alone: model B is not evaluated)" if missing_b else ""
st.caption(f"The same run on the command line: `python -m mlmviz evaluate --model "
           f"{current_source()}{corpus_option} --rate {rate / 100:g} --seed {seed} "
           f"--max-lines {max_lines}{compare_option}`{alone}")
if corpus is not None:
    run = Run(current_source(), model.metadata["weight_hash"], corpus.name, corpus.digest,
              rate, seed, max_lines)
    if model_b is not None:
        run = run._replace(source_b=model_b.metadata["source"],
                           weight_hash_b=model_b.metadata["weight_hash"])
    run = run._replace(missing_b=missing_b)
    if st.button("Run the evaluation", type="primary", icon=":material/play_arrow:"):
        try:
            st.session_state[RESULT_KEY] = run_evaluation(model, corpus, run, model_b)
        except ValueError as error:
            st.error(f"The evaluation stopped: {error}")
    last = st.session_state.get(RESULT_KEY)
    if last is not None and last.run != run:
        st.info(f"The last run was on {last.run.describe()}. The corpus, the settings or the "
                "model have changed since: press **Run the evaluation** for numbers that "
                "match them.")
    elif last is not None:
        st.caption(f"Evaluated on {run.describe()} in {last.seconds:.1f} s.")
        show_result(last, model.tokenizer)
downloads.image_format()
