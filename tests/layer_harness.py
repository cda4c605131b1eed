"""A reusable test harness for Keras layers called as `layer(inputs, positions)`.

`run_layer_test` puts a layer through what a Keras user relies on: config
round trip, explicit build, symbolic and eager calls, one training step, the
reduced-precision dtype policies, and a `.keras` save/load of a functional
model holding the layer. `make_layer(dtype=None)` must return a new, unbuilt
layer each time it is called.
"""

import keras
import numpy as np

PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16", "bfloat16")


def run_layer_test(make_layer, inputs, positions, expected_shape, trainable_weights, tmp_path):
    """Run every check below; `inputs` (b, seq, hidden), `positions` (b, m)."""
    check_config_round_trip(make_layer, inputs, positions)
    check_build(make_layer, inputs, trainable_weights)
    check_symbolic_call(make_layer, inputs, positions, expected_shape)
    check_eager_call(make_layer, inputs, positions, expected_shape)
    check_training_step(make_layer, inputs, positions)
    for policy in PRECISION_POLICIES:
        check_precision(make_layer, inputs, positions, policy)
    check_saved_model(make_layer, inputs, positions, tmp_path)


def check_config_round_trip(make_layer, inputs, positions):
    layer = make_layer()
    layer(inputs, positions)
    config = layer.get_config()
    revived = type(layer).from_config(config)
    assert revived.get_config() == config
    revived(inputs, positions)
    assert len(revived.weights) == len(layer.weights)


def check_build(make_layer, inputs, trainable_weights):
    layer = make_layer()
    layer.build(inputs.shape)
    assert layer.built
    assert len(layer.trainable_weights) == trainable_weights


def check_symbolic_call(make_layer, inputs, positions, expected_shape):
    layer = make_layer()
    hidden = keras.Input(batch_shape=(None, None, inputs.shape[-1]))
    index = keras.Input(batch_shape=(None, None), dtype="int32")
    output = layer(hidden, index)
    assert tuple(output.shape) == (None, None, expected_shape[-1])
    assert layer.compute_output_shape(
        inputs.shape, positions.shape
    ) == tuple(expected_shape)


def check_eager_call(make_layer, inputs, positions, expected_shape):
    layer = make_layer()
    output = layer(inputs, positions)
    assert tuple(output.shape) == tuple(expected_shape)
    assert keras.backend.standardize_dtype(output.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(output)))


def check_training_step(make_layer, inputs, positions):
    layer = make_layer()
    model = _functional(layer, inputs)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = [np.array(w) for w in layer.trainable_weights]
    labels = np.zeros(positions.shape, dtype="int32")
    loss = model.train_on_batch([inputs, positions], labels)
    assert np.isfinite(loss)
    after = [np.array(w) for w in layer.trainable_weights]
    changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    assert all(changed), "every trainable weight must receive a gradient"


def check_precision(make_layer, inputs, positions, policy):
    layer = make_layer(dtype=policy)
    output = layer(inputs, positions)
    policy = keras.DTypePolicy(policy)
    assert keras.backend.standardize_dtype(output.dtype) == policy.compute_dtype
    for weight in layer.weights:
        assert weight.dtype == policy.variable_dtype, weight.path


def check_saved_model(make_layer, inputs, positions, tmp_path):
    layer = make_layer()
    model = _functional(layer, inputs)
    expected = keras.ops.convert_to_numpy(model([inputs, positions]))
    path = tmp_path / f"{layer.name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    actual = keras.ops.convert_to_numpy(restored([inputs, positions]))
    np.testing.assert_allclose(actual, expected, atol=0)


def _functional(layer, inputs):
    """A model (hidden states, positions) -> layer output, any mask count."""
    hidden = keras.Input(shape=(None, inputs.shape[-1]), name="hidden_states")
    index = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    return keras.Model([hidden, index], layer(hidden, index))
