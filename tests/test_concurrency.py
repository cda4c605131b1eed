"""The cached model is shared by every Streamlit session and thread
(`shared.load_model` is an `st.cache_resource`): concurrent calls must give
exactly what the same calls give one after another.

Three situations are checked: many threads predicting on a warm model, threads
mixing `fill_mask` with the eager `stages` / `layer_states`, and the first calls
on a freshly loaded model racing each other and the background `warm_up`
(the compiled graph is built lazily, behind a lock, in `mlmviz/compiled.py`).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import mlmviz

THREADS = 16
# (text, positions, top_k, temperature, targets): different lengths, mask
# counts, top-k (40 needs the 64-candidate graph), temperatures and targets.
CASES = [
    ("he opened the [MASK] and walked into the room.", (), 5, 1.0, ("door",)),
    ("the [MASK] barked at the [MASK] all night.", (7,), 3, 0.5, ()),
    ("she drank a glass of [MASK] with her breakfast.", (2, 4), 10, 2.0, ("milk", "water")),
    ("there are seven days in a [MASK].", (), 40, 1.0, ()),
    ("we walked " * 10 + "to the [MASK] .", (1, 4, 9), 20, 0.7, ()),
    ("[MASK] is the capital of france.", (), 1, 1.3, ("paris",)),
]


def fill(model, case):
    text, positions, top_k, temperature, targets = case
    return model.fill_mask(text, top_k=top_k, temperature=temperature, positions=positions,
                           targets=targets)


def masked(model, case):
    text, positions = case[:2]
    return model.mask(text, positions)


def exact_part(result):
    """Everything in a `fill_mask` result but its floats: tokens, ids, ranks."""
    return [
        (
            mask["position"], mask["original"], mask["original_rank"],
            [(p["token"], p["token_id"]) for p in mask["predictions"]],
            [(t["word"], t["token_id"], t["rank"], t["split"]) for t in mask["targets"]],
        )
        for mask in result["masks"]
    ]


def float_part(result):
    """The floats of a `fill_mask` result, flattened."""
    values = []
    for mask in result["masks"]:
        values += [p["probability"] for p in mask["predictions"]]
        values += [p["logit"] for p in mask["predictions"]]
        values += [t["probability"] for t in mask["targets"]]
        values += [mask["entropy"], mask["original_probability"] or 0.0]
    return np.array(values)


def assert_same_fill(result, expected, exact=True):
    """Same tokens, ids and ranks; floats bit for bit, or within float32 rounding.

    `exact=False` is for results of another `MaskedLM` instance, or of calls
    that raced the first traces: the same shape may then run in a different
    traced graph (a graph traced for the exact shape, or TensorFlow's
    generalised `reduce_retracing` one), whose oneDNN kernels sum in another
    order. Measured: up to 3.8e-6 absolute on logits of magnitude ~1-10,
    i.e. a few float32 ulps; nothing else changes.
    """
    assert exact_part(result) == exact_part(expected)
    if exact:
        np.testing.assert_array_equal(float_part(result), float_part(expected))
    else:
        np.testing.assert_allclose(float_part(result), float_part(expected), rtol=1e-5, atol=1e-6)


def assert_same_arrays(result, expected, exact=True):
    """Dicts of arrays (`stages`) or arrays (`layer_states`), equal or within rounding."""
    if isinstance(expected, dict):
        assert result.keys() == expected.keys()
        for name in expected:
            assert_same_arrays(result[name], expected[name], exact)
    elif exact:
        np.testing.assert_array_equal(result, expected)
    else:
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)


def run_together(jobs):
    """Run every zero-argument callable in `jobs` in its own thread, all released
    at once by a barrier; returns their results in order (re-raising any error)."""
    barrier = threading.Barrier(len(jobs), timeout=120)

    def start(job):
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(start, job) for job in jobs]
        return [future.result(timeout=600) for future in futures]


def rotated(thread):
    """The cases in an order that starts at a different case in each thread,
    so that different shapes run at the same moment."""
    start = thread % len(CASES)
    return list(range(start, len(CASES))) + list(range(start))


@pytest.fixture(scope="module")
def serial(default_model):
    """Each case's `fill_mask`, `stages` and `layer_states`, called one by one."""
    return {
        "fill": [fill(default_model, case) for case in CASES],
        "stages": [default_model.stages(masked(default_model, case)) for case in CASES],
        "layers": [default_model.layer_states(masked(default_model, case)) for case in CASES],
    }


def test_concurrent_fill_mask_equals_serial(default_model, serial):
    rounds = 4

    def loop(thread):
        return [(i, fill(default_model, CASES[i])) for _ in range(rounds) for i in rotated(thread)]

    outcomes = run_together([lambda t=t: loop(t) for t in range(THREADS)])
    assert sum(len(o) for o in outcomes) == THREADS * rounds * len(CASES)
    for outcome in outcomes:
        for i, result in outcome:
            assert_same_fill(result, serial["fill"][i])


def test_concurrent_stages_and_layer_states_equal_serial(default_model, serial):
    """Threads mixing the compiled path with the eager layer-by-layer path."""

    def loop(thread):
        rows = []
        for i in rotated(thread):
            masked_case = masked(default_model, CASES[i])
            rows.append((i, "stages", default_model.stages(masked_case)))
            rows.append((i, "fill", fill(default_model, CASES[i])))
            rows.append((i, "layers", default_model.layer_states(masked_case)))
        return rows

    outcomes = run_together([lambda t=t: loop(t) for t in range(THREADS)])
    for outcome in outcomes:
        for i, kind, result in outcome:
            if kind == "fill":
                assert_same_fill(result, serial["fill"][i])
            else:
                assert_same_arrays(result, serial[kind][i])


def test_first_calls_on_a_fresh_model_race_safely(serial):
    """The app's first requests: many sessions' first calls, the background
    warm-up and the eager paths all start at once on a model that has built
    no compiled graph yet (as `shared.load_model` leaves it)."""
    fresh = mlmviz.load("default")
    jobs = [fresh.warm_up]
    for thread in range(THREADS):
        case = CASES[thread % len(CASES)]
        kind = ("fill", "fill", "stages", "layers")[thread % 4]
        if kind == "fill":
            jobs.append(lambda case=case: fill(fresh, case))
        elif kind == "stages":
            jobs.append(lambda case=case: fresh.stages(masked(fresh, case)))
        else:
            jobs.append(lambda case=case: fresh.layer_states(masked(fresh, case)))
    results = run_together(jobs)[1:]

    # Another instance, and graphs traced in another order: float32 rounding apart.
    for thread, result in enumerate(results):
        i, kind = thread % len(CASES), ("fill", "fill", "stages", "layers")[thread % 4]
        if kind == "fill":
            assert_same_fill(result, serial["fill"][i], exact=False)
        else:
            assert_same_arrays(result, serial[kind][i], exact=False)
    # Once the race is over the fresh model keeps answering the same.
    for i, case in enumerate(CASES):
        assert_same_fill(fill(fresh, case), serial["fill"][i], exact=False)
