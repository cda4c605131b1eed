"""The app's router and the sidebar shared by every page.

`streamlit run` runs this file (`mlmviz app` does so), or a checkout's
app.py, which calls `run()`.
"""

import concurrent.futures
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402
from streamlit.runtime.scriptrunner import script_runner  # noqa: E402

import mlmviz.device  # noqa: E402
from mlmviz.precision import HELP as PRECISION_HELP, describe_agreement  # noqa: E402
from mlmviz.sources import hub  # noqa: E402
from mlmviz.sources.checkpoints import CheckpointError  # noqa: E402
from mlmviz.sources.known import KNOWN_MODELS, known  # noqa: E402
from mlmviz.sources.load import default_model_cloze  # noqa: E402
from mlmviz.sources.uploads import store_upload  # noqa: E402
from mlmviz.app import access, page_path, storage, view  # noqa: E402
from mlmviz.app.session import (  # noqa: E402
    EXPLORED_KEY, PAGE_HEAD_CHECK, current_model, current_precision, current_source, load_model,
)

# After every run Streamlit calls keras.backend.clear_session() (and nothing
# else we use) in `_clean_problem_modules`. That drops TensorFlow's kernel
# cache and runs gc.collect(): ~150 ms per run, and the next prediction is
# 30x slower (measured: 5 ms -> 164 ms). Our models are loaded once, cached
# and never mutated, so there is no Keras state to clear between runs.
script_runner._clean_problem_modules = lambda: None


@st.cache_resource(show_spinner="Finding the compute device…")
def device_name():
    return mlmviz.device.describe()


def choose_source(kind):
    """The source the sidebar asks for under `kind`, or None while nothing new is chosen."""
    if kind == access.DEFAULT:
        return "default"
    if kind == access.KNOWN:
        return choose_known()
    if kind == access.SERVER:
        return choose_server_model()
    if kind == access.TRAINED:
        return st.session_state[EXPLORED_KEY]
    if kind == access.PATH:
        path = view.widget(
            st.text_input, "model_path", "Path or hf:ORG/NAME",
            placeholder="./my-checkpoint, model.keras or hf:ORG/NAME",
            help="A Hugging Face checkpoint folder (config.json, model.safetensors and its "
            "tokenizer files), a keras-hub preset folder, a .keras file, or hf:ORG/NAME from "
            "the local Hugging Face cache. Press Enter to load it.",
        )
        return path.strip() or None
    upload = st.file_uploader(
        "A .keras file or a .zip of a checkpoint directory", type=["keras", "zip"], key="model_upload"
    )
    if upload is None:
        return None
    most = st.get_option("server.maxUploadSize") * 2**20
    return str(store_upload(upload.name, upload.getvalue(), storage.folder("uploads"), most,
                            reserve=storage.check_room))


def choose_server_model():
    """The `server:NAME` source of the offered model chosen, or None."""
    names = ["", *access.server_models()]
    view.offered("server_model", names)
    name = view.widget(
        st.selectbox, "server_model", "Model on this server", options=names,
        format_func=lambda n: n or "Choose a model…",
        help="The models the person running this server offers, by name.",
    )
    return f"{access.SERVER_PREFIX}{name}" if name else None


def choose_known():
    """The `hf:` source of the well-known model chosen, in the cache by now, or None."""
    # Labelled once per run: a label turns from "download" to "cached" between runs only.
    labels = {repo_id: known_label(repo_id) for repo_id in ("", *access.known_models())}
    view.offered("hub_model", list(labels))
    repo_id = view.widget(
        st.selectbox, "hub_model", "Hugging Face Hub model", options=list(labels),
        format_func=labels.__getitem__,
        help="Downloaded once (safetensors, JSON and vocabulary files only) into the local "
        "Hugging Face cache; a cached one (✓) loads without the network. "
        + " ".join(f"{m.repo_id}: {m.architecture}, {m.parameters:g} M parameters."
                   for m in KNOWN_MODELS),
    )
    if not repo_id:
        return None
    source = f"hf:{repo_id}"
    if source != current_source():
        fetch_with_progress(repo_id)
    return source


def known_label(repo_id):
    """"bert-base-uncased · 440 MB", with "✓ " in front once cached: short enough
    to be read whole in the sidebar (the organisation shows once it is loaded)."""
    if not repo_id:
        return "Choose a model…"
    model = known(repo_id)
    cached = "✓ " if hub.cached_snapshot(repo_id) else ""
    about = "≈ " if model.approximate else ""
    return f"{cached}{repo_id.split('/')[1]} · {about}{model.megabytes:g} MB"


