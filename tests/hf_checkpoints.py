"""Tiny, randomly initialised Hugging Face masked-LM checkpoints, built offline.

`make_checkpoint(architecture, directory)` writes what a user's checkpoint
directory holds: `config.json` and `model.safetensors` from `save_pretrained`,
plus `tokenizer.json` and `tokenizer_config.json` from a real tokenizer trained
here on a few dozen English sentences, so the model's `vocab_size` is the
tokenizer's. Weights are drawn far from transformers' own initialisation (and
the output bias made large) so that a wrong weight mapping changes the logits.
Input and output embeddings stay tied, as transformers ties them. With
`with_head=False` the base model (no MLM head; BERT and RoBERTa with a pooler)
is saved instead; its tensors equal the headed model's for the same seed.
The same arguments give the same files on every run.

`reference_logits(directory, token_ids)` reloads a checkpoint with transformers
and returns its masked-LM logits: the numerical reference for the Keras port.
"""

import collections
import json
import pathlib
import shutil
import string

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from torch import nn
from transformers import (
    AlbertConfig,
    AlbertTokenizer,
    AutoModel,
    AutoModelForMaskedLM,
    BertConfig,
    BertTokenizer,
    CamembertConfig,
    CamembertTokenizer,
    DistilBertConfig,
    DistilBertTokenizer,
    ElectraConfig,
    ModernBertConfig,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaTokenizer,
    XLMRobertaConfig,
    XLMRobertaTokenizer,
)

from mlmviz.sources.load import DEFAULT_MODEL

ARCHITECTURES = ("bert", "distilbert", "roberta", "xlm-roberta", "camembert", "albert", "electra",
                 "modernbert")

CORPUS = (
    "The cat sat on the mat.",
    "The dog ran across the park to catch the ball.",
    "She drinks a cup of coffee every morning before work.",
    "We walked to the shop to buy bread, milk and eggs.",
    "My brother plays football with his friends on Sunday.",
    "It rained all day, so the children stayed inside.",
    "He forgot his umbrella at the station again.",
    "Please close the window; it is cold in here.",
    "The train to London leaves at half past nine.",
    "They painted the kitchen a bright shade of yellow.",
    "I need to finish this report by Friday afternoon.",
    "Our neighbours are having a party tonight.",
    "The soup tastes better with a little salt and pepper.",
    "Can you help me carry these boxes upstairs?",
    "The baby finally fell asleep after her bath.",
    "We watched a funny film at the cinema last night.",
    "The library opens at ten and closes at six.",
    "He cooked pasta with tomatoes and fresh basil.",
    "The old man feeds the birds in the garden.",
    "She reads the newspaper on the bus to work.",
    "Don't forget to water the plants while I'm away.",
    "The teacher asked the students to open their books.",
    "My phone battery is almost empty.",
    "They are planning a trip to the mountains in summer.",
    "The shop on the corner sells fruit and vegetables.",
    "I usually go for a run in the evening.",
    "The car would not start this morning.",
    "We had sandwiches and apples for lunch.",
    "The doctor told him to rest for a week.",
    "She wrote a long letter to her grandmother.",
    "The kids built a snowman in the front yard.",
    "He listens to music while he cooks dinner.",
    "The meeting was moved to Thursday morning.",
    "There is a small cafe next to the river.",
    "The cat is sleeping on the warm sofa.",
    "I lost my keys somewhere in the house.",
    "The bus was late because of the heavy traffic.",
    "We cleaned the whole flat before our guests arrived.",
    "She bought a new pair of shoes for the wedding.",
    "The sun sets early in the winter months.",
)

# Special tokens in id order: 0, 1, 2, ...
_BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
_ALBERT_SPECIALS = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
_MODERNBERT_SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
# fairseq's first ids, as in xlm-roberta-base and camembert-base; "<mask>" comes last.
_XLM_ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
_CAMEMBERT_SPECIALS = ["<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>", "<unk>NOTUSED", "<s>", "</s>"]
_ALPHABET = string.ascii_lowercase + string.digits

_MAX_LENGTH = 40
_SIZES = dict(num_attention_heads=4, hidden_size=32, intermediate_size=37)


