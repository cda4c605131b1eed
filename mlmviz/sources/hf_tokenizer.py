"""A Hugging Face checkpoint's tokenizer, built as `transformers` 5 builds it.

`transformers.AutoTokenizer` (what `pipeline("fill-mask")` uses) does not
take `tokenizer.json` as it is for BERT, DistilBERT, RoBERTa and ALBERT: its
tokenizer class keeps only the vocabulary (and merges, the SentencePiece
character map, and for ALBERT the post-processor) and builds the normalizer,
pre-tokenizer and post-processor from `tokenizer_config.json` and its own
defaults. These are the rules, per class (transformers 5.24):

- BERT, DistilBERT and ELECTRA (`BertTokenizer`): WordPiece ("##", words of at most
  100 characters); `BertNormalizer(clean_text, tokenize_chinese_chars=True,
  strip_accents=None, lowercase=do_lower_case=True)`; `BertPreTokenizer`;
  `[CLS] $A [SEP]` from the configured cls and sep tokens.
- RoBERTa (`RobertaTokenizer`): byte-level BPE, no normalizer,
  `ByteLevel(add_prefix_space=False)`, `RobertaProcessing(trim_offsets=True)`.
- ALBERT (`AlbertTokenizer`): Unigram with unk id 1; normalizer `` `` `` and
  `''` to `"`, then NFKD + accent stripping unless `keep_accents`, lowercase
  if `do_lower_case` (default True), then the SentencePiece character map;
  pre-tokenizer `WhitespaceSplit` + `Metaspace(prepend_scheme="always")`
  ("never" with `add_prefix_space=False`); the post-processor of
  `tokenizer.json`, else `[CLS] $A [SEP]`. The vocabulary comes from
  `tokenizer.json` or else `spiece.model` (read as protobuf, never unpickled).
- XLM-RoBERTa (`XLMRobertaTokenizer`) and CamemBERT (`CamembertTokenizer`):
  Unigram (unk id 3 for XLM-RoBERTa; CamemBERT's is its unk token's, else 0),
  the SentencePiece character map as the only normalizer, `WhitespaceSplit` +
  `Metaspace(prepend_scheme="always")` ("never" with `add_prefix_space=False`),
  and `<s> $A </s>` from the configured bos and eos tokens. CamemBERT also
  adds `<s>NOTUSED`, `</s>NOTUSED` and `<unk>NOTUSED` as special tokens, and
  its mask token takes in the space before it. The vocabulary comes from
  `tokenizer.json` only.
- `PreTrainedTokenizerFast` / `TokenizersBackend`: `tokenizer.json` as it is.

The class is `tokenizer_config.json`'s `tokenizer_class` (a "Fast" suffix
dropped), else `config.json`'s, else the one of its `model_type`.
Added tokens are `tokenizer_config.json`'s `added_tokens_decoder` when it has
one, else `tokenizer.json`'s `added_tokens`, else the pieces a
`spiece.model` marks as control (special) or user-defined (not special);
then every configured special token (`mask_token`, ...) the tokenizer lacks is
added as a special token.
"""

import base64
import json
from pathlib import Path

import tokenizers
from google.protobuf.message import DecodeError
from sentencepiece import sentencepiece_model_pb2
from tokenizers import decoders, normalizers, pre_tokenizers, processors

from mlmviz.sources.checkpoints import CheckpointError

# Each class's special tokens and their defaults, in the order transformers adds them.
_SPECIALS = {
    "bert": {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
             "cls_token": "[CLS]", "mask_token": "[MASK]"},
    "roberta": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
                "mask_token": "<mask>"},
    "albert": {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>",
               "sep_token": "[SEP]", "pad_token": "<pad>", "cls_token": "[CLS]",
               "mask_token": "[MASK]"},
    "xlm-roberta": {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                    "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
                    "mask_token": "<mask>"},
    "as-saved": dict.fromkeys(("bos_token", "eos_token", "unk_token", "sep_token",
                               "pad_token", "cls_token", "mask_token")),
}
_SPECIALS["camembert"] = {**_SPECIALS["xlm-roberta"],  # its mask takes the space before it
                          "mask_token": {"content": "<mask>", "lstrip": True, "special": True}}
