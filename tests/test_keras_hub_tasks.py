"""keras-hub MaskedLM tasks as `.keras` files and preset directories."""

import numpy as np
import pytest
import keras
import keras_hub

import mlmviz
from mlmviz.checkpoints import CheckpointError

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on",
              "mat", "a", "dog", "ran", "to", "park", "."]


@pytest.fixture(scope="module")
def task():
    keras.utils.set_random_seed(3)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY)
    preprocessor = keras_hub.models.BertMaskedLMPreprocessor(tokenizer, sequence_length=16)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY), num_layers=2, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=16,
    )
    task = keras_hub.models.BertMaskedLM(backbone, preprocessor)
    rng = np.random.default_rng(0)
    for weight in task.masked_lm_head.weights:  # a "trained" head: nothing at its initial value
        weight.assign(rng.normal(size=weight.shape, scale=0.5).astype("float32") + np.asarray(weight))
    return task


@pytest.fixture(scope="module")
def files(task, tmp_path_factory):
    root = tmp_path_factory.mktemp("keras_hub")
    task.save(root / "task.keras")
    task.save_to_preset(root / "preset")
    return root


def _task_logits(task, masked):
    ids = np.array([masked.ids], dtype="int32")
    inputs = {
        "token_ids": ids, "padding_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids),
        "mask_positions": np.array([masked.positions], dtype="int32"),
    }
    return keras.ops.convert_to_numpy(task(inputs))[0]


@pytest.mark.parametrize("name", ["task.keras", "preset"])
def test_matches_the_tasks_own_output(task, files, name):
    model = mlmviz.load(files / name)
    masked = model.mask("the [MASK] sat on the [MASK] .")
    assert masked.positions == (2, 6)
    np.testing.assert_allclose(model.stages(masked)["logits"][0], _task_logits(task, masked), atol=1e-5)
    assert model.head_check.trained
    assert model.metadata["architecture"] == "BertMaskedLM"
    assert model.head is not task.masked_lm_head


def test_tokenization_matches_keras_hub(task, files):
    model = mlmviz.load(files / "preset")
    ids = keras.ops.convert_to_numpy(task.preprocessor.tokenizer("the cat sat on the mat ."))
    assert list(model.tokenizer.encode("the cat sat on the mat .").ids[1:-1]) == list(ids)


def test_preset_without_task_weights_has_an_untrained_head(files, tmp_path):
    preset = tmp_path / "preset"
    preset.mkdir()
    for file in (files / "preset").rglob("*"):
        if file.is_file() and file.name not in ("task.json", "task.weights.h5"):
            target = preset / file.relative_to(files / "preset")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
    model = mlmviz.load(preset)
    assert not model.head_check.trained
    assert "freshly initialised" in model.head_check.message


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
