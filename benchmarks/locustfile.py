"""Locust users for the app: each one a `visitors.Student` on the websocket protocol.

    .venv/bin/locust -f benchmarks/locustfile.py --host http://127.0.0.1:8501 \
        --headless -u 30 -r 30 -t 120s

(`benchmarks/load_protocol.py` starts a server and runs this for you.) Every
interaction is reported to Locust's request events as request type `st`,
named by its kind, timed from the rerun request to `script_finished`; an
answer that fails its checks (see `visitors.predict_problems`), a time-out
or a broken connection is a failure. After a failure the user starts over
on a fresh connection.

`--summary-file PATH` writes, when Locust quits, a JSON object: `samples`
(`[user, kind, seconds, charts checked]` per interaction) and `failures`
(`[user, kind, message]`), the raw figures behind Locust's statistics.
"""

import itertools
import json
import sys
from pathlib import Path

from locust import User, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from visitors import ACTIONS, Student  # noqa: E402

NUMBERS = itertools.count(1)  # each user types its own sentences ("session N: ...")
SUMMARY = {"samples": [], "failures": []}


@events.init_command_line_parser.add_listener
def add_summary_option(parser):
    parser.add_argument("--summary-file", default="", help="write the raw samples here (JSON)")


@events.quitting.add_listener
def write_summary(environment, **_):
    path = environment.parsed_options.summary_file if environment.parsed_options else ""
    if path:
        Path(path).write_text(json.dumps(SUMMARY))


class StudentUser(User):
    """A student: types sentences, clicks tokens, changes top-k and switches
    pages, one action every 3–5 s."""

    wait_time = between(3, 5)

    def on_start(self):
        self.number, self.student, self.step = next(NUMBERS), None, 0

    def on_stop(self):
        if self.student is not None:
            self.student.close()

    def report(self, name, call):
        """Run `call()` (returns `Sample`s) and report each to Locust; a
        failure is reported under `name` and drops the connection."""
        try:
            samples = call()
        except Exception as error:  # a Mismatch, a time-out, a closed socket
            SUMMARY["failures"].append([self.number, name, f"{type(error).__name__}: {error}"])
            self.environment.events.request.fire(
                request_type="st", name=name, response_time=0, response_length=0,
                exception=error, context={},
            )
            self.student.close()
            self.student = None
            return
        for sample in samples:
            SUMMARY["samples"].append([self.number, sample.kind, sample.seconds, sample.charts])
            self.environment.events.request.fire(
                request_type="st", name=sample.kind, response_time=1000 * sample.seconds,
                response_length=sample.received, exception=None,
                context={"charts": sample.charts},
            )

    @task
    def act(self):
        if self.student is None:
            self.student = Student(self.host, self.number)
            self.report("open the app", lambda: [self.student.open()])
            return
        action = ACTIONS[self.step % len(ACTIONS)]
        self.step += 1
        self.report(action, lambda: self.student.act(action))