def fetch_with_progress(repo_id):
    """Bring `repo_id` into the Hugging Face cache under a progress bar (none when cached).

    The download runs in a worker thread while this one redraws the bar:
    huggingface_hub may report from threads of its own, which cannot draw.
    The finished bar stays until the next run.

    Raises:
        CheckpointError: the download failed (the bar is removed).
    """
    if hub.cached_snapshot(repo_id) is not None:
        return
    bar = st.progress(0.0, text=f"Asking the Hub for the files of {repo_id}…")
    progress = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(hub.fetch, repo_id, lambda done, total: progress.update(
            done=done, total=total))
        while concurrent.futures.wait([future], timeout=0.25).not_done:
            draw_progress(bar, progress)
        future.result()
    except CheckpointError:
        bar.empty()
        raise
    finally:
        pool.shutdown(wait=False)  # a rerun leaves the download running into the cache
    draw_progress(bar, progress, "downloaded")


def draw_progress(bar, progress, suffix=""):
    """Show `progress` ({"done": bytes, "total": bytes}, empty before the first report)."""
    if progress.get("total"):
        done, total = progress["done"], progress["total"]
        text = hub.progress_text(done, total) + (f" · {suffix}" if suffix else "")
        bar.progress(min(done / total, 1.0), text=text)


MODEL_HELP = {
    False: "A well-known checkpoint from the Hugging Face Hub (downloaded once), a Hugging "
           "Face checkpoint directory, a keras-hub preset or .keras file, or hf:ORG/NAME from "
           "the local Hugging Face cache.",
    True: "The models this server offers: the embedded one, well-known checkpoints from the "
          "Hugging Face Hub, the server's own models by name, and where allowed your upload.",
}


def switch_model():
    """Load the chosen model; on failure keep the previous one and say which runs.

    The box keeps what the user typed, even a path that failed; the URL's
    model fields always describe the model that runs. A link's kind that
    this server does not offer (`access.model_kinds`) is replaced by the
    embedded default, with a note. Returns the failure's message (Markdown)
    for the page, or None.
    """
    kinds = access.model_kinds(trained=EXPLORED_KEY in st.session_state)
    view.offered("model_kind", kinds)
    kind = view.widget(st.radio, "model_kind", "Model", options=kinds,
                       help=MODEL_HELP[access.shared()])
    precision = view.widget(st.radio, "precision", "Precision", options=view.PRECISIONS,
                            horizontal=True, help=PRECISION_HELP)
    try:
        source = choose_source(kind)
        if source is not None or precision != current_precision():
            load_model(source or current_source(), precision)
            if source is not None:
                st.session_state.model_source = source
                st.session_state.model_source_kind = kind
            st.session_state.model_precision = precision
    except CheckpointError as error:
        st.error(f"{access.public(str(error))}\n\nThe previous model stays loaded. Still "
                 f"running: {running_label()}.")
        failure = (f"The model chosen in the sidebar ({kind}) could not be loaded, so this page "
                   f"still shows {running_label()}. The sidebar says why.")
    else:
        failure = None
    running_kind = st.session_state.get("model_source_kind", access.DEFAULT)
    source = current_source()
    view.show_in_url(
        precision=current_precision(),
        model_kind=running_kind,
        model_path=source if running_kind == access.PATH else "",
        hub_model=source.removeprefix("hf:") if running_kind == access.KNOWN else "",
        server_model=(source.removeprefix(access.SERVER_PREFIX) if running_kind == access.SERVER
                      else ""),
    )
    return failure


def running_label():
    """The model that runs, in words (Markdown)."""
    source = current_source()
    kind = st.session_state.get("model_source_kind")
    if source == "default":
        return "**Embedded default**"
    if kind == access.UPLOAD:
        return f"the upload `{Path(source).name}`"
    if kind == access.TRAINED:
        return "the head trained in this session"
    return f"`{source}`"


def show_model(model):
    meta = model.metadata
    st.markdown(
        f"**{meta['source']}**: {meta['architecture']}, {meta['num_layers']} layers, "
        f"hidden size {meta['hidden_dim']}, vocabulary {meta['vocabulary_size']:,}, "
        f"{meta['parameters'] / 1e6:.1f} M parameters, "
        f"{'tied' if meta['tied'] else 'untied'} output embedding."
    )
    if meta["source"] == "default":
        st.caption(default_model_line(meta))
    for warning in model.warnings:
        st.warning(warning)
    check_slot = st.empty()  # filled after the page ran: it may show its own head's
    st.caption(f"Weights `{meta['weight_hash']}` · head runs on **{device_name()}**")
    st.caption(f"Precision: {describe_agreement(meta)}")
    return check_slot