def make_checkpoint(architecture, directory, *, with_head=True, seed=0, layers=2):
    """Write a tiny `*ForMaskedLM` checkpoint, or without head its base model, into `directory`
    (`layers` encoder layers)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _make_tokenizer(architecture)
    tokenizer.model_max_length = _MAX_LENGTH
    config = _make_config(architecture, tokenizer, layers)
    model_class = AutoModelForMaskedLM if with_head else AutoModel
    model = model_class.from_config(config).eval()
    _randomise(model, seed)
    if with_head:
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def untie_bert(directory, seed=0):
    """Give a BERT checkpoint in `directory` its own random decoder matrix (untied head)."""
    directory = pathlib.Path(directory)
    tensors = load_file(directory / "model.safetensors")
    shape = tensors["bert.embeddings.word_embeddings.weight"].shape
    decoder = np.random.default_rng(seed).normal(size=shape).astype("float32")
    tensors["cls.predictions.decoder.weight"] = decoder
    tensors["cls.predictions.decoder.bias"] = tensors["cls.predictions.bias"]
    save_file(tensors, directory / "model.safetensors")
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "tie_word_embeddings": False}))
    return directory


def set_output_bias(directory, bias_of):
    """Replace the output bias of the BERT checkpoint in `directory` by `bias_of(vocabulary)`
    (the tokenizer's token -> id dict in, a `(vocab,)` array out)."""
    directory = pathlib.Path(directory)
    tensors = load_file(directory / "model.safetensors")
    vocabulary = json.loads((directory / "tokenizer.json").read_text())["model"]["vocab"]
    tensors["cls.predictions.bias"] = np.asarray(bias_of(vocabulary), dtype="float32")
    save_file(tensors, directory / "model.safetensors")
    return directory


def noisy_default(directory, seed=0):
    """A copy of the shipped default model in `directory` with noise in its last layer:
    the same tokenizer, other predictions (a model B to compare with)."""
    directory = pathlib.Path(shutil.copytree(DEFAULT_MODEL, directory))
    tensors = load_file(directory / "model.safetensors")
    name = "bert.encoder.layer.1.output.dense.weight"
    noise = np.random.default_rng(seed).normal(0, 0.05, tensors[name].shape).astype("float32")
    tensors[name] = tensors[name] + noise
    save_file(tensors, directory / "model.safetensors")
    return directory


def reference_logits(directory, token_ids):
    """Masked-LM logits (batch, seq, vocab) of transformers' model for int ids (batch, seq)."""
    model = AutoModelForMaskedLM.from_pretrained(directory).eval()
    ids = torch.as_tensor(np.asarray(token_ids), dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    return logits.numpy().astype(np.float32)


def _make_tokenizer(architecture):
    if architecture in ("bert", "distilbert", "electra"):
        tokenizer_class = DistilBertTokenizer if architecture == "distilbert" else BertTokenizer
        return tokenizer_class(vocab=_wordpiece_vocab(tokenizer_class().backend_tokenizer))
    if architecture == "roberta":
        return _roberta_tokenizer()
    if architecture == "albert":
        return _albert_tokenizer()
    if architecture == "modernbert":
        return _modernbert_tokenizer()
    if architecture in ("xlm-roberta", "camembert"):
        return _fairseq_tokenizer(architecture)
    raise ValueError(f"unknown architecture {architecture!r}; expected one of {ARCHITECTURES}")


def _wordpiece_vocab(backend):
    """Specials, characters (alone and as "##" continuations), then CORPUS's words by frequency.

    Built by counting: `WordPieceTrainer` learns a different vocabulary on each run.
    """
    split, normalise = backend.pre_tokenizer.pre_tokenize_str, backend.normalizer.normalize_str
    words = collections.Counter(word for line in CORPUS for word, _ in split(normalise(line)))
    characters = sorted(set(_ALPHABET).union(*words))
    continuations = [f"##{character}" for character in characters if character.isalnum()]
    pieces = [*_BERT_SPECIALS, *characters, *continuations]
    pieces += [word for word in sorted(words, key=lambda w: (-words[w], w)) if word not in pieces]
    return {piece: index for index, piece in enumerate(pieces)}


def _roberta_tokenizer():
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=_ROBERTA_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    trained = _train(RobertaTokenizer().backend_tokenizer, trainer)
    merges = [tuple(merge) for merge in trained["merges"]]
    # As in roberta-base, "<mask>" takes in the space before it.
    mask = AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)
    return RobertaTokenizer(vocab=trained["vocab"], merges=merges, mask_token=mask)


def _modernbert_tokenizer():
    """Byte-level BPE saved as it is (`PreTrainedTokenizerFast`), as ModernBERT-base's:
    `[CLS] $A [SEP]`, and a `[MASK]` that takes in the space before it."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=_MODERNBERT_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(CORPUS, trainer)
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    mask = AddedToken("[MASK]", lstrip=True, rstrip=False, special=True, normalized=False)
    backend.add_special_tokens([mask])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
        pad_token="[PAD]", mask_token=mask)


def _fairseq_tokenizer(architecture):
    """A unigram SentencePiece vocabulary in fairseq's order (specials first, "<mask>" last),
    as XLM-RoBERTa's and CamemBERT's tokenizers hold theirs."""
    tokenizer_class, specials = {
        "xlm-roberta": (XLMRobertaTokenizer, _XLM_ROBERTA_SPECIALS),
        "camembert": (CamembertTokenizer, _CAMEMBERT_SPECIALS),
    }[architecture]
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=specials, unk_token="<unk>")
    pieces = _train(tokenizer_class().backend_tokenizer, trainer)["vocab"]
    learned = sorted(((piece, round(score, 1)) for piece, score in pieces[len(specials):]),
                     key=lambda item: (-item[1], item[0]))  # reproducible, as for ALBERT
    vocabulary = [(piece, 0.0) for piece in specials] + learned + [("<mask>", 0.0)]
    return tokenizer_class(vocab=vocabulary)


def _albert_tokenizer():
    trainer = trainers.UnigramTrainer(
        vocab_size=300, special_tokens=_ALBERT_SPECIALS, unk_token="<unk>"
    )
    pieces = _train(AlbertTokenizer().backend_tokenizer, trainer)["vocab"]
    # The trainer hands its last scores (1e-4 apart, for rare characters) to pieces in a
    # different order on each run: coarse scores, ties sorted by name, make it reproducible.
    specials, learned = pieces[: len(_ALBERT_SPECIALS)], pieces[len(_ALBERT_SPECIALS) :]
    learned = [(piece, round(score, 1)) for piece, score in learned]
    learned.sort(key=lambda item: (-item[1], item[0]))
    return AlbertTokenizer(vocab=[tuple(piece) for piece in specials] + learned)


def _train(backend, trainer):
    """Train `backend`, with its own normaliser and pre-tokeniser, on CORPUS; return its model."""
    backend.train_from_iterator(CORPUS, trainer)
    return json.loads(backend.to_str())["model"]


def _make_config(architecture, tokenizer, layers):
    sizes = {**_SIZES, "num_hidden_layers": layers}
    common = dict(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        max_position_embeddings=_MAX_LENGTH,
    )
    if architecture == "bert":
        return BertConfig(**sizes, type_vocab_size=2, **common)
    if architecture == "distilbert":
        return DistilBertConfig(n_layers=layers, n_heads=4, dim=32, hidden_dim=37, **common)
    if architecture in ("roberta", "xlm-roberta", "camembert"):
        # Position ids start after the padding id, hence two more positions, as in roberta-base.
        common["max_position_embeddings"] += 2
        config_class = {"roberta": RobertaConfig, "xlm-roberta": XLMRobertaConfig,
                        "camembert": CamembertConfig}[architecture]
        return config_class(**sizes, type_vocab_size=1, layer_norm_eps=1e-5, **common)
    if architecture == "electra":  # a generator: embeddings smaller than the hidden states
        return ElectraConfig(**sizes, embedding_size=16, type_vocab_size=2, **common)
    if architecture == "modernbert":
        # A local window of 8 tokens (4 each side) and a global layer every second one,
        # so that test texts are longer than the window and both kinds of layer run.
        return ModernBertConfig(
            **sizes, local_attention=8, global_attn_every_n_layers=2, cls_token_id=1,
            sep_token_id=2, **common)
    return AlbertConfig(
        **sizes,
        embedding_size=16,
        num_hidden_groups=1,
        inner_group_num=1,
        type_vocab_size=2,
        **common,
    )


def _randomise(model, seed):
    """Redraw every parameter from a generator seeded with `seed`; tied tensors are drawn once."""
    generator = torch.Generator().manual_seed(seed)
    output_bias = getattr(model.get_output_embeddings(), "bias", None)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            owner_name, _, kind = name.rpartition(".")
            if parameter is output_bias:
                mean, std = 0.0, 0.5
            elif kind == "bias":
                mean, std = 0.0, 0.1
            elif isinstance(model.get_submodule(owner_name), nn.LayerNorm):
                mean, std = 1.0, 0.1
            else:
                mean, std = 0.0, 0.2
            parameter.normal_(mean, std, generator=generator)


# Checkpoints whose tokenizer files differ from what `make_checkpoint` writes, as found on
# the Hub: the tokenizer `transformers.AutoTokenizer` builds from them is the reference.
TOKENIZER_VARIANTS = (
    "bert-cased",  # tokenizer.json, tokenizer_config.json with do_lower_case false
    "bert-uncased-vocab",  # vocab.txt only, no tokenizer_config.json (as bert-base-uncased)
    "bert-cased-vocab",  # vocab.txt, tokenizer_config.json {"do_lower_case": false}
    "bert-config-lowercases",  # bert-cased without do_lower_case: transformers lowercases
    "albert-metaspace",  # tokenizer.json with a plain Metaspace pre-tokenizer (issue 15)
    "albert-spiece",  # spiece.model only, trained with sentencepiece
    "albert-as-saved",  # albert-metaspace with tokenizer_class PreTrainedTokenizerFast
    "roberta-prefix",  # tokenizer.json adds a prefix space, its tokenizer_config.json does not
    "roberta-added-tokens",  # tokenizer_config.json's added_tokens_decoder (as transformers 4
    # wrote it) strips the space before <mask>, tokenizer.json's <mask> does not
)


def make_tokenizer_variant(variant, directory, seed=0, layers=2):
    """Write a tiny masked-LM checkpoint whose tokenizer files are `variant`
    (one of TOKENIZER_VARIANTS) into `directory`."""
    directory = pathlib.Path(directory)
    architecture = variant.split("-")[0]
    if variant == "albert-spiece":
        tokenizer = _spiece_albert_tokenizer(directory)
    elif variant in ("bert-cased", "bert-cased-vocab", "bert-config-lowercases"):
        vocabulary = _wordpiece_vocab(BertTokenizer(do_lower_case=False).backend_tokenizer)
        tokenizer = BertTokenizer(vocab=vocabulary, do_lower_case=False)
    else:
        tokenizer = _make_tokenizer(architecture)
    tokenizer.model_max_length = _MAX_LENGTH
    model = AutoModelForMaskedLM.from_config(_make_config(architecture, tokenizer, layers)).eval()
    _randomise(model, seed)
    model.save_pretrained(directory)
    if variant != "albert-spiece":
        tokenizer.save_pretrained(directory)
    _VARIANT_EDITS.get(variant, lambda _: None)(directory)
    return directory


def _spiece_albert_tokenizer(directory):
    """Train a unigram `spiece.model` on CORPUS into `directory`; AutoTokenizer's view of it."""
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_writer=model, model_type="unigram",
        vocab_size=180, hard_vocab_limit=False, character_coverage=1.0, num_threads=1,
        pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        minloglevel=2,
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spiece.model").write_bytes(model.getvalue())
    return AlbertTokenizer.from_pretrained(directory)


def _vocab_only(directory, settings=None):
    vocabulary = json.loads((directory / "tokenizer.json").read_text())["model"]["vocab"]
    tokens = sorted(vocabulary, key=vocabulary.get)
    (directory / "vocab.txt").write_text("".join(f"{token}\n" for token in tokens))
    (directory / "tokenizer.json").unlink()
    (directory / "tokenizer_config.json").unlink()
    if settings is not None:
        (directory / "tokenizer_config.json").write_text(json.dumps(settings))


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))


