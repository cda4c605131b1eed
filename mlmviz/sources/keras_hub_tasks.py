"""keras-hub MaskedLM tasks (`.keras` files, preset directories) → `MaskedLM`.

The task's own backbone is kept; its `keras_hub.layers.MaskedLMHead` is
replaced by our head with the same configuration, tied to the same token
embedding, holding the same weights. A preset saved without task weights
(the usual case for keras-hub's backbone presets) gets a freshly initialised
head, which `check_head` reports as untrained.

Tokenizers are converted to `tokenizers` equivalents: WordPiece (BERT,
DistilBERT) with the same vocabulary and casing, byte-level BPE (RoBERTa)
with the same vocabulary and merges, SentencePiece unigram (ALBERT) from the
task's proto.
"""

import json
from pathlib import Path

import keras_hub
import tokenizers
from sentencepiece import sentencepiece_model_pb2
from tokenizers.implementations import BertWordPieceTokenizer

from mlmviz.layers import MaskedLMHead
from mlmviz.model import MaskedLM, check_head, describe
from mlmviz.sources.checkpoints import CheckpointError, check_links
from mlmviz.tokenization import Tokenizer


# What keras-hub reads from a preset folder: these files and the assets/ tree.
PRESET_FILES = (
    "metadata.json", "config.json", "task.json", "preprocessor.json", "tokenizer.json",
    "model.weights.h5", "model.weights.json", "task.weights.h5",
)


def is_preset(directory):
    """True for a directory written by keras-hub's `save_to_preset`.

    Reads `metadata.json`: check it for links first (`check_links`).
    """
    path = Path(directory) / "metadata.json"
    if not path.is_file():
        return False
    try:
        metadata = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from None
    return isinstance(metadata, dict) and "keras_hub_version" in metadata


def check_preset_links(directory):
    """Refuse links out of `directory` among the files keras-hub reads from a preset."""
    directory = Path(directory)
    assets = directory / "assets"
    check_links([*(directory / name for name in PRESET_FILES), assets], directory)
    if assets.is_dir():  # walked only once it is known to stay inside
        check_links(sorted(assets.rglob("*")), directory)


def load_preset(directory, source, weight_hash):
    """A keras-hub preset directory holding a MaskedLM task (or a backbone)."""
    try:
        task = keras_hub.models.MaskedLM.from_preset(str(directory))
    except Exception as error:  # keras-hub raises many types for bad presets
        raise CheckpointError(f"{directory} is not a loadable keras-hub preset: {error}") from None
    return from_task(task, source, weight_hash)


def from_task(task, source, weight_hash):
    """Wrap a keras-hub MaskedLM task in a `MaskedLM` bundle with our head."""
    if not isinstance(task, keras_hub.models.MaskedLM):
        raise CheckpointError(
            f"{source} holds a {type(task).__name__}, not a keras-hub MaskedLM task."
        )
    theirs = next(
        (layer for layer in task.layers if isinstance(layer, keras_hub.layers.MaskedLMHead)),
        None,
    )
    if theirs is None:
        raise CheckpointError(f"{source}: the task has no MaskedLMHead.")
    head = _our_head(theirs)
    backbone = task.backbone
    tokenizer = _tokenizer(task.preprocessor.tokenizer, backbone.max_sequence_length)
    metadata = describe(source, type(task).__name__, backbone, head, weight_hash)
    return MaskedLM(tokenizer, backbone, head, metadata, check_head(head))


def _our_head(theirs):
    """Our MaskedLMHead configured and weighted exactly like keras-hub's."""
    head = MaskedLMHead(
        vocabulary_size=theirs.vocabulary_size,
        token_embedding=theirs.token_embedding,
        intermediate_activation=theirs.intermediate_activation,
        activation=theirs.activation,
        layer_norm_epsilon=theirs.layer_norm_epsilon,
        kernel_initializer=theirs.kernel_initializer,
        bias_initializer=theirs.bias_initializer,
        dtype=theirs.dtype_policy,
        name="mlm_head",
    )
    hidden_dim = theirs._intermediate_dense.kernel.shape[0]
    head.build((None, None, hidden_dim))
    theirs_by_name = {w.path.split("/", 1)[1]: w for w in theirs.weights}
    for weight in head.weights:
        weight.assign(theirs_by_name[weight.path.split("/", 1)[1]])
    return head


