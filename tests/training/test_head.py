"""Training a fresh MaskedLMHead on cached encoder states (`mlmviz.training.head`)."""

import threading

import numpy as np
import pytest

from mlmviz.training import head as training

TRAIN_POSITIONS = 4000


@pytest.fixture(scope="session")
def train_states(default_model):
    return training.cache_states(default_model, training.default_corpus()[:2000],
                                 max_positions=TRAIN_POSITIONS)


@pytest.fixture(scope="session")
def heldout_states(default_model):
    return training.cache_states(default_model, training.heldout_corpus(), max_positions=2000)


@pytest.fixture(scope="session")
def trained(default_model, train_states, heldout_states):
    """A tied head trained for 60 steps of 256 states."""
    job = training.HeadTraining(default_model, train_states, heldout_states,
                                training.HeadSettings(batch_size=256))
    job.run(steps=60, every=20)
    return job


def test_cached_states_are_float16_and_deterministic(default_model, train_states):
    assert train_states.hidden.dtype == np.float16 and train_states.labels.dtype == np.int32
    assert train_states.hidden.shape == (TRAIN_POSITIONS, default_model.metadata["hidden_dim"])
    again = training.cache_states(default_model, training.default_corpus()[:2000],
                                  max_positions=TRAIN_POSITIONS)
    np.testing.assert_array_equal(again.hidden, train_states.hidden)
    np.testing.assert_array_equal(again.labels, train_states.labels)


def test_a_fresh_model_says_its_head_is_freshly_initialised(default_model):
    fresh = training.fresh_model(default_model, training.HeadSettings())
    assert not fresh.head_check.trained
    assert "freshly initialised" in fresh.head_check.message
    assert fresh.backbone is default_model.backbone
    assert fresh.head.token_embedding is default_model.backbone.token_embedding


def test_loss_falls_and_accuracy_beats_the_bias_only_baseline(trained):
    first, last = trained.curve[0], trained.curve[-1]
    assert [p.step for p in trained.curve] == [0, 20, 40, 60]
    assert first.heldout_accuracy < 0.01
    assert last.loss < first.loss - 2
    assert last.heldout_accuracy > trained.baseline_accuracy + 0.05


def test_a_set_stop_event_ends_the_run_with_the_steps_frozen(trained):
    stop = threading.Event()
    stop.set()
    steps = trained.steps
    trained.run(stop=stop)
    assert trained.steps == steps


def test_the_saved_checkpoint_reproduces_the_trained_heads_predictions(trained, tmp_path):
    import mlmviz
    from mlmviz.sources.saving import save

    save(trained.model, tmp_path / "model.keras")
    loaded = mlmviz.load(tmp_path)  # a folder holding model.keras
    assert loaded.head_check.trained
    for model in (loaded, trained.current_model()):
        for text in ("he opened the [MASK] and walked in.", "she [MASK] a letter to her sister."):
            expected = trained.model.fill_mask(text, top_k=10)["masks"][0]["predictions"]
            got = model.fill_mask(text, top_k=10)["masks"][0]["predictions"]
            assert [p["token_id"] for p in got] == [p["token_id"] for p in expected]
            np.testing.assert_allclose([p["probability"] for p in got],
                                       [p["probability"] for p in expected], rtol=1e-5)


def test_current_model_is_a_snapshot_that_training_does_not_move(trained):
    snapshot = trained.current_model()
    before = snapshot.output_bias.copy()
    trained.run(steps=2, every=100)
    np.testing.assert_array_equal(snapshot.output_bias, before)
    assert not np.array_equal(trained.model.output_bias, before)


def test_an_untied_head_has_its_own_kernel_from_bert_initialiser(default_model):
    fresh = training.fresh_model(default_model, training.HeadSettings(tied=False))
    kernel = fresh.head.output_kernel.numpy()  # (hidden, vocab)
    assert fresh.head.token_embedding is None and kernel.shape == (128, 30522)
    assert abs(kernel.std() - 0.02 * 0.88) < 0.002  # a truncated normal's spread
    assert "freshly initialised" in fresh.head_check.message


def test_stop_during_caching_raises_stopped(default_model):
    stop = threading.Event()
    stop.set()
    with pytest.raises(training.Stopped):
        training.cache_states(default_model, training.heldout_corpus(), stop=stop)


@pytest.mark.parametrize("change, message", [
    (dict(learning_rate=0.0), "learning rate"),
    (dict(batch_size=0), "batch size"),
    (dict(activation="tanh"), "activation"),
    (dict(tied=False, train_embedding=True), "tied head only"),
])
def test_bad_settings_say_what_is_wrong(change, message):
    with pytest.raises(ValueError, match=message):
        training.HeadSettings(**change)


def test_compiling_the_step_ahead_leaves_the_head_fresh(default_model, train_states,
                                                        heldout_states):
    job = training.HeadTraining(default_model, train_states, heldout_states,
                                training.HeadSettings(seed=3))
    fresh = training.fresh_model(default_model, training.HeadSettings(seed=3))
    for got, expected in zip(job.model.head.weights, fresh.head.weights, strict=True):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    assert job.model.head_check.message == fresh.head_check.message
    assert int(job._logits.optimizer.iterations.numpy()) == 0
    job.run(steps=1)
    assert int(job._logits.optimizer.iterations.numpy()) == 1
    assert job.model.head_check.trained


def test_the_last_layer_at_the_positions_equals_the_full_encoder(default_model):
    import keras

    from mlmviz.compiled import encoder_inputs
    from mlmviz.compiled import sequence_output

    batch = next(training._selections(default_model, training.heldout_corpus()[:200], 500, 0, 0))
    encoder = training._gathering_encoder(default_model.backbone)
    assert any(isinstance(layer, training.LastLayerAtPositions) for layer in encoder.layers)
    ids = batch.token_ids[:16]  # (16, 64)
    inputs = encoder_inputs(default_model.backbone, ids, (ids != 0).astype("int32"))
    full = keras.Model(default_model.backbone.input, sequence_output(default_model.backbone))
    expected = np.take_along_axis(full.predict_on_batch(inputs), batch.positions[:16, :, None], 1)
    got = encoder.predict_on_batch({**inputs, "mask_positions": batch.positions[:16]})
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_the_kept_caching_encoder_does_not_keep_its_model_alive():
    """The compiled caching encoder is kept per encoder for later cachings, but only
    while its model lives: a model the app evicts frees its memory."""
    import gc
    import weakref

    import mlmviz

    model = mlmviz.load("default")
    training.cache_states(model, training.heldout_corpus()[:20], max_positions=10)
    backbone = weakref.ref(model.backbone)
    del model
    gc.collect()
    assert backbone() is None
