"""Corpus evaluation sharded over Ray actors: the local run's numbers, the CLI's --ray."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import ray

from mlmviz import cli
from mlmviz.analysis.evaluation import evaluate
from mlmviz.analysis.ray_evaluation import evaluate_on_ray, plan
from mlmviz.examples import CANDIDATES
from tools.appserver import free_port

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [c.replace("{", "").replace("}", "") for c in CANDIDATES]
# 200 lines of one to three sentences (lengths vary, so batches sort), some blank.
LINES = ["" if i % 23 == 5 else " ".join(SENTENCES[(i + k) % 12] for k in range(1 + i % 3))
         for i in range(200)]
OPTIONS = {"rate": 0.2, "seed": 7, "batch_size": 8}  # read-ahead chunks of 64 lines


def _ray_processes():
    """pid -> command line of this process's descendants that belong to Ray."""
    parents = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError):
            continue
    found, todo = {}, [os.getpid()]
    while todo:
        parent = todo.pop()
        for pid in [p for p, pp in parents.items() if pp == parent]:
            todo.append(pid)
            try:
                command = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"ray" in command:
                found[pid] = command.decode(errors="replace")[:120]
    return found


def _alive(pids):
    return [p for p in pids if Path(f"/proc/{p}").exists()
            and "zombie" not in Path(f"/proc/{p}/status").read_text()]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray of 2 CPUs for the module, shut down at its end, leaving no process."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    held = _ray_processes()  # the cluster and its workers (an actor's parent is the raylet)
    ray.shutdown()
    deadline = time.monotonic() + 20
    while _alive(held) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert held and not _alive(held), {p: held[p] for p in _alive(held)}


