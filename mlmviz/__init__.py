"""mlmviz: look inside a masked language model's prediction head."""

from mlmviz.layers import MaskedLMHead, ReversibleEmbedding, check_mask_positions
from mlmviz.loading import load

__all__ = ["MaskedLMHead", "ReversibleEmbedding", "check_mask_positions", "load"]
