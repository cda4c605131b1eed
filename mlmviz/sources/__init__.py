"""Where a `MaskedLM` comes from: a path, a Hub id or an upload, read safely.

`load` is the one entry point (`mlmviz.load`); it dispatches to Hugging Face
directories (`hf`), keras-hub MaskedLM tasks (`keras_hub_tasks`) and
mlmviz's own `.keras` format (`saving`, also `mlmviz.save`); `hub` finds
`hf:ORG/NAME` in the Hugging Face cache. `checkpoints` opens files safely
(safetensors checks, pickle refusal, links) and `uploads` turns an uploaded
file into a checkpoint path.
"""
