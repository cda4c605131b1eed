"""keras-hub MaskedLM tasks as `.keras` files and preset directories."""

import io
import json
import shutil
from pathlib import Path

import keras
import keras_hub
import numpy as np
import pytest
import sentencepiece

import mlmviz
from hf_checkpoints import CORPUS, make_checkpoint
from mlmviz.sources.checkpoints import CheckpointError

pytestmark = pytest.mark.backends

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "park", "."]
TEXTS = {
    "bert": "the [MASK] sat on the [MASK] .",
    "distilbert": "the [MASK] sat on the [MASK] .",
    "roberta": "the<mask> sat on the<mask>.",
    "albert": "the [MASK] sat on the [MASK] .",
}


def _bert_parts():
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    )
    return tokenizer, keras_hub.models.BertMaskedLMPreprocessor, keras_hub.models.BertBackbone, \
        keras_hub.models.BertMaskedLM, {}


def _distilbert_parts():
    tokenizer = keras_hub.models.DistilBertTokenizer(
        vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    )
    return tokenizer, keras_hub.models.DistilBertMaskedLMPreprocessor, \
        keras_hub.models.DistilBertBackbone, keras_hub.models.DistilBertMaskedLM, {}


def _roberta_parts(tmp_path):
    spec = json.loads((make_checkpoint("roberta", tmp_path / "hf") / "tokenizer.json").read_text())
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    tokenizer = keras_hub.models.RobertaTokenizer(vocabulary=spec["model"]["vocab"], merges=merges)
    return tokenizer, keras_hub.models.RobertaMaskedLMPreprocessor, \
        keras_hub.models.RobertaBackbone, keras_hub.models.RobertaMaskedLM, {}


def _albert_parts():
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_writer=model, vocab_size=120,
        model_type="unigram", pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"],
    )
    tokenizer = keras_hub.models.AlbertTokenizer(proto=model.getvalue())
    extra = {"embedding_dim": 4, "num_groups": 1, "num_inner_repetitions": 1}
    return tokenizer, keras_hub.models.AlbertMaskedLMPreprocessor, \
        keras_hub.models.AlbertBackbone, keras_hub.models.AlbertMaskedLM, extra


def _build_task(arch, tmp_path):
    keras.utils.set_random_seed(3)
    parts = {"bert": _bert_parts, "distilbert": _distilbert_parts, "albert": _albert_parts}.get(arch)
    tokenizer, preprocessor, backbone, task, extra = parts() if parts else _roberta_parts(tmp_path)
    backbone = backbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=2, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=32, **extra,
    )
    task = task(backbone, preprocessor(tokenizer, sequence_length=32))
    rng = np.random.default_rng(0)
    for weight in task.masked_lm_head.weights:  # a "trained" head: nothing at its initial value
        weight.assign(rng.normal(size=weight.shape, scale=0.5).astype("float32") + np.asarray(weight))
    return task


@pytest.fixture(scope="module", params=sorted(TEXTS))
def saved(request, tmp_path_factory):
    """(architecture, task, folder holding task.keras and preset/)."""
    root = tmp_path_factory.mktemp(request.param)
    task = _build_task(request.param, root)
    task.save(root / "task.keras")
    task.save_to_preset(root / "preset")
    return request.param, task, root


def _task_logits(task, masked):
    ids = np.array([masked.ids], dtype="int32")
    inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)}
    inputs = {name: inputs[name] for name in task.backbone.input}
    inputs["mask_positions"] = np.array([masked.positions], dtype="int32")
    return keras.ops.convert_to_numpy(task(inputs))[0]


@pytest.mark.parametrize("name", ["task.keras", "preset"])
def test_matches_the_tasks_own_output(saved, name):
    arch, task, root = saved
    model = mlmviz.load(root / name)
    masked = model.mask(TEXTS[arch])
    assert len(masked.positions) == 2
    np.testing.assert_allclose(model.stages(masked)["logits"][0], _task_logits(task, masked), atol=1e-5)
    assert model.head_check.trained
    assert model.metadata["architecture"] == type(task).__name__
    assert model.head is not task.masked_lm_head


def test_tokenization_matches_keras_hub(saved):
    _, task, root = saved
    model = mlmviz.load(root / "preset")
    for text in ("the cat sat on the mat .", "a dog ran to the park ."):
        ids = keras.ops.convert_to_numpy(task.preprocessor.tokenizer(text))
        assert list(model.tokenizer.encode(text).ids[1:-1]) == list(ids)


def test_preset_without_task_weights_has_an_untrained_head(saved, tmp_path):
    _, _, root = saved
    preset = tmp_path / "preset"
    for file in (root / "preset").rglob("*"):
        if file.is_file() and file.name not in ("task.json", "task.weights.h5"):
            target = preset / file.relative_to(root / "preset")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
    model = mlmviz.load(preset)
    assert not model.head_check.trained
    assert "freshly initialised" in model.head_check.message


def test_a_link_out_of_a_preset_is_refused_with_its_full_path(saved, tmp_path):
    _, _, root = saved
    preset = Path(shutil.copytree(root / "preset", tmp_path / "preset"))
    asset = next(path for path in sorted((preset / "assets").rglob("*")) if path.is_file())
    asset.unlink()
    asset.symlink_to("/etc/passwd")
    with pytest.raises(CheckpointError) as error:
        mlmviz.load(preset)
    assert str(error.value).startswith(f"{asset} is a link to /etc/passwd, outside the checkpoint")


def test_keras_file_with_a_lambda_layer_is_refused(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(CheckpointError, match="lambda.keras could not be loaded.*safe_mode"):
        mlmviz.load(tmp_path / "lambda.keras")


def test_keras_file_that_is_not_a_masked_lm_is_refused(tmp_path):
    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "dense.keras")
    with pytest.raises(CheckpointError, match="holds a Functional, not a keras-hub MaskedLM"):
        mlmviz.load(tmp_path / "dense.keras")


def test_broken_keras_file_is_refused(tmp_path):
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match="broken.keras could not be loaded"):
        mlmviz.load(tmp_path / "broken.keras")
