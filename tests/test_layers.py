"""MaskedLMHead: Keras contract, keras-hub parity, numpy parity, stages, validation."""

import doctest
import math

import keras
import keras_hub
import numpy as np
import pytest

import mlmviz
from layer_harness import run_layer_test
from mlmviz.layers import STAGE_NAMES, MaskedLMHead

pytestmark = pytest.mark.backends

RNG = np.random.default_rng(0)
VOCAB, HIDDEN, SEQ = 37, 16, 9
INPUTS = RNG.normal(size=(3, SEQ, HIDDEN)).astype("float32")
POSITIONS = np.array([[0, 4], [8, 1], [3, 3]], dtype="int32")


def _head(tied, dtype=None, embedding_dim=HIDDEN, embedding_cls=None, **kwargs):
    if not tied:
        return MaskedLMHead(vocabulary_size=VOCAB, dtype=dtype, **kwargs)
    embedding_cls = embedding_cls or keras.layers.ReversibleEmbedding
    embedding = embedding_cls(VOCAB, embedding_dim, dtype=dtype)
    return MaskedLMHead(token_embedding=embedding, dtype=dtype, **kwargs)


@pytest.mark.parametrize(
    "tied, embedding_dim, embedding_cls",
    [
        (False, HIDDEN, None),
        (True, HIDDEN, keras.layers.ReversibleEmbedding),
        (True, HIDDEN, keras_hub.layers.ReversibleEmbedding),
        (True, 4, keras.layers.ReversibleEmbedding),  # ALBERT: embedding < hidden
    ],
    ids=["untied", "tied", "tied-keras-hub-embedding", "tied-factorised"],
)
def test_layer_harness(tied, embedding_dim, embedding_cls, tmp_path):
    def make_layer(dtype=None):
        return _head(
            tied,
            dtype,
            embedding_dim,
            embedding_cls,
            intermediate_activation="gelu",
        )

    run_layer_test(
        make_layer,
        INPUTS,
        POSITIONS,
        expected_shape=(3, 2, VOCAB),
        trainable_weights=6,
        tmp_path=tmp_path,
    )


def test_needs_vocabulary_size_or_embedding():
    with pytest.raises(ValueError, match="vocabulary_size=None, token_embedding=None"):
        MaskedLMHead()


def test_vocabulary_size_must_match_embedding():
    embedding = keras.layers.ReversibleEmbedding(VOCAB, HIDDEN)
    with pytest.raises(ValueError, match=f"vocabulary_size=5.*input_dim={VOCAB}"):
        MaskedLMHead(vocabulary_size=5, token_embedding=embedding)
    head = MaskedLMHead(token_embedding=embedding)
    assert head.vocabulary_size == VOCAB


# ---------------------------------------------------------------- keras-hub


def _twin_heads(tied, embedding_dim=HIDDEN, **kwargs):
    """Our head and keras-hub's with identical weights (and embedding)."""
    embedding = None
    if tied:
        embedding = keras.layers.ReversibleEmbedding(VOCAB, embedding_dim)
        kwargs["token_embedding"] = embedding
    else:
        kwargs["vocabulary_size"] = VOCAB
    ours = MaskedLMHead(**kwargs)
    theirs = keras_hub.layers.MaskedLMHead(**kwargs)
    ours.build(INPUTS.shape)
    theirs.build(INPUTS.shape)
    theirs_by_name = {_local(w): w for w in theirs.weights}
    for weight in ours.weights:
        values = RNG.normal(size=weight.shape).astype("float32")
        weight.assign(values)
        theirs_by_name[_local(weight)].assign(values)
    return ours, theirs


def _numpy(tensor):
    """A backend tensor as numpy (a PyTorch tensor that needs grad included)."""
    return keras.ops.convert_to_numpy(tensor)


def _local(weight):
    return weight.path.split("/", 1)[1]


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
def test_weight_names_and_config_match_keras_hub(tied):
    ours, theirs = _twin_heads(tied, intermediate_activation="gelu")
    assert [_local(w) for w in ours.weights] == [_local(w) for w in theirs.weights]
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert ours_config.keys() == theirs_config.keys()
    for key in ours_config.keys() - {"name"}:
        assert ours_config[key] == theirs_config[key], key


