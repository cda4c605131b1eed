"""Corpus evaluation sharded over a Ray cluster, merged into the local result.

The driver streams the corpus in chunks of lines, each tagged with the
corpus line number of its first line, and hands them to a
`ray.util.ActorPool` of actors, each holding one copy of the model. An actor
runs `evaluate_metrics` on its chunk and returns the chunk's `Metrics`
(and, when asked, its `details` records); the driver merges them in corpus
order. The masks are hashed from (seed, line number, position), and a chunk
is a whole number of `evaluate`'s read-ahead chunks, so every line is masked
and batched as in the local run: the summary and the records are the local
ones, up to float32 rounding (an actor's TensorFlow may use another number of
threads, which orders its sums differently).

Workers: one actor per GPU when the cluster has GPUs (each reserves
`num_gpus=1`); otherwise CPU actors that each reserve `CPU_THREADS` CPUs (or
a whole node, if nodes are smaller) and run TensorFlow on that many threads.
`workers=N` asks for N actors instead; CPU actors then reserve as many CPUs
each as still lets N of them fit on the nodes.

Every node needs mlmviz's requirements and must be able to read the model
source (a path that exists there, "default", or `hf:` in its cache); mlmviz
itself is shipped to a cluster that is joined (`auto`, `ray://`) through
Ray's runtime environment (`py_modules`), so its nodes need not have it.
Clusters started by `ray start` on Ray 2.59 and later require token
authentication: the driver needs `RAY_AUTH_MODE=token` and the cluster's
token (in `RAY_AUTH_TOKEN`, or the file `ray get-auth-token` reads).
Actors are placed as Ray places any: while the cluster's resources are
taken by other work, they wait for them.

Ray is an optional dependency: it is imported on first use, never by
`import mlmviz`.
"""

import contextlib
import itertools
import logging
import os
from pathlib import Path

from mlmviz.analysis.evaluation import CHUNK_BATCHES, Metrics, check_rate

RAY_REQUIREMENT = "ray>=2.60"
CPU_THREADS = 4  # CPUs one CPU actor reserves by default
CLIENT_SERVER_FAILED = "Starting Ray client server failed"  # Ray Client's message
CLIENT_SERVER_ATTEMPTS = 2


def import_ray():
    """The `ray` module; `ValueError` saying how to install it when it is missing."""
    try:
        import ray
    except ImportError:
        raise ValueError(
            f'--ray needs Ray, which is not installed: pip install "{RAY_REQUIREMENT}"'
        ) from None
    return ray


