"""A per-process queue that runs one training job at a time, fairly shared.

A server process holds one `JobQueue` (`QUEUE`). Each browser session
submits at most one job; the queue runs the oldest waiting job on a
background thread as soon as the one before it has ended, so a job's
`position` is how many jobs run or wait before it (0: it runs).

A job's owner proves it is still there with `Job.touch()` (the page does
it on every poll, about once a second). A job not touched for
`idle_timeout` seconds (its tab was closed, its session ended) is stopped
when it runs, or removed when it waits, so no one holds the queue for a
session that is gone.

A job is `work(job)`: a callable that checks `job.stop` (a
`threading.Event`) often and returns when it is set, publishes what the
page shows with `job.publish(...)`, and returns its result. What it builds
along the way (a training's cached hidden states) is its own and is
released when it returns: the queue drops its reference to `work` then.
Only one job runs at a time, so the memory of one job's cache is the bound
(the head training caches at most `positions x hidden x 2` bytes: 200,000
float16 states of size 128 take 51 MB, of size 768 take 307 MB).

No Streamlit here: the page polls the job's `state`, `position`,
`progress` and `result`.
"""

import atexit
import itertools
import threading
import time

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
ENDED = (DONE, STOPPED, FAILED)
IDLE_TIMEOUT = 30.0  # s without a touch before a job is stopped or removed
TICK = 0.1  # s between the supervisor's checks


class Job:
    """One submitted job, as its owner sees it.

    Attributes:
        owner: who submitted it (a session id), for the page's messages.
        stop: set to ask the running work to stop.
        state: `QUEUED`, `RUNNING`, `DONE`, `STOPPED` or `FAILED`.
        message: why it stopped or failed, in words ("" while it runs or when done).
        result: what `work` returned (None until it is done or stopped).
    """

    _ids = itertools.count(1)

    def __init__(self, queue, work, owner):
        self.id = next(self._ids)
        self.owner = owner
        self.stop = threading.Event()
        self.state = QUEUED
        self.message = ""
        self.result = None
        self._queue = queue
        self._work = work
        self._progress = {}
        self._lock = threading.Lock()
        self.touched = queue.clock()

    @property
    def position(self):
        """0 while it runs, k when k jobs run or wait before it, None once ended."""
        return self._queue.position(self)

    @property
    def ended(self):
        return self.state in ENDED

    def touch(self):
        """Say the owner is still there (call it at least every `idle_timeout` s)."""
        self.touched = self._queue.clock()

    def cancel(self, message="Cancelled."):
        """Stop the job: a waiting one leaves the queue, a running one is asked to
        stop (its `message` says why)."""
        self._queue.cancel(self, message)

    def publish(self, **values):
        """Called by the work: update what `progress` shows."""
        with self._lock:
            self._progress.update(values)

    @property
    def progress(self):
        """A copy of the values the work published so far."""
        with self._lock:
            return dict(self._progress)

    def _run(self):
        work, self._work = self._work, None  # dropped when it returns: its memory goes with it
        try:
            result = work(self)
        except Exception as error:  # noqa: BLE001 - any failure is reported to the owner
            self._queue.finish(self, FAILED, f"{type(error).__name__}: {error}")
            return
        self.result = result
        self._queue.finish(self, STOPPED if self.stop.is_set() else DONE)


class JobQueue:
    """Runs submitted jobs one at a time, oldest first.

    Args:
        idle_timeout: seconds without `Job.touch()` after which a job is
            stopped (running) or removed (waiting).
        clock: the time source (seconds), for tests.
    """

    def __init__(self, idle_timeout=IDLE_TIMEOUT, clock=time.monotonic):
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._waiting = []  # Jobs in submission order
        self._running = None  # the Job that runs, or None
        self._thread = None  # the running job's thread
        self._supervisor = None

    def submit(self, work, owner=None):
        """Queue `work(job)`; returns its `Job` (running at once when the queue is free)."""
        job = Job(self, work, owner)
        with self._lock:
            self._waiting.append(job)
            if self._supervisor is None or not self._supervisor.is_alive():
                self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                                    name="mlmviz-jobs")
                self._supervisor.start()
        self._start_next()
        return job

    def position(self, job):
        with self._lock:
            if job is self._running:
                return 0
            if job in self._waiting:
                return self._waiting.index(job) + (self._running is not None)
            return None

    def jobs(self):
        """The running job (first) and the waiting ones, in order."""
        with self._lock:
            return ([self._running] if self._running else []) + list(self._waiting)

    def cancel(self, job, message):
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)
                job.state, job.message, job._work = STOPPED, message, None
                return
        if job is self._running:
            job.message = message
            job.stop.set()

    def finish(self, job, state, message=""):
        """Called on the job's thread when its work has returned or raised."""
        with self._lock:
            job.state, job.message = state, message or job.message
            if self._running is job:
                self._running = None
        self._start_next()

    def stop_all(self, timeout=5.0):
        """Cancel every job and wait up to `timeout` s for the running one to end."""
        for job in self.jobs():
            self.cancel(job, "The server is stopping.")
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _start_next(self):
        with self._lock:
            if self._running is not None or not self._waiting:
                return
            job = self._running = self._waiting.pop(0)
            job.state = RUNNING
            job.touched = self.clock()  # its wait does not count against it
            # A daemon thread: `stop_all` at exit asks it to stop and waits for it.
            self._thread = threading.Thread(target=job._run, daemon=True,
                                            name=f"mlmviz-job-{job.id}")
            self._thread.start()

    def _supervise(self):
        """Stop or remove jobs whose owner stopped touching them; end when idle."""
        while True:
            time.sleep(TICK)
            stale = self.clock() - self.idle_timeout
            for job in self.jobs():
                if job.touched < stale:
                    self.cancel(job, "Stopped: its page was closed or left for "
                                f"{self.idle_timeout:.0f} s.")
            with self._lock:
                if self._running is None and not self._waiting:
                    self._supervisor = None
                    return


QUEUE = JobQueue()  # the server process's queue, shared by every session
atexit.register(QUEUE.stop_all)