@pytest.mark.parametrize(
    "tied, embedding_dim, activation",
    [
        (False, HIDDEN, "relu"),
        (False, HIDDEN, "gelu"),
        (True, HIDDEN, "gelu"),
        (True, 4, "silu"),
    ],
)
@pytest.mark.parametrize("masks", [1, 3, 7])
def test_matches_keras_hub(tied, embedding_dim, activation, masks):
    ours, theirs = _twin_heads(
        tied,
        embedding_dim,
        intermediate_activation=activation,
        layer_norm_epsilon=1e-12,
    )
    positions = RNG.integers(0, SEQ, size=(INPUTS.shape[0], masks)).astype("int32")
    expected = keras.ops.convert_to_numpy(theirs(INPUTS, positions))
    actual = keras.ops.convert_to_numpy(ours(INPUTS, positions))
    assert actual.shape == (INPUTS.shape[0], masks, VOCAB)
    assert np.max(np.abs(actual - expected)) <= 1e-6


def test_matches_keras_hub_with_softmax_activation():
    ours, theirs = _twin_heads(True, activation="softmax")
    np.testing.assert_allclose(_numpy(ours(INPUTS, POSITIONS)), _numpy(theirs(INPUTS, POSITIONS)),
                               atol=1e-7)


# ---------------------------------------------------------------- numpy


def _numpy_head(head, inputs, positions, activation):
    """The head's formula in plain numpy, float64."""
    weights = {_local(w): np.asarray(w, dtype="float64") for w in head.weights}
    batch = np.arange(inputs.shape[0])[:, None]
    x = inputs.astype("float64")[batch, positions]  # (b, m, hidden)
    x = x @ weights["intermediate_dense/kernel"] + weights["intermediate_dense/bias"]
    x = activation(x)
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    x = (x - mean) / np.sqrt(var + head.layer_norm_epsilon)
    x = x * weights["intermediate_layer_norm/gamma"] + weights["intermediate_layer_norm/beta"]
    if head.token_embedding is not None:
        kernel = np.asarray(head.token_embedding.embeddings, dtype="float64").T
    else:
        kernel = weights["output_kernel"]
    return x @ kernel + weights["output_bias"]


_erf = np.vectorize(math.erf)
NUMPY_ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),  # keras: exact
}


@pytest.mark.parametrize("activation", sorted(NUMPY_ACTIVATIONS))
@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
def test_matches_numpy(tied, activation):
    head, _ = _twin_heads(tied, intermediate_activation=activation, layer_norm_epsilon=1e-12)
    expected = _numpy_head(head, INPUTS, POSITIONS, NUMPY_ACTIVATIONS[activation])
    assert np.max(np.abs(keras.ops.convert_to_numpy(head(INPUTS, POSITIONS)) - expected)) <= 1e-5


# ---------------------------------------------------------------- stages


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
def test_stages_are_the_forward_pass(tied):
    head, _ = _twin_heads(tied, intermediate_activation="gelu")
    stages = head.stages(INPUTS, POSITIONS)
    assert tuple(stages) == STAGE_NAMES
    assert all(v.dtype == np.float32 for v in stages.values())
    np.testing.assert_array_equal(stages["logits"], _numpy(head(INPUTS, POSITIONS)))
    batch = np.arange(INPUTS.shape[0])[:, None]
    np.testing.assert_array_equal(stages["gathered"], INPUTS[batch, POSITIONS])
    np.testing.assert_allclose(
        stages["activated"], _numpy(keras.activations.gelu(stages["dense"])), atol=1e-6
    )
    normed = stages["normed"]
    np.testing.assert_allclose(
        stages["context_logits"] + stages["bias"], stages["logits"], atol=1e-5
    )
    assert stages["bias"].shape == (VOCAB,)
    assert normed.shape == (3, 2, HIDDEN)


def test_stages_builds_an_unbuilt_head():
    head = _head(tied=False)
    stages = head.stages(INPUTS, POSITIONS)
    assert stages["logits"].shape == (3, 2, VOCAB)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16", "bfloat16"])
