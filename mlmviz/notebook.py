"""The app's views in Jupyter or Colab: an interactive explorer and one-call figures.

`explore(model)` is the Predict page as widgets: a text box, one toggle
button per token (pressed = masked), top-k and temperature sliders, and one
probability chart per mask, redrawn on every change.
`show_anatomy`, `show_lens` and `show_attention` draw the analysis pages'
figures for a text, built by the same `mlmviz.figures` functions the app
uses.

Each chart is an ipywidgets `Output` whose content is replaced by the new
plotly figure, not a plotly `FigureWidget`: in JupyterLab 4.6 with plotly
7.1 and anywidget 0.11, FigureWidgets often drew empty axes and never
their bars (likely a race: the widget opens its comm before its data is
set, and its view ignores later changes of the data), while figures shown
as outputs drew every time.

Needs the `notebook` extra (ipywidgets): `pip install "mlmviz[notebook]"`.
"""

import html
import json

import numpy as np
import pandas as pd

from mlmviz.analysis import anatomy, logit_lens
from mlmviz.analysis import attention as attention_analysis
from mlmviz.analysis.filled import filled_segments
from mlmviz.figures.attention import attention_matrix, average_rows, mask_rows
from mlmviz.figures.logits import lens_lines, logit_split_bars
from mlmviz.figures.probabilities import paired_probability_bars, probability_bars
from mlmviz.figures.vectors import vector_heatmap

try:
    import ipywidgets as widgets
except ImportError as error:
    raise ImportError(
        f"mlmviz.notebook needs ipywidgets ({error}): pip install \"mlmviz[notebook]\""
    ) from error

DEFAULT_TEXT = "he opened the [MASK] ."


class Figures(list):
    """A list of plotly figures that a notebook draws one under another."""

    def _ipython_display_(self):
        from IPython.display import display

        for figure in self:
            display(figure)


class Explorer(widgets.VBox):
    """The Predict page as widgets; see `explore`.

    Attributes (the widgets, to read or set from code):
        text: the `Textarea` (applied when it loses focus or on Ctrl+Enter).
        tokens: an `HBox` of `ToggleButton`s, one per non-special token, in
            text order; `positions[i]` is the token position of button `i`.
            A typed mask token's button is pressed and disabled.
        top_k: `IntSlider`, 1 to 20.
        temperature: `FloatSlider`, 0.1 to 3.0.
        message: `HTML` line: why nothing is predicted, or where a long
            text was cut; empty when all is well.
        filled: `HTML` line: the text with every mask filled by its top guess.
        charts: `VBox` of `Output`s, one chart per mask in position order,
            each kept and redrawn as long as the text has that many masks.
        figures: the `go.Figure` drawn in each chart.
        result: the last `model.fill_mask` result, None after bad input.
    """

    def __init__(self, model, text=DEFAULT_TEXT, top_k=5, temperature=1.0):
        self.model = model
        self.result = None
        self.positions = []  # token position of each button
        self._encoding = None  # of the text the buttons were made for
        self.text = widgets.Textarea(
            value=text, description="Text", continuous_update=False,
            placeholder=f"Type a sentence with {model.tokenizer.mask_token}",
            layout=widgets.Layout(width="95%"),
        )
        self.tokens = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        label = {"description_width": "initial"}  # the whole label, not "Temperat…"
        self.top_k = widgets.IntSlider(value=top_k, min=1, max=20, description="Top-k",
                                       style=label)
        self.temperature = widgets.FloatSlider(value=temperature, min=0.1, max=3.0, step=0.1,
                                               description="Temperature", style=label)
        self.message = widgets.HTML()
        self.filled = widgets.HTML()
        self.charts = widgets.VBox()
        self.figures = []
        self._outputs = []  # the charts made so far, reused as the mask count changes
        super().__init__([
            self.text,
            widgets.HTML("Click tokens to mask them (click again to unmask):"),
            self.tokens,
            widgets.HBox([self.top_k, self.temperature]),
            self.message, self.filled, self.charts,
        ])
        self.text.observe(self._text_changed, "value")
        self.top_k.observe(self._update, "value")
        self.temperature.observe(self._update, "value")
        self._text_changed()

    @property
    def picked(self):
        """Token positions whose buttons are pressed, typed masks excluded."""
        return [position for position, button in zip(self.positions, self.tokens.children)
                if button.value and not button.disabled]

    def _text_changed(self, change=None):
        """Rebuild the token buttons for the new text, then predict.

        A position stays masked when the new text has the same token there.
        """
        before = {p: self._encoding.tokens[p] for p in self.picked} if change else {}
        encoding = self._encoding = self.model.tokenizer.encode(self.text.value)
        maskable = set(self.model.maskable_positions(encoding))
        self.positions = [i for i, special in enumerate(encoding.special) if not special]
        self.tokens.children = [
            self._button(encoding, position, position in maskable,
                         before.get(position) == encoding.tokens[position])
            for position in self.positions
        ]
        self._update()

    def _button(self, encoding, position, maskable, pressed):
        """The toggle of one token: pressed when masked; a typed mask is fixed."""
        start, end = encoding.offsets[position]
        token = encoding.tokens[position]
        label = self.text.value[start:end] if token == self.model.tokenizer.unk_token else token
        button = widgets.ToggleButton(
            value=pressed or not maskable, disabled=not maskable, description=label or token,
            tooltip=f"position {position}" if maskable else "typed mask: edit the text to remove it",
            layout=widgets.Layout(width="auto"),
        )
        button.observe(self._update, "value")
        return button

    def _update(self, change=None):
        """Predict with the current widgets and redraw the charts, or say why not."""
        text = self.text.value
        try:
            self.result = self.model.fill_mask(
                text, top_k=self.top_k.value, temperature=self.temperature.value,
                positions=self.picked,
            )
        except ValueError as error:
            self.result = None
            self.message.value = f"<b>{html.escape(str(error))}</b>"
            self.filled.value = ""
            self.charts.children, self.figures = (), []
            return
        self.message.value = _cut_note(text, self._encoding, self.model.tokenizer.max_length)
        fills = {mask["position"]: mask["predictions"][0]["token"] for mask in self.result["masks"]}
        self.filled.value = "With the top guesses: " + "".join(
            f"<b>{html.escape(piece)}</b>" if fill else html.escape(piece)
            for piece, fill in filled_segments(text, self._encoding.offsets, fills)
        )
        masks = self.result["masks"]
        while len(self._outputs) < len(masks):
            self._outputs.append(widgets.Output())
        self.figures = [mask_bars(mask) for mask in masks]
        for output, figure in zip(self._outputs, self.figures):
            output.outputs = ({"output_type": "display_data", "data": mime_bundle(figure),
                               "metadata": {}},)
        self.charts.children = self._outputs[:len(masks)]


