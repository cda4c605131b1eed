"""mlmviz: look inside a masked language model's prediction head.

`MaskedLMHead`, `ReversibleEmbedding`, `check_mask_positions`, `load` and
`save` are imported on first use, so that `python -m mlmviz` can start (and
report bad arguments) before TensorFlow is imported.
"""

import importlib

_EXPORTS = {
    "MaskedLMHead": "mlmviz.layers",
    "ReversibleEmbedding": "mlmviz.layers",
    "check_mask_positions": "mlmviz.layers",
    "load": "mlmviz.loading",
    "save": "mlmviz.saving",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mlmviz' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