def _assert_same(got, expected, rel=1e-6):
    """Equal: integers exactly, floats to `rel` (float32 work on other thread counts)."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            _assert_same(got[key], expected[key], rel)
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            _assert_same(a, b, rel)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=rel, abs=rel)
    else:
        assert got == expected


def test_two_ray_actors_give_the_local_summary_and_details(local_ray, default_model):
    local_records, ray_records, done = [], [], []
    local = evaluate(default_model, iter(LINES), on_details=local_records.extend, **OPTIONS)
    sharded = evaluate_on_ray("default", iter(LINES), workers=2, on_details=ray_records.extend,
                              on_progress=done.append, **OPTIONS)
    assert done == [64, 64, 64, 8]  # 4 chunks, tagged 0, 64, 128, 192, merged in order
    assert sharded["lines"] + sharded["skipped_lines"] == 200 and sharded["skipped_lines"] == 9
    _assert_same(sharded, local)
    assert len(ray_records) == len(local_records) == local["masked_tokens"]
    _assert_same(ray_records, local_records, 1e-4)  # the same masks, batches and order


class _Bar:
    """A progress bar whose second update is a Ctrl-C."""

    def __init__(self):
        self.updates = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, lines):
        self.updates.append(lines)
        if len(self.updates) == 2:
            raise KeyboardInterrupt


def test_cli_ray_on_ctrl_c_reports_the_chunks_merged(local_ray, default_model, tmp_path,
                                                     capsys, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES) + "\n")
    bar = _Bar()
    monkeypatch.setattr(cli, "_progress", lambda terminal, total: bar)
    status = cli.main(["evaluate", "--corpus", str(corpus), "--ray", "--ray-workers", "1",
                       "--rate", "0.2", "--seed", "7", "--batch-size", "8", "--json"])
    assert status == cli.INTERRUPTED and bar.updates == [64, 64]
    summary = json.loads(capsys.readouterr().out)
    assert summary["interrupted"]
    expected = evaluate(default_model, iter(LINES[:128]), **OPTIONS)
    _assert_same({**summary, "interrupted": False}, expected)


def test_a_model_the_workers_cannot_load_is_one_clear_error(local_ray):
    with pytest.raises(ValueError, match=r"^a Ray worker failed: .*missing-model does not exist"):
        evaluate_on_ray("/missing-model", iter(LINES), workers=1)


def test_the_cli_joins_a_running_ray_and_prints_only_the_summary(local_ray, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES[:40]) + "\n")
    command = [sys.executable, "-m", "mlmviz", "evaluate", "--corpus", str(corpus),
               "--ray", "auto", "--ray-workers", "1", "--seed", "3", "--json"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)  # one object: the workers' output stays off stdout
    assert summary["lines"] + summary["skipped_lines"] == 40 and not summary["interrupted"]


@pytest.fixture
def ray_head():
    """A second Ray cluster, as `ray start --head` makes one (with token
    authentication, its own token and temp folder), reached through Ray
    Client on a loopback port; stopped at the end. Yields (address, token)."""
    token, temp = secrets.token_hex(16), tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: sockets
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token,
           "RAY_USAGE_STATS_ENABLED": "0"}
    client_port = free_port()
    head = subprocess.Popen(
        [Path(sys.executable).with_name("ray"), "start", "--head", "--block",
         "--node-ip-address=127.0.0.1", f"--port={free_port()}",
         f"--ray-client-server-port={client_port}", "--include-dashboard=false",
         "--num-cpus=2", f"--temp-dir={temp}", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while socket.socket().connect_ex(("127.0.0.1", client_port)) != 0:
            assert head.poll() is None and time.monotonic() < deadline, "ray start failed"
            time.sleep(0.5)
        yield f"ray://127.0.0.1:{client_port}", token
    finally:
        # Ray Client's logs, shown when the test fails (its servers' start, their errors).
        for log in sorted(Path(temp).glob("session_latest/logs/ray_client_server*.err")):
            print(f"{log.name}:", log.read_text(errors="replace")[-3000:], sep="\n")
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


def _evaluate_cli(corpus, *options, env=None):
    command = [sys.executable, "-m", "mlmviz", "evaluate", "--corpus", str(corpus),
               "--seed", "3", "--json", *options]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_the_cli_joins_a_cluster_through_ray_client_with_its_token(ray_head, tmp_path):
    """The cluster recipe: `evaluate --ray ray://HOST:PORT` against `ray start
    --head`, which asks for a token; without one the failure says so."""
    address, token = ray_head
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES[:40]) + "\n")
    local = _evaluate_cli(corpus)
    remote = _evaluate_cli(corpus, "--ray", address, "--ray-workers", "1",
                           env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr[-2000:]
    summary = json.loads(remote.stdout)
    assert summary["interrupted"] is False and summary["lines"] > 30
    _assert_same(summary, json.loads(local.stdout), rel=1e-5)
    refused = _evaluate_cli(corpus, "--ray", address, env={"RAY_AUTH_MODE": ""})
    assert refused.returncode == 2 and refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"mlmviz: error: could not join the Ray cluster at {address}")
    assert "token authentication: set RAY_AUTH_MODE=token" in line


def test_a_failed_ray_client_server_start_is_tried_once_more(monkeypatch):
    """Ray Client's per-connection server may fail to start on a busy head: the
    connection is tried once more, and a second failure is reported in one line."""
    from mlmviz.analysis import ray_evaluation

    calls = []

    def init(**kwargs):
        calls.append(kwargs["address"])
        raise ConnectionError("RuntimeError: Starting Ray client server failed. See "
                              "ray_client_server_23000.err for detailed logs.")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    with pytest.raises(ValueError, match="^could not join the Ray cluster at ray://h:1: "
                                         "RuntimeError: Starting Ray client server failed"):
        with ray_evaluation.ray_session("ray://h:1"):
            pass
    assert calls == ["ray://h:1"] * 2


@pytest.mark.parametrize(
    "argv, message",
    [(["--ray"], 'Ray, which is not installed: pip install "ray>='),
     (["--ray-workers", "2"], "--ray-workers needs --ray")],
)
def test_without_ray_or_without_flag_the_cli_says_what_to_do(tmp_path, capsys, monkeypatch,
                                                             argv, message):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as when not installed
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat .\n")
    assert cli.main(["evaluate", "--corpus", str(corpus), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err


@pytest.mark.parametrize(
    "nodes, workers, expected",
    [
        ([{"CPU": 16, "GPU": 2}, {"CPU": 8, "GPU": 1}], None, (3, {"num_gpus": 1})),
        ([{"CPU": 16, "GPU": 2}], 1, (1, {"num_gpus": 1})),
        ([{"CPU": 16}, {"CPU": 6}], None, (5, {"num_cpus": 4})),
        ([{"CPU": 2}], None, (1, {"num_cpus": 2})),
        ([{"CPU": 2}], 2, (2, {"num_cpus": 1})),
        ([{"CPU": 3}, {"CPU": 3}], 3, (3, {"num_cpus": 1})),  # 2 each would fit only 2
        ([{"CPU": 16}, {"CPU": 16}], 4, (4, {"num_cpus": 8})),
    ],
)
def test_plan_one_actor_per_gpu_else_cpu_actors_that_fit(nodes, workers, expected):
    assert plan(nodes, workers) == expected


@pytest.mark.parametrize(
    "nodes, workers, message",
    [([{"CPU": 8, "GPU": 1}], 2, "1 GPUs"), ([{"CPU": 2}], 3, "2 CPUs"),
     ([{"CPU": 2}], 0, "positive integer"), ([{"CPU": 0}], None, "no CPU")],
)
def test_plan_refuses_what_cannot_be_placed(nodes, workers, message):
    with pytest.raises(ValueError, match=message):
        plan(nodes, workers)


def test_importing_mlmviz_does_not_import_ray():
    code = ("import sys, mlmviz, mlmviz.cli, mlmviz.analysis.ray_evaluation\n"
            "print('ray' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False"]


def test_ray_actors_share_out_the_pseudo_likelihood(local_ray, default_model):
    lines = LINES[:64]
    local = evaluate(default_model, iter(lines), pll=True, **OPTIONS)
    sharded = evaluate_on_ray("default", iter(lines), workers=2, pll=True, **OPTIONS)
    assert local["pll_tokens"] > 0
    _assert_same(sharded, local)


def test_ray_refuses_compare(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat .\n")
    argv = ["evaluate", "--corpus", str(corpus), "--ray", "--compare", "default"]
    assert cli.main(argv) == 2
    assert "--compare runs on one machine" in capsys.readouterr().err
