"""The compiled fill-mask path equals the eager head plus numpy, within float32 rounding."""

import keras
import numpy as np
import pytest

import mlmviz
from hf_checkpoints import make_checkpoint
from mlmviz.compiled import CANDIDATES, MaskScores, Readout, bucket
from mlmviz.distributions import entropy, rank, softmax

pytestmark = pytest.mark.backends


def _eager(model, text, positions, temperature):
    """Probabilities and logits `(masks, vocab)` from the eager head."""
    masked = model.mask(text, positions)
    logits = model.stages(masked)["logits"][0]
    return masked, logits, softmax(logits, temperature)


def _assert_matches_eager(model, text, positions=(), top_k=5, temperature=1.0, targets=()):
    result = model.fill_mask(text, top_k=top_k, temperature=temperature, positions=positions,
                             targets=targets)
    masked, logits, probabilities = _eager(model, text, positions, temperature)
    assert [m["position"] for m in result["masks"]] == list(masked.positions)
    for mask, row, p in zip(result["masks"], logits, probabilities):
        ids = [q["token_id"] for q in mask["predictions"]]
        assert ids == np.argsort(-p, kind="stable")[:top_k].tolist()
        np.testing.assert_allclose([q["probability"] for q in mask["predictions"]], p[ids],
                                   rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose([q["logit"] for q in mask["predictions"]], row[ids], atol=1e-4)
        assert mask["entropy"] == pytest.approx(float(entropy(p)), abs=1e-4)
        original = masked.encoding.ids[mask["position"]]
        if mask["original_rank"] is not None:
            assert mask["original_rank"] == rank(p, original)
            assert mask["original_probability"] == pytest.approx(p[original], rel=1e-4, abs=1e-9)
        for target in mask["targets"]:
            assert target["rank"] == rank(p, target["token_id"])
            assert target["probability"] == pytest.approx(p[target["token_id"]], rel=1e-4, abs=1e-9)
    return result


@pytest.mark.parametrize(
    "text, positions, top_k, temperature, targets",
    [
        ("he opened the [MASK] and walked into the room.", (), 5, 1.0, ("door", "window")),
        ("the [MASK] barked at the [MASK] all night.", (7,), 1, 0.5, ()),
        ("we walked " * 12 + "to the [MASK] .", (1, 4, 9, 14), 20, 2.5, ("park",)),
        ("[MASK] " + "word " * 40, (), 40, 1.0, ()),  # more than the read-out's 32
        ("[MASK] " + "word " * 600, (3,), 5, 1.0, ()),  # cut at the model's limit
    ],
)
def test_default_model_matches_the_eager_head(default_model, text, positions, top_k, temperature,
                                              targets):
    _assert_matches_eager(default_model, text, positions, top_k, temperature, targets)


@pytest.mark.parametrize("architecture", ["distilbert", "roberta", "albert"])
def test_other_architectures_match_the_eager_head(architecture, tmp_path):
    model = mlmviz.load(make_checkpoint(architecture, tmp_path / architecture))
    mask = model.tokenizer.mask_token
    _assert_matches_eager(model, f"the {mask} sat on the {mask} .", top_k=6, temperature=0.8)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="counts tf.function traces")
def test_after_warm_up_new_lengths_and_mask_counts_need_no_tracing(default_model):
    default_model.warm_up()
    compiled = default_model._predictor._models[CANDIDATES].predict_function
    traced = compiled.experimental_get_tracing_count()
    for words in range(1, 40, 3):  # 14 lengths, 1 to 3 masks
        default_model.fill_mask("a " * words + "[MASK] ." * (1 + words % 3), top_k=3)
    assert compiled.experimental_get_tracing_count() == traced


def test_buckets_are_powers_of_two_within_limits():
    assert [bucket(n) for n in (1, 2, 3, 5, 8, 9)] == [1, 2, 4, 8, 8, 16]
    assert bucket(3, minimum=16) == 16 and bucket(17, 16) == 32
    assert bucket(300, 16, limit=512) == 512 and bucket(500, 16, limit=400) == 500


@pytest.mark.parametrize("temperature", [0, -1, float("nan"), float("inf"), "hot"])
def test_bad_temperature_is_refused(default_model, temperature):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        default_model.fill_mask("a [MASK] .", temperature=temperature)


def _spec_and_output(layer, *arrays):
    """`layer`'s declared output spec for `arrays`' shapes and its eager output, both
    as {name: (shape, dtype)}."""
    symbolic = [keras.KerasTensor(a.shape, a.dtype.name) for a in arrays]
    spec = layer.compute_output_spec(*symbolic)
    output = layer(*arrays)
    describe = lambda t: (tuple(t.shape), keras.backend.standardize_dtype(t.dtype))  # noqa: E731
    return ({k: describe(v) for k, v in spec.items()}, {k: describe(v) for k, v in output.items()})


def test_readout_layers_declare_what_they_return(default_model):
    hidden = np.random.default_rng(0).normal(size=(2, 7, 128)).astype("float32")  # (b, seq, h)
    positions = np.array([[1, 3, 5], [0, 2, 6]], "int32")  # (b, m)
    readout = Readout(default_model.head, 8)
    temperature = np.array([1.0, 0.5], "float32")  # (b,)
    queries = np.zeros((2, 3, 4), "int32")  # (b, m, q)
    spec, output = _spec_and_output(readout, hidden, positions, temperature, queries)
    assert spec == output and output["query_ranks"] == ((2, 3, 4), "int32")
    scores = MaskScores(default_model.head, (0.5, 1.0))
    spec, output = _spec_and_output(scores, hidden, positions, positions)
    assert spec == output and output["temperature_losses"] == ((2, 3, 2), "float32")
