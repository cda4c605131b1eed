"""The Train-the-head page's job (`mlmviz.training.lab`) run through the job queue."""

import threading
import time

import numpy as np
import pytest

from mlmviz.training import head as training
from mlmviz.training.jobs import FAILED, STOPPED, JobQueue
from mlmviz.training.lab import LabRun, Probes, head_job

PROBES = ("the cat sat on the [MASK].", "she opened the [MASK] and walked in.",
          "we ate dinner at the kitchen [MASK].")
RUN = LabRun(training.HeadSettings(batch_size=256), seconds=60, positions=3000,
             heldout_positions=500, probes=PROBES, every=10)


@pytest.fixture
def queue():
    queue = JobQueue()
    yield queue
    queue.stop_all()


def _watch(job, until, timeout=240):
    """Every different `progress` the job published, until `until(progress)` or the end."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = job.progress
        if progress and (not seen or progress != seen[-1]):
            seen.append(progress)
        if job.ended or until(progress):
            return seen
        job.touch()
        time.sleep(0.05)
    raise AssertionError("the job did not get there in time")


def test_the_job_publishes_a_growing_curve_and_changing_guesses_and_returns_the_head(
        queue, default_model):
    job = queue.submit(head_job(default_model, RUN))
    seen = _watch(job, lambda p: len(p.get("curve") or []) >= 4)
    assert seen[0]["phase"] == "caching"
    job.cancel("Stopped.")
    while not job.ended:
        time.sleep(0.05)
    assert job.state == STOPPED
    training_views = [p for p in seen if p["phase"] == "training"]
    first, last = training_views[0], job.progress
    assert [p.step for p in first["curve"]] == [0]
    assert not first["head_check"].trained and last["head_check"].trained
    assert len(last["curve"]) >= 4 and last["curve"][-1].loss < first["curve"][0].loss
    assert last["curve"][-1].heldout_accuracy > last["baseline"] > 0
    guesses = [[a.token for a in answers] for answers in last["probes"]]
    assert guesses != [[a.token for a in answers] for answers in first["probes"]]
    # The result is the head as trained: its answers are the last ones published.
    trained = Probes(default_model, PROBES).answers(job.result.head)
    assert [[a.token for a in answers] for answers in trained] == guesses
    assert job.result.head_check.trained


def test_probes_are_the_heads_own_answers_at_the_first_mask(default_model):
    answers = Probes(default_model, PROBES[:1]).answers(default_model.head)
    expected = default_model.fill_mask(PROBES[0], top_k=3)["masks"][0]["predictions"]
    assert [a.token for a in answers[0]] == [p["token"] for p in expected]
    np.testing.assert_allclose([a.probability for a in answers[0]],
                               [p["probability"] for p in expected], rtol=1e-4)


def test_a_stop_while_caching_ends_the_job_without_a_head(queue, default_model):
    reading = threading.Event()

    class Corpus(list):  # its reading says that the job has begun caching it
        def __iter__(self):
            reading.set()
            return super().__iter__()

    job = queue.submit(head_job(default_model, RUN, corpus=Corpus(training.default_corpus())))
    assert reading.wait(120)
    job.cancel("Stopped.")
    _watch(job, lambda p: False)
    assert job.state == STOPPED and job.result is None
    assert not job.progress["curve"]


def test_a_failing_training_says_why(queue, default_model):
    job = queue.submit(head_job(default_model, RUN, corpus=["   "]))
    _watch(job, lambda p: False)
    assert job.state == FAILED and job.message == "ValueError: The corpus has no text lines."