def _plain_metaspace(data):
    data["pre_tokenizer"] = {
        "type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True,
    }


def _prefix_space(data):
    data["pre_tokenizer"]["add_prefix_space"] = True
    data["post_processor"]["add_prefix_space"] = True


def _added_tokens_decoder(directory):
    """Copy the added tokens into tokenizer_config.json; in tokenizer.json <mask> loses lstrip."""
    added = json.loads((directory / "tokenizer.json").read_text())["added_tokens"]
    declared = {str(token["id"]): {k: v for k, v in token.items() if k != "id"} for token in added}
    _edit_json(directory / "tokenizer_config.json",
               lambda data: data.update(added_tokens_decoder=declared))
    _edit_json(directory / "tokenizer.json", lambda data: data.update(
        added_tokens=[{**token, "lstrip": False} for token in added]
    ))


_VARIANT_EDITS = {
    "bert-uncased-vocab": lambda d: _vocab_only(d),
    "bert-cased-vocab": lambda d: _vocab_only(d, {"do_lower_case": False}),
    "bert-config-lowercases": lambda d: _edit_json(
        d / "tokenizer_config.json", lambda data: data.pop("do_lower_case")
    ),
    "albert-metaspace": lambda d: _edit_json(d / "tokenizer.json", _plain_metaspace),
    "albert-as-saved": lambda d: (
        _edit_json(d / "tokenizer.json", _plain_metaspace),
        _edit_json(d / "tokenizer_config.json",
                   lambda data: data.update(tokenizer_class="PreTrainedTokenizerFast")),
    ),
    "roberta-prefix": lambda d: (
        _edit_json(d / "tokenizer.json", _prefix_space),
        _edit_json(d / "tokenizer_config.json", lambda data: data.pop("add_prefix_space")),
    ),
    "roberta-added-tokens": _added_tokens_decoder,
}