@contextlib.contextmanager
def ray_session(address=None):
    """Connect to Ray for the duration of the block.

    Args:
        address: None starts a local Ray (or joins the one running on this
            machine), "auto" joins the cluster started by `ray start --head`
            here, "ray://HOST:PORT" joins a remote cluster through Ray Client.

    An already initialised Ray (a notebook's, a test's) is used as it is and
    left running; a session opened here is shut down at the end.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    # A cluster that is joined gets this copy of mlmviz for its workers.
    shipped = None if address is None else {"py_modules": [str(Path(__file__).parents[1])]}
    for attempt in range(CLIENT_SERVER_ATTEMPTS):
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                     runtime_env=shipped)
            break
        except ConnectionError as error:
            # Ray Client starts a server process on the head for each connection;
            # that start failed once on a busy CI machine: it is tried once more.
            if CLIENT_SERVER_FAILED not in str(error) or attempt + 1 == CLIENT_SERVER_ATTEMPTS:
                raise ValueError(connection_failure(address, error)) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def connection_failure(address, error):
    """One line for a cluster that could not be joined. Ray Client reports a
    refused authentication token only as a time-out, so that cause is named."""
    line = f"could not join the Ray cluster at {address}: {_last_line(error)}."
    if address.startswith("ray://") and os.environ.get("RAY_AUTH_MODE") != "token":
        line += (" A cluster started by `ray start` (Ray 2.59 and later) requires token "
                 "authentication: set RAY_AUTH_MODE=token, and RAY_AUTH_TOKEN to the token "
                 "`ray get-auth-token` prints on its head node.")
    return line


def plan(nodes, workers=None):
    """How many actors to start and what each reserves.

    Args:
        nodes: the resources of each alive node (dicts with "CPU", "GPU").
        workers: the number of actors wanted (None: as the module docstring says).

    Returns:
        `(count, resources)`: resources is `{"num_gpus": 1}` or `{"num_cpus": n}`.

    Raises:
        ValueError: when `workers` actors cannot all be placed.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"The number of Ray workers must be a positive integer. Received {workers!r}")
    gpus = sum(int(node.get("GPU", 0)) for node in nodes)
    cpus = [int(node.get("CPU", 0)) for node in nodes]
    if gpus:
        if workers is not None and workers > gpus:
            raise ValueError(f"{workers} Ray workers asked for, but the cluster has {gpus} GPUs")
        return workers or gpus, {"num_gpus": 1}
    if not any(cpus):
        raise ValueError("The Ray cluster has no CPU and no GPU to run on")
    if workers is None:
        threads = min(CPU_THREADS, max(cpus))
        return sum(c // threads for c in cpus), {"num_cpus": threads}
    if workers > sum(cpus):
        raise ValueError(f"{workers} Ray workers asked for, but the cluster has {sum(cpus)} CPUs")
    threads = next(t for t in range(max(cpus), 0, -1) if sum(c // t for c in cpus) >= workers)
    return workers, {"num_cpus": threads}


class Shard:
    """A Ray actor's state: one model, evaluating chunks of the corpus.

    Args:
        source: the model source, loaded on the actor's node.
        threads: TensorFlow's thread count (None: its default).
    """

    def __init__(self, source, threads=None):
        import keras

        if threads and keras.config.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        import mlmviz
        from mlmviz.device import describe

        self.device = describe()  # also lets a GPU's memory grow as needed
        self.model = mlmviz.load(source)

    def ready(self):
        """`(source, vocabulary size, device)`: the model is loaded."""
        return self.model.metadata["source"], self.model.head.vocabulary_size, self.device

    def evaluate(self, chunk, rate, seed, batch_size, details, pll):
        """`(Metrics, records or None, interrupted)` of a `(first_line, lines)` chunk."""
        from mlmviz.analysis.evaluation import evaluate_metrics

        first_line, lines = chunk
        records = [] if details else None
        metrics, interrupted = evaluate_metrics(
            self.model, lines, rate, seed, batch_size=batch_size, first_line=first_line,
            on_details=None if records is None else records.extend, pll=pll,
        )
        return metrics, records, interrupted


def chunks(lines, size, max_lines=None):
    """`(first_line, [lines])` of `size` lines each (the last maybe fewer), lazily."""
    lines = itertools.islice(lines, max_lines)
    for first_line in itertools.count(0, size):
        chunk = list(itertools.islice(lines, size))
        if not chunk:
            return
        yield first_line, chunk


def evaluate_on_ray(source, lines, rate=0.15, seed=0, max_lines=None, batch_size=64,
                    workers=None, chunk_batches=1, on_details=None, on_progress=None,
                    pll=False):
    """`evaluate` of the model `source` on `lines`, sharded over Ray's actors.

    Ray must be initialised (`ray_session`). Arguments as `evaluate`'s, and:
        source: a model source that every node can load.
        workers: the number of actors (None: see the module docstring).
        chunk_batches: lines per task, in units of `evaluate`'s read-ahead
            chunk (`CHUNK_BATCHES * batch_size` lines).
        on_progress: called with the corpus lines of each chunk merged.

    Returns:
        `evaluate`'s summary; on Ctrl-C, `interrupted` is True and the
        numbers cover the chunks merged before.

    Raises:
        ValueError: for bad options, a model a worker cannot load, or a
            worker that failed (its error's message).
    """
    ray = import_ray()
    rate = check_rate(rate)
    for name, value in (("batch_size", batch_size), ("max_lines", max_lines),
                        ("chunk_batches", chunk_batches)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive integer. Received {value!r}")
    count, resources = plan([n["Resources"] for n in ray.nodes() if n["Alive"]], workers)
    actor = ray.remote(Shard).options(**resources)
    actors = [actor.remote(source, resources.get("num_cpus")) for _ in range(count)]
    try:
        with _worker_errors(ray):
            model, vocabulary_size, _ = ray.get([a.ready.remote() for a in actors])[0]
        total = Metrics(vocabulary_size)
        interrupted = _run(ray, actors, chunks(lines, CHUNK_BATCHES * batch_size * chunk_batches,
                                               max_lines),
                           (rate, seed, batch_size, on_details is not None, pll),
                           total, on_details, on_progress)
    finally:
        for a in actors:
            ray.kill(a)
    return {"model": model, **total.summary(pll), "interrupted": interrupted}


def _run(ray, actors, pieces, options, total, on_details, on_progress):
    """Feed `pieces` to an `ActorPool` of `actors`, one chunk in flight per actor,
    merging the results in order into `total`; return whether it was interrupted."""
    pool = ray.util.ActorPool(actors)

    def submit(piece):
        pool.submit(lambda a, chunk: a.evaluate.remote(chunk, *options), piece)

    try:
        for piece in itertools.islice(pieces, len(actors)):
            submit(piece)
        while pool.has_next():
            with _worker_errors(ray):
                metrics, records, interrupted = pool.get_next()
            piece = next(pieces, None)
            if piece is not None:
                submit(piece)
            total.merge(metrics)
            if on_details is not None:
                on_details(records)
            if on_progress is not None:
                on_progress(metrics.lines + metrics.skipped_lines)
            if interrupted:  # a worker saw Ctrl-C too
                return True
    except KeyboardInterrupt:
        return True
    return False


@contextlib.contextmanager
def _worker_errors(ray):
    """A worker's exception as a one-cause `ValueError` (its own message)."""
    try:
        yield
    except ray.exceptions.RayTaskError as error:
        raise ValueError(f"a Ray worker failed: {error.cause}") from None
    except ray.exceptions.RayActorError as error:
        cause = getattr(error, "error_msg", str(error))
        raise ValueError(f"a Ray worker failed: {_last_line(cause)}") from None


def _last_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"