_CLASSES = {
    "BertTokenizer": "bert", "DistilBertTokenizer": "bert", "ElectraTokenizer": "bert",
    "RobertaTokenizer": "roberta", "XLMRobertaTokenizer": "xlm-roberta",
    "CamembertTokenizer": "camembert",
    "AlbertTokenizer": "albert", "PreTrainedTokenizerFast": "as-saved",
    "TokenizersBackend": "as-saved",
}
_MODEL_TYPES = {"bert": "bert", "distilbert": "bert", "electra": "bert", "roberta": "roberta",
                "albert": "albert", "xlm-roberta": "xlm-roberta", "camembert": "camembert"}
# CamemBERT's extra special tokens, unless tokenizer_config.json names others.
_CAMEMBERT_EXTRAS = ["<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"]
_SPIECE_CONTROL, _SPIECE_USER_DEFINED = 3, 4  # SentencePiece piece types


def build(directory, settings):
    """The `tokenizers.Tokenizer` that `AutoTokenizer.from_pretrained(directory)` wraps.

    Args:
        directory: a checkpoint folder with `tokenizer.json`, `vocab.txt`
            (BERT) or `spiece.model` (ALBERT), and optionally
            `tokenizer_config.json` and `config.json`.
        settings: the parsed `tokenizer_config.json` (empty when absent).

    Raises:
        CheckpointError: no tokenizer file the class reads, or a tokenizer
            class mlmviz cannot reproduce.
    """
    directory = Path(directory)
    kind = tokenizer_kind(directory, settings)
    saved = _saved_tokenizer(directory)
    if kind == "as-saved":
        if saved is None:
            raise _no_tokenizer(directory, "tokenizer.json")
        tokenizer = tokenizers.Tokenizer.from_str(json.dumps(saved))
    else:
        try:
            tokenizer = _BUILDERS[kind](directory, saved, settings)
        except CheckpointError:  # no tokenizer file at all: its message says which are read
            raise
        except (KeyError, TypeError, ValueError) as error:  # a tokenizer.json without its parts
            raise CheckpointError(
                f"{directory / 'tokenizer.json'} is not a complete {kind} tokenizer "
                f"({type(error).__name__}: {error})."
            ) from None
    specials = {key: settings.get(key, default) for key, default in _SPECIALS[kind].items()}
    extras = (settings.get("additional_special_tokens", _CAMEMBERT_EXTRAS)
              if kind == "camembert" else [])
    _add_tokens(tokenizer, _added_tokens(directory, saved, settings), [*specials.values(), *extras])
    specials = {key: _token_content(value) for key, value in specials.items()}
    if kind in _POST_PROCESSORS:  # built after the added tokens, from their ids
        tokenizer.post_processor = _POST_PROCESSORS[kind](tokenizer, specials, settings)
    return tokenizer


def _no_tokenizer(directory, expected):
    """The error for a folder without the tokenizer files its model reads."""
    return CheckpointError(
        f"{directory} has no tokenizer: it holds no {expected}. Save the tokenizer beside "
        f"the model (transformers: AutoTokenizer.from_pretrained(...).save_pretrained(FOLDER))."
    )


def tokenizer_kind(directory, settings):
    """A key of `_SPECIALS` ("bert", "roberta", ... "as-saved"): whose rules build the tokenizer."""
    config = read_json(Path(directory) / "config.json") or {}
    name = settings.get("tokenizer_class") or config.get("tokenizer_class")
    if not name:
        return _MODEL_TYPES.get(config.get("model_type"), "as-saved")
    kind = _CLASSES.get(name) or _CLASSES.get(name.removesuffix("Fast"))
    if kind is None:
        raise CheckpointError(
            f"{directory}: mlmviz cannot reproduce the tokenizer class "
            f"{name.removesuffix('Fast')!r} its tokenizer_config.json or config.json names; "
            f"it reads {', '.join(sorted(_CLASSES))}."
        )
    return kind


