"""Settings of a training run, kept free of heavy imports for the CLI."""

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Settings of one training run (every field is a CLI option)."""

    base: str
    corpus: str
    heldout: str
    out: str
    steps: int = 1500
    batch_size: int = 64
    sequence_length: int = 64
    learning_rate: float = 5e-4
    warmup_steps: int = 100
    dropout: float = 0.1
    seed: int = 0
    log_every: int = 100