def _tokenizer(keras_hub_tokenizer, max_length):
    """Our `Tokenizer` equivalent to a keras-hub task's tokenizer."""
    for kind, convert in _CONVERTERS:
        if isinstance(keras_hub_tokenizer, kind):
            tokenizer = convert(keras_hub_tokenizer)
            return Tokenizer(tokenizer, keras_hub_tokenizer.mask_token, max_length)
    raise CheckpointError(
        f"keras-hub tokenizer {type(keras_hub_tokenizer).__name__} is not supported; "
        "WordPiece, byte-level BPE and SentencePiece tokenizers are."
    )


def _wordpiece(keras_hub_tokenizer):
    """BERT, DistilBERT: the same vocabulary, casing and accent stripping."""
    vocabulary = {token: i for i, token in enumerate(keras_hub_tokenizer.vocabulary)}
    return BertWordPieceTokenizer(
        vocabulary,
        lowercase=keras_hub_tokenizer.lowercase,
        strip_accents=keras_hub_tokenizer.strip_accents,
    )._tokenizer


def _byte_level_bpe(keras_hub_tokenizer):
    """RoBERTa: the same vocabulary and merges, `<s> ... </s>` around texts."""
    vocabulary = dict(keras_hub_tokenizer.vocabulary)
    merges = [tuple(merge.split(" ")) for merge in keras_hub_tokenizer.merges]
    prefix_space = keras_hub_tokenizer.add_prefix_space
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE(vocabulary, merges))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=prefix_space)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    _add_specials(tokenizer, keras_hub_tokenizer)
    start, end = keras_hub_tokenizer.start_token, keras_hub_tokenizer.end_token
    tokenizer.post_processor = tokenizers.processors.RobertaProcessing(
        (end, vocabulary[end]), (start, vocabulary[start]), add_prefix_space=prefix_space
    )
    return tokenizer


def _sentencepiece(keras_hub_tokenizer):
    """ALBERT: the SentencePiece unigram model of the task's proto."""
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(keras_hub_tokenizer.proto)
    if proto.trainer_spec.model_type != 1:  # 1 = unigram
        raise CheckpointError("Only unigram SentencePiece models are supported.")
    pieces = [(piece.piece, piece.score) for piece in proto.pieces]
    tokenizer = tokenizers.Tokenizer(
        tokenizers.models.Unigram(pieces, proto.trainer_spec.unk_id, False)
    )
    charsmap = proto.normalizer_spec.precompiled_charsmap
    if charsmap:
        tokenizer.normalizer = tokenizers.normalizers.Precompiled(charsmap)
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Metaspace()
    tokenizer.decoder = tokenizers.decoders.Metaspace()
    _add_specials(tokenizer, keras_hub_tokenizer)
    start, end = keras_hub_tokenizer.start_token, keras_hub_tokenizer.end_token
    tokenizer.post_processor = tokenizers.processors.TemplateProcessing(
        single=f"{start} $A {end}",
        special_tokens=[(start, tokenizer.token_to_id(start)), (end, tokenizer.token_to_id(end))],
    )
    return tokenizer


def _add_specials(tokenizer, keras_hub_tokenizer):
    """Keep the task's special tokens whole when typed (the mask above all)."""
    tokenizer.add_special_tokens([
        tokenizers.AddedToken(token, special=True, lstrip=token == "<mask>")
        for token in keras_hub_tokenizer.special_tokens
    ])


_CONVERTERS = (
    (keras_hub.tokenizers.WordPieceTokenizer, _wordpiece),
    (keras_hub.tokenizers.BytePairTokenizer, _byte_level_bpe),
    (keras_hub.tokenizers.SentencePieceTokenizer, _sentencepiece),
)