def explore(model, text=DEFAULT_TEXT, top_k=5, temperature=1.0):
    """An interactive fill-mask explorer for a notebook.

    Args:
        model: a `MaskedLM` (`mlmviz.load(...)`).
        text: the first text; typed mask tokens start masked.
        top_k: predictions per mask (1 to 20).
        temperature: softmax temperature (0.1 to 3.0).

    Returns:
        an `Explorer`, an ipywidgets `VBox` (display it as a cell's last
        line): editing the text rebuilds the token buttons, and every change
        re-runs `model.fill_mask` and redraws the charts. Bad input
        (empty text, nothing masked, a mask cut off a long text) shows a
        message; the widgets keep working.
    """
    return Explorer(model, text, top_k, temperature)


def mask_bars(mask):
    """The Predict page's probability bars for one mask of a `fill_mask` result."""
    frame = pd.DataFrame(mask["predictions"])[["token", "probability", "logit"]]
    return probability_bars(frame, f"Position {mask['position']}: {mask['original']}")


def mime_bundle(figure):
    """`figure` as an output's data: plotly's JSON type (JupyterLab, VS Code) plus
    what plotly's renderer for this environment adds (Colab's HTML)."""
    plotly_json = json.loads(figure.to_json())  # {"data": [...], "layout": {...}}
    return {"application/vnd.plotly.v1+json": {**plotly_json, "config": {}},
            **figure._repr_mimebundle_()}


def _cut_note(text, encoding, max_length):
    """Where `text` was cut when it is longer than the model reads, else ""."""
    if not encoding.truncated:
        return ""
    kept = encoding.kept_characters
    last_words = html.escape(" ".join(text[:kept].split()[-4:]))
    return (f"The model reads at most {max_length} tokens: it uses the text up to "
            f"“… {last_words}” (character {kept:,} of {len(text):,}); the rest is cut.")