def _bert(directory, saved, settings):
    if saved is not None:
        vocabulary = saved["model"]["vocab"]
    elif (directory / "vocab.txt").is_file():
        vocabulary = _read_vocabulary(directory / "vocab.txt")
    else:
        raise _no_tokenizer(directory, "tokenizer.json or vocab.txt")
    unk = _token_content(settings.get("unk_token", "[UNK]"))
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordPiece(vocabulary, unk_token=unk))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=settings.get("tokenize_chinese_chars", True),
        strip_accents=settings.get("strip_accents"),
        lowercase=settings.get("do_lower_case", True),
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def _roberta(directory, saved, settings):
    if saved is None:
        raise _no_tokenizer(directory, "tokenizer.json")
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
              for m in saved["model"].get("merges", [])]
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE(
        saved["model"]["vocab"], merges, dropout=None, continuing_subword_prefix="",
        end_of_word_suffix="", fuse_unk=False,
    ))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(
        add_prefix_space=settings.get("add_prefix_space", False)
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def _albert(directory, saved, settings):
    if saved is not None:
        pieces = [tuple(piece) for piece in saved["model"]["vocab"]]
        charsmap = _saved_charsmap(saved.get("normalizer"))
    else:
        proto = _spiece(directory)
        pieces = [(piece.piece, piece.score) for piece in proto.pieces]
        charsmap = proto.normalizer_spec.precompiled_charsmap or None
    tokenizer = tokenizers.Tokenizer(tokenizers.models.Unigram(pieces, 1, False))
    steps = [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
    if not settings.get("keep_accents", False):
        steps += [normalizers.NFKD(), normalizers.StripAccents()]
    if settings.get("do_lower_case", True):
        steps.append(normalizers.Lowercase())
    if charsmap is not None:
        steps.append(normalizers.Precompiled(charsmap))
    tokenizer.normalizer = normalizers.Sequence(steps)
    _metaspace(tokenizer, settings)
    if saved is not None and saved.get("post_processor"):
        tokenizer.post_processor = tokenizers.Tokenizer.from_str(json.dumps(saved)).post_processor
    else:
        specials = {**_SPECIALS["albert"], **{key: _token_content(settings[key])
                                              for key in ("cls_token", "sep_token")
                                              if key in settings}}
        tokenizer.post_processor = _template(tokenizer, specials, names=("[CLS]", "[SEP]"))
    return tokenizer


def _sentencepiece_roberta(kind):
    """The builder of XLM-RoBERTa's or CamemBERT's tokenizer (fairseq's SentencePiece)."""

    def build(directory, saved, settings):
        if saved is None:
            raise _no_tokenizer(directory, "tokenizer.json")
        pieces = [tuple(piece) for piece in saved["model"]["vocab"]]
        unk = 3
        if kind == "camembert":
            name = _token_content(settings.get("unk_token", "<unk>"))
            unk = next((i for i, (piece, _) in enumerate(pieces) if piece == name), 0)
        tokenizer = tokenizers.Tokenizer(tokenizers.models.Unigram(pieces, unk, False))
        charsmap = _saved_charsmap(saved.get("normalizer"))
        if charsmap is not None:
            tokenizer.normalizer = normalizers.Precompiled(charsmap)
        _metaspace(tokenizer, settings)
        return tokenizer

    return build


def _metaspace(tokenizer, settings):
    """SentencePiece's word split: `WhitespaceSplit` + `Metaspace` ("▁" before
    each word; before the first too unless `add_prefix_space` is false)."""
    scheme = "always" if settings.get("add_prefix_space", True) else "never"
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme),
    ])
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme)


def _fairseq_post_processor(tokenizer, specials, settings):
    """`<s> $A </s>` from the bos and eos tokens (XLM-RoBERTa, CamemBERT)."""
    bos, eos = specials["bos_token"], specials["eos_token"]
    ids = tokenizer.token_to_id(bos), tokenizer.token_to_id(eos)
    if None in ids:
        raise CheckpointError(f"The tokenizer has no {bos!r} or {eos!r} token.")
    return processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids[0]), (eos, ids[1])],
    )


def _bert_post_processor(tokenizer, specials, settings):
    return _template(tokenizer, specials, fallback_ids=(2, 3))


def _roberta_post_processor(tokenizer, specials, settings):
    sep, cls = specials["sep_token"], specials["cls_token"]
    return processors.RobertaProcessing(
        (sep, tokenizer.token_to_id(sep)),
        (cls, tokenizer.token_to_id(cls)),
        trim_offsets=settings.get("trim_offsets", True),
        add_prefix_space=settings.get("add_prefix_space", False),
    )


_BUILDERS = {"bert": _bert, "roberta": _roberta, "albert": _albert,
             "xlm-roberta": _sentencepiece_roberta("xlm-roberta"),
             "camembert": _sentencepiece_roberta("camembert")}
_POST_PROCESSORS = {"bert": _bert_post_processor, "roberta": _roberta_post_processor,
                    "xlm-roberta": _fairseq_post_processor,
                    "camembert": _fairseq_post_processor}