def test_stages_are_float32_under_reduced_precision(policy):
    head = _head(tied=True, dtype=policy)
    logits = head(INPUTS, POSITIONS)
    stages = head.stages(INPUTS, POSITIONS)
    assert all(v.dtype == np.float32 for v in stages.values())
    expected = keras.ops.convert_to_numpy(keras.ops.cast(logits, "float32"))
    np.testing.assert_array_equal(stages["logits"], expected)


# ---------------------------------------------------------------- positions


def test_mask_count_may_change_between_calls():
    head = _head(tied=True)
    tokens = keras.Input(shape=(None,), dtype="int32")
    positions = keras.Input(shape=(None,), dtype="int32")
    hidden = head.token_embedding(tokens)
    model = keras.Model([tokens, positions], head(hidden, positions))
    token_ids = RNG.integers(0, VOCAB, size=(2, SEQ))
    for masks in (1, 4, 2):
        index = RNG.integers(0, SEQ, size=(2, masks))
        assert model.predict([token_ids, index], verbose=0).shape == (2, masks, VOCAB)
        assert model([token_ids, index]).shape == (2, masks, VOCAB)


def test_repeated_positions_give_identical_rows():
    head = _head(tied=False)
    stages = head.stages(INPUTS, np.array([[2, 2]] * 3))
    np.testing.assert_array_equal(stages["gathered"][:, 0], stages["gathered"][:, 1])
    # PyTorch's CPU matmul may round two equal rows of one product differently
    np.testing.assert_allclose(stages["logits"][:, 0], stages["logits"][:, 1], rtol=1e-6)


BAD_POSITIONS = {
    "negative": (np.array([[0, -1]] * 3), r"\[0, 9\)\. Received -1 at \[0, 1\]"),
    "too large": (np.array([[0, 1], [9, 2], [0, 0]]), r"\[0, 9\)\. Received 9 at \[1, 0\]"),
    "rank 1": (np.array([1, 2, 3]), r"must be 2-D.*Received shape \(3,\)"),
    "rank 3": (np.zeros((3, 2, 1), "int32"), r"must be 2-D.*Received shape \(3, 2, 1\)"),
    "float": (np.array([[1.0, 2.0]] * 3), "must be integers. Received dtype float"),
    "batch": (np.array([[1, 2]] * 2), "Received 2 rows for a batch of 3"),
}


@pytest.mark.parametrize("case", sorted(BAD_POSITIONS))
def test_invalid_positions_raise_clear_errors(case):
    positions, message = BAD_POSITIONS[case]
    head = _head(tied=True)
    with pytest.raises(ValueError, match=message):
        head(INPUTS, positions)
    with pytest.raises(ValueError, match=message):
        head.stages(INPUTS, positions)
    with pytest.raises(ValueError, match=message):
        mlmviz.check_mask_positions(positions, INPUTS)


def test_last_position_is_valid():
    head = _head(tied=True)
    assert head(INPUTS, np.full((3, 1), SEQ - 1)).shape == (3, 1, VOCAB)


# ---------------------------------------------------------------- saving


def test_tie_survives_keras_save(tmp_path):
    tokens = keras.Input(shape=(None,), dtype="int32")
    positions = keras.Input(shape=(None,), dtype="int32")
    embedding = keras.layers.ReversibleEmbedding(VOCAB, HIDDEN, name="token_embedding")
    head = MaskedLMHead(token_embedding=embedding, name="mlm_head")
    model = keras.Model([tokens, positions], head(embedding(tokens), positions))
    token_ids = RNG.integers(0, VOCAB, size=(2, SEQ))
    index = np.array([[1, 5], [0, 8]])
    model.save(tmp_path / "tied.keras")
    restored = keras.saving.load_model(tmp_path / "tied.keras", safe_mode=True)
    restored_head = restored.get_layer("mlm_head")
    assert isinstance(restored_head, MaskedLMHead)
    assert restored_head.token_embedding is restored.get_layer("token_embedding")
    np.testing.assert_array_equal(_numpy(restored([token_ids, index])),
                                  _numpy(model([token_ids, index])))


def test_registered_under_mlmviz_package():
    assert keras.saving.get_registered_name(MaskedLMHead) == "mlmviz>MaskedLMHead"
    assert keras.saving.get_registered_object("mlmviz>MaskedLMHead") is MaskedLMHead


def test_docstring_example_runs():
    results = doctest.testmod(mlmviz.layers, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0
