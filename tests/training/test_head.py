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