def _masked(model, text, positions, mask):
    """`(masked, index)`: `model.mask(text, positions)` and the index of mask number `mask`."""
    masked = model.mask(text, positions)
    count = len(masked.positions)
    if isinstance(mask, bool) or not isinstance(mask, (int, np.integer)) or not 0 <= mask < count:
        raise ValueError(f"mask must be 0 to {count - 1} (the text has {count} masks). "
                         f"Received {mask!r}")
    return masked, int(mask)


def show_anatomy(model, text=DEFAULT_TEXT, positions=(), mask=0, top_k=10, temperature=1.0):
    """The Inside-the-head page for one mask of `text`.

    Args:
        model: a `MaskedLM`.
        text, positions: as `model.mask` (typed mask tokens plus positions).
        mask: which mask, 0-based in position order.
        top_k, temperature: the tokens shown, and the softmax temperature.

    Returns:
        `Figures`: each stage's vector as a row of cells (gathered, dense,
        activated, normed); the top tokens' logits split into context and
        bias; their probability from the whole head beside the bias alone.

    Raises:
        ValueError: for bad text, positions or `mask`.
    """
    masked, index = _masked(model, text, positions, mask)
    stages = model.stages(masked)
    vectors = [stages[name][0, index] for name in anatomy.VECTOR_STAGES]
    width = max(v.size for v in vectors)
    padded = [list(v) + [float("nan")] * (width - v.size) for v in vectors]
    labels = [anatomy.STAGE_TITLES[name] for name in anatomy.VECTOR_STAGES]
    split = pd.DataFrame(anatomy.anatomy_table(stages, index, model.vocabulary, top_k, temperature))
    return Figures([
        vector_heatmap(padded, labels, "Each stage's vector, one cell per dimension"),
        logit_split_bars(split, "Each top token's logit, split in two"),
        paired_probability_bars(split["token"], split["probability"],
                                split["bias_only_probability"], ["the head", "bias only"],
                                "Probability of the top tokens"),
    ])


def show_lens(model, text=DEFAULT_TEXT, positions=(), mask=0):
    """The Logit-lens page for one mask of `text` (arguments as `show_anatomy`).

    Returns:
        `Figures` with one figure: the final prediction's probability and
        rank when the head reads the embeddings and each layer.
    """
    masked, index = _masked(model, text, positions, mask)
    table = logit_lens.lens_table(logit_lens.lens_logits(model, masked), index,
                                  model.vocabulary, top_k=1)
    rows = table["layers"]
    return Figures([lens_lines(
        [r["layer"] for r in rows], [r["final_probability"] for r in rows],
        [r["final_rank"] for r in rows], table["final"],
        f"The final prediction “{table['final']}” layer by layer",
    )])


def show_attention(model, text=DEFAULT_TEXT, positions=(), mask=0, layer=1, head=1):
    """The Attention page for one mask of `text` (arguments as `show_anatomy`).

    Args:
        layer, head: the head (1-based) whose full matrix is drawn last.

    Returns:
        `Figures`: what the mask reads in every layer and head (with the
        final answer's logit-lens rank after each layer), the same averaged
        over each layer's heads, and one head's full attention matrix.

    Raises:
        ValueError: for bad input, a layer or head out of range, or a model
            whose encoder has no TransformerEncoder layers to read from.
    """
    masked, index = _masked(model, text, positions, mask)
    try:
        weights = attention_analysis.attention(model, masked)  # (layers, heads, seq, seq)
    except ValueError as error:
        raise ValueError(f"{error} show_attention cannot draw this model; "
                         "show_anatomy and show_lens still work.") from error
    layers, heads = weights.shape[:2]
    if not (1 <= layer <= layers and 1 <= head <= heads):
        raise ValueError(f"layer must be 1 to {layers} and head 1 to {heads}. "
                         f"Received layer {layer!r}, head {head!r}")
    lens = logit_lens.lens_table(logit_lens.lens_logits(model, masked), index,
                                 model.vocabulary, top_k=1)
    answer, notes = lens["final"], [f"#{row['final_rank']:,}" for row in lens["layers"][1:]]
    tokens, query = list(masked.encoding.tokens), masked.positions[index]
    rows = {"layer_notes": notes, "notes_title": f"rank of “{answer}”"}
    return Figures([
        mask_rows(weights, tokens, query,
                  title=f"What the mask at position {query} reads, layer by layer", **rows),
        average_rows(weights, tokens, query,
                     title="The same, averaged over each layer's heads", **rows),
        attention_matrix(weights[layer - 1, head - 1], tokens, query=query,
                         title=f"Layer {layer}, head {head}: who reads whom"),
    ])
