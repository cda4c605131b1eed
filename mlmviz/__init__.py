"""mlmviz: look inside a masked language model's prediction head.

`MaskedLMHead`, `ReversibleEmbedding`, `check_mask_positions`, `load` and
`save` are imported on first use, so that `python -m mlmviz` can start (and
report bad arguments) before TensorFlow is imported. The modules of
`mlmviz.analysis` are reachable from here too (`from mlmviz import anatomy`),
as a notebook user expects.

The package's rooms: `sources/` (path, id or upload -> `MaskedLM`),
`analysis/` (the numbers behind each page), `training/` (continued MLM
training), `figures/` (plotly figure builders); the core lives here.
"""

import importlib

_EXPORTS = {
    "MaskedLMHead": "mlmviz.layers",
    "ReversibleEmbedding": "mlmviz.layers",
    "check_mask_positions": "mlmviz.layers",
    "load": "mlmviz.sources.load",
    "save": "mlmviz.sources.saving",
}
_ANALYSIS = ("anatomy", "attention", "cloze", "compare", "evaluation", "gathered", "logit_lens",
             "masking_lab", "neighbours", "paired", "projection", "pseudo_likelihood")
__all__ = list(_EXPORTS) + list(_ANALYSIS)


def __getattr__(name):
    if name in _ANALYSIS:
        return importlib.import_module(f"mlmviz.analysis.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mlmviz' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
