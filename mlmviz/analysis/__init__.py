"""The numbers behind each page, in numpy and pandas, one module per concept.

`anatomy` (the head's stages at one mask), `gathered` (the vectors the head
reads), `projection` (2-D PCA), `neighbours` (nearest vocabulary rows),
`logit_lens` (the head on every layer), `attention` (every layer's attention
weights), `pseudo_likelihood`, `compare` (two models on the same masks),
`masking_lab` (a sentence corrupted as in training), `evaluation` (a corpus
masked and scored), `paired` (two models on the same masked corpus) and
`cloze` (hits on a set of fill-in-the-blank sentences). Each module is also
importable as `mlmviz.<name>`.
"""
