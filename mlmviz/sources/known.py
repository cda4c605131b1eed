"""Well-known masked-LM checkpoints on the Hugging Face Hub that mlmviz loads.

The app offers them in the sidebar; each is an `hf:ORG/NAME` source.
`megabytes` is the size the Hub's file page gives for the repository's
model.safetensors (checked on the stored Hub pages; the JSON and vocabulary
files add about 1 MB), or, where `approximate`, 4 bytes per parameter (the
float32 weights); `parameters` is the model card's count, in millions.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownModel:
    repo_id: str  # "ORG/NAME"
    architecture: str
    parameters: float  # millions
    megabytes: float  # model.safetensors, 10**6 bytes
    approximate: bool = False  # megabytes from the parameter count, not the file page


KNOWN_MODELS = (
    KnownModel("google-bert/bert-base-uncased", "BERT", 110, 440),
    KnownModel("distilbert/distilbert-base-uncased", "DistilBERT", 66, 268),
    KnownModel("FacebookAI/roberta-base", "RoBERTa", 125, 499),
    KnownModel("albert/albert-base-v2", "ALBERT", 11, 47.4),
    KnownModel("google/electra-small-generator", "ELECTRA", 13.5, 54, approximate=True),
    KnownModel("answerdotai/ModernBERT-base", "ModernBERT", 149, 596, approximate=True),
    KnownModel("jhu-clsp/ettin-encoder-17m", "ModernBERT (Ettin)", 17, 68, approximate=True),
    KnownModel("FacebookAI/xlm-roberta-base", "XLM-RoBERTa", 279, 1116, approximate=True),
    KnownModel("almanach/camembert-base", "CamemBERT", 110, 440, approximate=True),
)


def known(repo_id):
    """The `KnownModel` of `repo_id`, or None."""
    return next((model for model in KNOWN_MODELS if model.repo_id == repo_id), None)
