"""Which device the head computes on, for the app's sidebar and GPU checks."""

import keras


def describe():
    """A short name of the device Keras computes on: a GPU's name, or "CPU".

    On the TensorFlow backend this also enables memory growth on every GPU,
    so that the app takes GPU memory as it needs it instead of all at once.
    Call it before the first model is built (growth cannot be changed after).
    """
    names = gpu_names()
    if not names:
        return "CPU"
    return ", ".join(f"GPU {i}: {name}" for i, name in enumerate(names))


def gpu_names():
    """Names of the GPUs visible to the active Keras backend (maybe empty)."""
    backend = keras.config.backend()
    if backend == "tensorflow":
        return _tensorflow_gpus()
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        count = torch.cuda.device_count()
        return [torch.cuda.get_device_name(i) for i in range(count)]
    return []


def _tensorflow_gpus():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # GPUs already initialised: growth is fixed.
            pass
    return [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in gpus
    ]
