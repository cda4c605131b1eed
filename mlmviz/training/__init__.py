"""Continued masked-LM training: its settings (`config`, free of heavy
imports for the CLI), BERT's 80/10/10 corruption (`corruption`) and the
training run itself (`train`)."""
