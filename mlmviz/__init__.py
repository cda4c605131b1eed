"""mlmviz: look inside a masked language model's prediction head."""

from mlmviz.layers import MaskedLMHead, ReversibleEmbedding, check_mask_positions

__all__ = ["MaskedLMHead", "ReversibleEmbedding", "check_mask_positions"]
