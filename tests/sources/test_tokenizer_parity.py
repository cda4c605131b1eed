"""mlmviz tokenizes Hugging Face checkpoints exactly as `transformers.AutoTokenizer`.

`AutoTokenizer.from_pretrained(DIR)` is what `pipeline("fill-mask")` uses and
what the model was trained with. The checkpoints: the tiny BERT, DistilBERT,
RoBERTa and ALBERT of `make_checkpoint`, and those of
`make_tokenizer_variant`, whose tokenizer files are the ones found on the Hub
(vocab.txt only, spiece.model only, a tokenizer.json that says something
other than the tokenizer class builds).
"""

import functools
import json
import pathlib
import shutil
import string

import numpy as np
import pytest
import transformers
from hf_checkpoints import (
    ARCHITECTURES,
    CORPUS,
    TOKENIZER_VARIANTS,
    make_checkpoint,
    make_tokenizer_variant,
)
from hypothesis import example, given
from hypothesis import strategies as st
from transformers import AutoTokenizer

import mlmviz
from mlmviz.sources.checkpoints import CheckpointError
from mlmviz.tokenization import Tokenizer

CHECKPOINTS = (*ARCHITECTURES, *TOKENIZER_VARIANTS)
MAX_LENGTH = 40  # the tiny checkpoints' position count
MASK = "{mask}"  # stands for the checkpoint's own mask token in the texts below

# Pieces the generated texts are made of: words as written (capitals included),
# punctuation, masks, special tokens typed by the user, Unicode a normalizer
# changes (accents, ligatures, full-width, combining marks), characters no
# vocabulary has, and whitespace runs.
_WORDS = sorted({word for line in CORPUS for word in line.split()})
_PIECES = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from([MASK, MASK, f"{MASK}.", f",{MASK}", f"{MASK}{MASK}"]),
    st.sampled_from(list(",.;:!?'\"()-``''")),
    st.sampled_from(["[CLS]", "[SEP]", "[PAD]", "[UNK]", "<s>", "</s>", "<pad>", "<unk>"]),
    st.sampled_from(["Héllo", "naïve", "CAFÉ", "e\u0301", "ﬁne", "½", "Ｔｈｅ", "東京", "😀",
                     "straße", "İstanbul", "\u200b", "Ω"]),
    st.text(string.ascii_letters + "éüñç", min_size=1, max_size=8),
)
_SPACES = st.sampled_from(["", " ", " ", " ", "  ", "   ", "\t", "\n", "\u00a0", "\u3000", " \n "])
TEXTS = st.lists(st.tuples(_SPACES, _PIECES), min_size=1, max_size=30).map(
    lambda parts: "".join(space + piece for space, piece in parts)
)
# Found on ALBERT (issue 15) and RoBERTa checkpoints: one example each always runs.
_EXAMPLES = (
    "she was very {mask} .",
    "the  cat sat",
    "{mask} the cat , {mask}{mask} !",
    "  [CLS] the cat [SEP]  {mask}\t",
    "Héllo Wörld ½ ﬁne 東京 naïve ``quoted'' café {mask}",
    "the dog ran " * 20 + "{mask}",
)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Every checkpoint's folder, built once."""
    root = tmp_path_factory.mktemp("parity")
    folders = {name: make_checkpoint(name, root / name) for name in ARCHITECTURES}
    folders.update({name: make_tokenizer_variant(name, root / name) for name in TOKENIZER_VARIANTS})
    return folders


@pytest.fixture(scope="module")
def tokenizers(checkpoints):
    """(mlmviz's Tokenizer, AutoTokenizer) of a checkpoint, each loaded once."""
    transformers.logging.set_verbosity_error()

    @functools.cache
    def load(name):
        folder = checkpoints[name]
        return Tokenizer.from_directory(folder, MAX_LENGTH), AutoTokenizer.from_pretrained(folder)

    return load


def _reference(auto, text):
    """What mlmviz's `Encoding` holds, as AutoTokenizer tokenizes `text`."""
    encoding = auto(text, truncation=True, max_length=MAX_LENGTH, return_offsets_mapping=True,
                    return_special_tokens_mask=True)
    ids = tuple(encoding["input_ids"])
    return {
        "ids": ids,
        "offsets": tuple(map(tuple, encoding["offset_mapping"])),
        "special": tuple(map(bool, encoding["special_tokens_mask"])),
        "masks": tuple(i for i, token_id in enumerate(ids) if token_id == auto.mask_token_id),
        "truncated": len(auto(text)["input_ids"]) > MAX_LENGTH,
    }


def _mine(tokenizer, text):
    encoding = tokenizer.encode(text)
    return {
        "ids": encoding.ids,
        "offsets": encoding.offsets,
        "special": encoding.special,
        "masks": tuple(i for i, token_id in enumerate(encoding.ids)
                       if token_id == tokenizer.mask_id),
        "truncated": encoding.truncated,
    }


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_special_tokens_are_autotokenizers(tokenizers, name):
    mine, auto = tokenizers(name)
    assert mine.mask_token == auto.mask_token
    assert mine.mask_id == auto.mask_token_id
    assert {token: mine.special_tokens[token] for token in auto.all_special_tokens} == dict(
        zip(auto.all_special_tokens, auto.all_special_ids)
    )


