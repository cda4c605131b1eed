"""The training job queue: one job at a time, a queue position, cancel, stop,
jobs whose owner is gone, and failures that leave the queue going."""

import threading
import time

import pytest

from mlmviz.training.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, JobQueue

WAIT = 10.0  # s: the most any state change below may take


def _until(condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _held(release):
    """Work that runs until `release` (or its stop) is set, publishing its ticks."""
    def work(job):
        ticks = 0
        while not (release.is_set() or job.stop.is_set()):
            ticks += 1
            job.publish(ticks=ticks)
            time.sleep(0.005)
        return ticks
    return work


@pytest.fixture
def queue():
    queue = JobQueue(idle_timeout=60)
    yield queue
    queue.stop_all()


def test_two_submits_at_once_one_runs_one_waits_then_starts(queue):
    first_free, second_free = threading.Event(), threading.Event()
    jobs = [None, None]
    threads = [threading.Thread(target=lambda i=i, e=e: jobs.__setitem__(
        i, queue.submit(_held(e), owner=f"session {i}"))) for i, e in
        enumerate((first_free, second_free))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _until(lambda: any(job.progress for job in jobs))
    running = next(job for job in jobs if job.state == RUNNING)
    waiting = next(job for job in jobs if job is not running)
    assert running.position == 0
    assert waiting.state == QUEUED and waiting.position == 1 and waiting.progress == {}
    (first_free if running is jobs[0] else second_free).set()
    _until(lambda: waiting.state == RUNNING)
    assert running.state == DONE and running.result >= 1 and running.position is None
    assert waiting.position == 0
    (second_free if running is jobs[0] else first_free).set()
    _until(lambda: waiting.state == DONE)


def test_a_waiting_job_can_be_cancelled_and_never_runs(queue):
    release = threading.Event()
    first = queue.submit(_held(release))
    second = queue.submit(_held(threading.Event()))
    third = queue.submit(_held(threading.Event()))
    assert third.position == 2
    second.cancel()
    assert second.state == STOPPED and second.message == "Cancelled." and second.position is None
    assert third.position == 1
    release.set()
    _until(lambda: third.state == RUNNING)
    assert second.progress == {}  # it never ran
    third.cancel()
    _until(lambda: third.state == STOPPED)
    assert first.state == DONE


def test_a_running_job_stops_when_asked_and_keeps_its_result(queue):
    job = queue.submit(_held(threading.Event()))
    _until(lambda: job.progress.get("ticks", 0) > 3)
    job.cancel()
    _until(lambda: job.ended)
    assert job.state == STOPPED and job.result >= 3
    ticks = job.progress["ticks"]
    time.sleep(0.05)
    assert job.progress["ticks"] == ticks


def test_a_job_whose_owner_stops_touching_it_is_stopped_and_the_next_one_runs():
    queue = JobQueue(idle_timeout=0.5)
    try:
        gone = queue.submit(_held(threading.Event()))
        waiting = queue.submit(_held(threading.Event()))
        forgotten = queue.submit(_held(threading.Event()))
        deadline = time.monotonic() + WAIT
        while gone.state != STOPPED:  # `waiting`'s owner is still there; the others are not
            waiting.touch()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "closed" in gone.message
        for _ in range(20):
            waiting.touch()
            time.sleep(0.05)
        assert waiting.state == RUNNING  # a second on: it was touched, it runs
        assert forgotten.state == STOPPED and forgotten.position is None  # removed unrun
        assert forgotten.progress == {}
    finally:
        queue.stop_all()


def test_a_failing_job_reports_its_message_and_the_queue_goes_on(queue):
    def broken(job):
        raise ValueError("the corpus has no line")

    failing = queue.submit(broken)
    after = queue.submit(lambda job: "fine")
    _until(lambda: after.ended)
    assert failing.state == FAILED and failing.message == "ValueError: the corpus has no line"
    assert after.state == DONE and after.result == "fine"


def test_the_work_is_released_when_the_job_ends(queue):
    import gc
    import weakref

    class Cache:  # stands for the cached hidden states
        pass

    cache = Cache()
    alive = weakref.ref(cache)

    def work(job, cache=cache):
        return len(vars(cache))

    job = queue.submit(work)
    del work, cache
    _until(lambda: job.ended)
    gc.collect()
    assert alive() is None