def _template(tokenizer, specials, names=None, fallback_ids=(None, None)):
    """`CLS $A SEP` with the configured cls and sep tokens (written as `names` in the template)."""
    cls, sep = specials["cls_token"], specials["sep_token"]
    cls_name, sep_name = names or (cls, sep)
    cls_id = tokenizer.token_to_id(cls)
    sep_id = tokenizer.token_to_id(sep)
    cls_id = fallback_ids[0] if cls_id is None else cls_id
    sep_id = fallback_ids[1] if sep_id is None else sep_id
    if cls_id is None or sep_id is None:
        raise CheckpointError(f"The tokenizer has no {cls!r} or {sep!r} token.")
    return processors.TemplateProcessing(
        single=f"{cls_name}:0 $A:0 {sep_name}:0",
        pair=f"{cls_name}:0 $A:0 {sep_name}:0 $B:1 {sep_name}:1",
        special_tokens=[(cls_name, cls_id), (sep_name, sep_id)],
    )


def _added_tokens(directory, saved, settings):
    """`tokenizers.AddedToken`s the checkpoint declares, in id order."""
    if "added_tokens_decoder" in settings:
        declared = sorted(settings["added_tokens_decoder"].items(), key=lambda item: int(item[0]))
        return [_added_token(token) for _, token in declared]
    if saved is not None:
        return [_added_token(token) for token in saved.get("added_tokens", [])]
    if (directory / "spiece.model").is_file():
        return [
            tokenizers.AddedToken(piece.piece, normalized=False,
                                  special=piece.type == _SPIECE_CONTROL)
            for piece in _spiece(directory).pieces
            if piece.type in (_SPIECE_CONTROL, _SPIECE_USER_DEFINED)
        ]
    return []


def _added_token(token, special=None):
    """A `tokenizers.AddedToken` from its JSON (`content`, `lstrip`, `special`, ...)
    or a plain string (a special token); `special` overrides the JSON's flag."""
    if isinstance(token, str):
        return tokenizers.AddedToken(token, special=True, normalized=False)
    special = bool(token.get("special", False)) if special is None else special
    return tokenizers.AddedToken(
        token["content"],
        single_word=bool(token.get("single_word", False)),
        lstrip=bool(token.get("lstrip", False)),
        rstrip=bool(token.get("rstrip", False)),
        normalized=bool(token.get("normalized", not special)),
        special=special,
    )


def _add_tokens(tokenizer, declared, specials):
    """Add the declared tokens the tokenizer lacks, then each configured special
    token (a string or an AddedToken dict) still missing. A declared token
    named as a special token is special."""
    specials = [_added_token(token, special=True) for token in specials if token]
    special_names = {token.content for token in specials}
    names = {token.content for token in tokenizer.get_added_tokens_decoder().values()}
    missing = []
    for token in [*declared, *specials]:
        if token.content not in names:
            token.special = token.special or token.content in special_names
            missing.append(token)
            names.add(token.content)
    if missing:
        tokenizer.add_tokens(missing)


def _token_content(value):
    """A special token's string from `tokenizer_config.json` (a string or an AddedToken dict)."""
    return value.get("content") if isinstance(value, dict) else value


def _saved_tokenizer(directory):
    return read_json(directory / "tokenizer.json")


def _read_vocabulary(path):
    """vocab.txt as `tokenizers` reads it for transformers: a token a line, trailing
    whitespace dropped, a repeated token keeping its last line's id."""
    try:
        return tokenizers.models.WordPiece.read_file(str(path))
    except Exception as error:  # tokenizers raises Exception for unreadable files
        raise CheckpointError(f"{path} is not a vocabulary of UTF-8 lines: {error}") from None


def _saved_charsmap(normalizer):
    """The SentencePiece character map of a saved normalizer, as bytes, or None."""
    if not normalizer:
        return None
    steps = normalizer["normalizers"] if normalizer.get("type") == "Sequence" else [normalizer]
    for step in steps:
        if step.get("type") == "Precompiled" and step.get("precompiled_charsmap"):
            return base64.b64decode(step["precompiled_charsmap"])
    return None


def _spiece(directory):
    path = directory / "spiece.model"
    if not path.is_file():
        raise _no_tokenizer(directory, "tokenizer.json or spiece.model")
    proto = sentencepiece_model_pb2.ModelProto()
    try:
        proto.ParseFromString(path.read_bytes())
    except DecodeError as error:
        raise CheckpointError(f"{path} is not a SentencePiece model: {error}") from None
    if proto.trainer_spec.model_type != 1:  # 1 = unigram
        raise CheckpointError(f"{path}: only unigram SentencePiece models are supported.")
    return proto


def read_json(path):
    """The parsed JSON file at `path`, or None when there is no such file.

    Raises:
        CheckpointError: the file is not UTF-8 JSON.
    """
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from None