@pytest.mark.parametrize("name", CHECKPOINTS)
@given(text=TEXTS)
@example(text=_EXAMPLES[0])
@example(text=_EXAMPLES[1])
@example(text=_EXAMPLES[2])
@example(text=_EXAMPLES[3])
@example(text=_EXAMPLES[4])
@example(text=_EXAMPLES[5])
def test_encoding_is_autotokenizers(tokenizers, name, text):
    """Ids, offsets, special-token mask, mask positions and truncation all equal."""
    mine, auto = tokenizers(name)
    text = text.replace(MASK, mine.mask_token)
    assert _mine(mine, text) == _reference(auto, text), auto.convert_ids_to_tokens(
        _reference(auto, text)["ids"]
    )


# Texts within the length limit (the pipeline does not truncate): issue 15's, and one
# with a whitespace run, capitals, a typed special token and masks in a row.
PIPELINE_TEXTS = ("she was very {mask} .", "{mask}  Cat [SEP] sat on the {mask} , {mask}{mask} !")
# Each architecture, each tokenizer file, and where mlmviz put masks elsewhere before.
PIPELINE_CHECKPOINTS = (*ARCHITECTURES, "bert-cased-vocab", "albert-spiece", "albert-metaspace",
                        "roberta-added-tokens")


@pytest.mark.parametrize("name", PIPELINE_CHECKPOINTS)
def test_fill_mask_is_the_pipelines(checkpoints, name):
    """mlmviz's top 5 at each mask are `pipeline("fill-mask")`'s, probabilities to 1e-5."""
    model = mlmviz.load(checkpoints[name])
    pipeline = transformers.pipeline("fill-mask", model=str(checkpoints[name]), top_k=5)
    for text in PIPELINE_TEXTS:
        text = text.replace(MASK, model.tokenizer.mask_token)
        theirs = pipeline(text)
        theirs = theirs if isinstance(theirs[0], list) else [theirs]  # one list per mask
        ours = model.fill_mask(text, top_k=5)["masks"]
        assert len(ours) == len(theirs), text
        for mask, predictions in zip(ours, theirs):
            assert [p["token_id"] for p in mask["predictions"]] == [p["token"] for p in predictions]
            np.testing.assert_allclose(
                [p["probability"] for p in mask["predictions"]],
                [p["score"] for p in predictions],
                atol=1e-5, rtol=0,
            )


def _copy(folder, tmp_path):
    return pathlib.Path(shutil.copytree(folder, tmp_path / folder.name))


def test_a_spiece_model_linked_out_of_the_checkpoint_is_refused(checkpoints, tmp_path):
    directory = _copy(checkpoints["albert-spiece"], tmp_path)
    outside = tmp_path / "spiece.model"
    shutil.move(directory / "spiece.model", outside)
    (directory / "spiece.model").symlink_to(outside)
    with pytest.raises(CheckpointError, match="is a link to .* outside the checkpoint folder"):
        mlmviz.load(directory)


def test_a_spiece_model_that_is_not_one_says_so(checkpoints, tmp_path):
    directory = _copy(checkpoints["albert-spiece"], tmp_path)
    (directory / "spiece.model").write_bytes(b"\xff not a protobuf")
    with pytest.raises(CheckpointError, match="spiece.model is not a SentencePiece model"):
        Tokenizer.from_directory(directory, MAX_LENGTH)


def test_a_tokenizer_class_mlmviz_cannot_reproduce_is_named(checkpoints, tmp_path):
    directory = _copy(checkpoints["bert"], tmp_path)
    settings = json.loads((directory / "tokenizer_config.json").read_text())
    settings["tokenizer_class"] = "DebertaV2TokenizerFast"
    (directory / "tokenizer_config.json").write_text(json.dumps(settings))
    with pytest.raises(CheckpointError, match="cannot reproduce the tokenizer class 'DebertaV2Tokenizer'"):
        Tokenizer.from_directory(directory, MAX_LENGTH)


@pytest.mark.parametrize("name", ["tokenizer_config.json", "tokenizer.json", "config.json"])
def test_a_tokenizer_file_that_is_not_json_says_so(checkpoints, tmp_path, name):
    directory = _copy(checkpoints["bert"], tmp_path)
    (directory / name).write_text("{not json")
    with pytest.raises(CheckpointError, match=f"{name} is not valid JSON"):
        Tokenizer.from_directory(directory, MAX_LENGTH)


def test_vocab_txt_lines_are_read_as_transformers_reads_them(checkpoints, tmp_path):
    """Windows line ends and trailing spaces are dropped, a lone carriage return stays."""
    directory = _copy(checkpoints["bert-uncased-vocab"], tmp_path)
    lines = (directory / "vocab.txt").read_text().split("\n")[:-1]
    lines[60], lines[61] = lines[60] + " ", "a\rb"
    (directory / "vocab.txt").write_bytes("\r\n".join(lines).encode() + b"\r\n")
    mine = Tokenizer.from_directory(directory, MAX_LENGTH)
    auto = AutoTokenizer.from_pretrained(directory)
    assert mine._tokenizer.get_vocab() == auto.backend_tokenizer.get_vocab()
    assert mine.encode("a\rb the cat").ids == tuple(auto("a\rb the cat")["input_ids"])


def test_a_tokenizer_json_without_its_vocabulary_says_so(checkpoints, tmp_path):
    directory = _copy(checkpoints["albert"], tmp_path)
    saved = json.loads((directory / "tokenizer.json").read_text())
    del saved["model"]["vocab"]
    (directory / "tokenizer.json").write_text(json.dumps(saved))
    message = r"tokenizer.json is not a complete albert tokenizer \(KeyError: 'vocab'\)"
    with pytest.raises(CheckpointError, match=message):
        Tokenizer.from_directory(directory, MAX_LENGTH)