def default_model_line(meta):
    """The embedded model in one plain sentence: its size, how often it is
    right (its `cloze.json`), and that well-known models answer better."""
    cloze = default_model_cloze()
    return (
        f"A tiny model ({meta['parameters'] / 1e6:.1f} M parameters) trained for mlmviz: its "
        f"first guess is right in {cloze['top1']} of {cloze['sentences']} everyday sentences, "
        f"and a right word is in its top 5 in {cloze['top5']}. A well-known model such as "
        f"{KNOWN_MODELS[0].repo_id.split('/')[-1]} (Model: Well-known model) answers better."
    )


def draw_head_check(slot, model):
    """The head check of the page's own head when it set one this run, else the model's."""
    check, whose = st.session_state.pop(PAGE_HEAD_CHECK, (model.head_check, None))
    with slot:
        if check is None:
            st.caption(f"{whose}: training now (its head check is on the page, beside the "
                       "curve).")
        else:
            message = check.message if whose is None else f"{whose}: {check.message}"
            (st.caption if check.trained else st.warning)(message)


ASSETS = Path(__file__).parent / "assets"
SIDEBAR_KEY = "_sidebar_start"  # session state: the sidebar's state when the session began
APP_CSS = (ASSETS / "app.css").read_text()
PRESENTATION_CSS = (ASSETS / "presentation.css").read_text()
GLOSSARY = (ASSETS / "glossary.md").read_text()
COPY_LINK_HTML = (ASSETS / "copy_link.html").read_text()


def copy_link():
    """A button that copies the browser's address, which always holds the view,
    and the address itself (for browsers that refuse the clipboard)."""
    st.html(COPY_LINK_HTML, unsafe_allow_javascript=True)


# The pages live in app_pages/, not pages/: with a pages/ folder beside the
# script Streamlit runs, Streamlit 1.67 runs a page opened by its URL (/lens)
# on its own, without the router. (title, icon) by file name.
PAGES = {
    "predict": ("Predict", ":material/target:"),
    "anatomy": ("Head anatomy", ":material/biotech:"),
    "states": ("Hidden states", ":material/scatter_plot:"),
    "embeddings": ("Embedding similarity", ":material/explore:"),
    "lens": ("Logit lens", ":material/layers:"),
    "attention": ("Attention", ":material/visibility:"),
    "masking_lab": ("Masking lab", ":material/science:"),
    "evaluate": ("Evaluate", ":material/fact_check:"),
    "compare": ("Compare checkpoints", ":material/compare_arrows:"),
    "train_head": ("Train the head", ":material/model_training:"),
}


def run():
    """One run of the app: navigation, sidebar, the page, then the URL and notes.

    Streamlit runs the entry script (this module as a script, or the
    checkout's app.py) on every interaction; this module is imported once.
    """
    # A session opened in presentation mode (a link with present=1) starts with the
    # sidebar folded away; its arrow brings it back. Decided once per session: a
    # changed value would fold or open the sidebar under the user's hand. (A new
    # session reads the URL here.)
    sidebar = st.session_state.setdefault(
        SIDEBAR_KEY, "collapsed" if view.state()["present"] else "auto")
    st.set_page_config(page_title="mlmviz", page_icon="🎭", layout="wide",
                       initial_sidebar_state=sidebar)
    # st.navigation must come before the sidebar's widgets: widgets created
    # before it lose their state on every rerun (checked on Streamlit 1.67).
    page = st.navigation([
        st.Page(page_path(name), title=title, icon=icon, default=name == "predict")
        for name, (title, icon) in PAGES.items()
    ])
    st.session_state[view.PAGE_KEY] = page.url_path
    device_name()  # before the first model is built: enables GPU memory growth
    storage.touch()
    with st.sidebar:
        failure = switch_model()
        check_slot = show_model(current_model())
        view.widget(st.toggle, "present", "Presentation mode",
                    help="For a projector: large numbers and dark labels, one chart per row, "
                    "tables folded away, no menu. A link in this mode opens with the sidebar "
                    "folded away.")
        copy_link()
        with st.expander("Glossary: the words on these pages", icon=":material/menu_book:"):
            st.markdown(GLOSSARY)
    st.html(APP_CSS)
    if view.get("present"):
        st.html(PRESENTATION_CSS)
    if failure:
        st.warning(failure, icon=":material/error:")
    notes = st.empty()
    st.session_state.pop(PAGE_HEAD_CHECK, None)  # a page sets it again if it has its own head
    try:
        page.run()
    finally:  # also after st.stop(): the URL and the notes follow every run
        view.sync_url()
        view.show_notes(notes)
        draw_head_check(check_slot, current_model())


if __name__ == "__main__":  # `streamlit run` of this file (what `mlmviz app` does)
    run()
