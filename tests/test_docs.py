"""The manual runs: every shell command and Python snippet of README.md and
docs/*.md, so that the docs cannot drift from the product.

Each line of a ```sh block is one command (a trailing backslash continues
it; `# ...` comments are dropped), and each must fall in one of three groups,
else the test fails:

- run: the `mlmviz` command (`mlmviz`, `python -m mlmviz`, `.venv/bin/mlmviz`,
  `.venv/bin/python -m mlmviz`, all run as `sys.executable -m mlmviz`),
  `python -c`, and the plain utilities that prepare their input (`printf`,
  `cat`, `zcat`, `head`), alone or in a pipeline. A page's commands run in
  order in one temporary folder that holds links to the repository's files,
  so they run as written from the repository root and what they write stays
  out of it. Exit status 0 is expected, except where a command names a model
  of the Hugging Face Hub (`hf:`): the Hub is off (`HF_HUB_OFFLINE=1`, an
  empty cache), so it must exit with status 2 and one line on stderr.
- serve: `mlmviz app [SOURCE] [--port P] [--host H]`, `mlmviz serve
  [OPTIONS]`, `make run` and `streamlit run app.py`: started on a free
  loopback port (`--host` is dropped), `/_stcore/health` must answer `ok`,
  then the server is stopped.
  `make run` is `streamlit run app.py` once `.venv` is installed.
- NOT_RUN: commands this test cannot run (installs, CI, GPU, clusters,
  benchmarks), each with what covers it instead. An entry no page uses fails.

Each ```python block is run in its own temporary folder like the commands.
Any other fenced block must be plain text (no language) and hold no command.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tools.appserver import free_port, start_server, stop_server, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
TIMEOUT = 600

WHEEL = "tests/test_wheel.py (builds the wheel, installs it with [app] in a fresh venv, runs mlmviz there)"
RAY = "tests/analysis/test_ray_evaluation.py (the CLI on a local Ray, joining a running Ray)"
BENCHMARK = "a benchmark, run by hand (minutes); its results are in BENCHMARKS.md"
NOT_RUN = {
    "make test": "CI itself (.ci/run runs make test; this file is one of its tests)",
    "make check": "make test (it runs a superset: the same tests plus browser, servers, wheel, Ray)",
    "make fuzz": "make test (tests/test_properties.py with fewer examples each)",
    ".venv/bin/python -m pytest tests/test_docs.py -p no:randomly": "this file, in make test",
    'pip install ".[app]"': WHEEL,
    'pip install ".[ray,notebook]"': "tests/test_wheel.py (the wheel declares every import, by extra)",
    "pip install build": "make test (requirements-dev.txt pins build; tests/test_wheel.py runs it)",
    "python -m build --wheel": WHEEL,
    'pip install "dist/mlmviz-0.1.0-py3-none-any.whl[app]"': WHEEL,
    'pip install "dist/mlmviz-0.1.0-py3-none-any.whl[app,notebook]"': WHEEL,
    '.venv/bin/pip install "tensorflow[and-cuda]==2.21.0"':
        "needs an NVIDIA GPU: tests/test_device.py --check-gpu on a GPU machine",
    ".venv/bin/python -m pytest tests/test_layers.py tests/test_device.py --check-gpu":
        "tests/test_layers.py and tests/test_device.py, in make test (without the GPU check)",
    "sudo apt-get install nginx": "make test (the Makefile's nginx target installs it)",
    ".venv/bin/python deploy/serve.py --replicas 4 --port 8080": "tests/e2e/test_replicas.py",
    "mlmviz serve --host 0.0.0.0 --port 8080 --models-dir ./class-models":
        "tests/test_wheel.py (mlmviz serve --models-dir from the installed package; "
        "the tests bind loopback only)",
    "mlmviz serve --replicas 4 --host 0.0.0.0 --port 8080 --models-dir ./class-models "
    "--allow-uploads": "tests/e2e/test_shared_server.py (two replicas behind nginx; uploads "
                       "within the budget)",
    ".venv/bin/python deploy/fault_run.py": "tests/e2e/test_replicas.py (the fault run, small)",
    ".venv/bin/python benchmarks/load_sessions.py --sessions 16 --seconds 60":
        "tests/e2e/test_load.py (4 sessions for 10 s)",
    ".venv/bin/python benchmarks/load_protocol.py --users 10,20,30 --seconds 120":
        "tests/e2e/test_load_protocol.py (3 Locust users for 10 s)",
    ".venv/bin/python benchmarks/bench_head.py": BENCHMARK,
    ".venv/bin/python benchmarks/bench_fill_mask.py": BENCHMARK,
    ".venv/bin/python benchmarks/bench_app.py": BENCHMARK,
    ".venv/bin/python benchmarks/bench_default_model.py":
        "tests/analysis/test_cloze.py (the cloze.json it writes matches a fresh count)",
    "ray start --head": RAY,
    "ray start --address=HEAD_IP:6379": RAY,
    "mlmviz evaluate --ray auto --json": RAY,
}
SERVE = re.compile(r"(mlmviz|python -m mlmviz|\.venv/bin/mlmviz|\.venv/bin/python -m mlmviz) "
                   r"(app|serve)\b"
                   r"|make run|streamlit run app\.py")
PROGRAM = re.compile(r"((?:\.venv/bin/)?python -m mlmviz|(?:\.venv/bin/)?mlmviz|"
                     r"(?:\.venv/bin/)?python -c|printf|cat|zcat|head)(?=\s|$)")
ASSIGNMENT = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")
REPO_PATH = re.compile(r"(?<![\w/.(])((?:mlmviz|benchmarks|deploy|tools|tests|examples|assets|docs)"
                       r"/[\w./*-]+)")


def _blocks(page):
    """`(language, body)` of every fenced block of `page`."""
    return FENCE.findall(page.read_text())


def _commands(body):
    """The commands of a ```sh block: continuations joined, comments dropped,
    whitespace normalised."""
    commands = []
    for line in re.sub(r"\\\n", " ", body).splitlines():
        line = re.sub(r"(^|\s)#\s.*$", "", line)
        if line.strip():
            commands.append(" ".join(line.split()))
    return commands


def _page_commands(page):
    return [c for language, body in _blocks(page) if language == "sh" for c in _commands(body)]


def _snippets():
    return [pytest.param(page, body, id=f"{page.relative_to(ROOT)}:{index}")
            for page in PAGES
            for index, body in enumerate(b for language, b in _blocks(page) if language == "python")]


def _group(command):
    """'serve', 'not run' or 'run'; an AssertionError for a command in none."""
    if command in NOT_RUN:
        return "not run"
    if SERVE.match(command):
        return "serve"
    stages = [ASSIGNMENT.sub("", stage.strip()) for stage in command.split("|")]
    if all(PROGRAM.match(stage) for stage in stages):
        return "run"
    raise AssertionError(f"{command!r} is not run, not a server and not in NOT_RUN: "
                         "make it runnable or list it with the test that covers it")


def _names_the_hub(command):
    """Whether `command` names a Hub model: `hf:ORG/NAME`, or a well-known
    model's name as `mlmviz app` takes it."""
    from mlmviz.sources.known import KNOWN_MODELS

    names = {n for m in KNOWN_MODELS for n in (m.repo_id, m.repo_id.split("/")[1])}
    return "hf:" in command or any(word in names for word in shlex.split(command))


def _as_run(command):
    """The command with mlmviz and python as this interpreter (`.venv`'s)."""
    python = shlex.quote(sys.executable)
    stages = []
    for stage in command.split("|"):
        assignments = re.match(r"\s*((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)", stage).group(1)
        rest = stage.strip()[len(assignments.strip()):].strip()
        rest = re.sub(r"^(?:\.venv/bin/)?python(?=\s)", python, rest)
        rest = re.sub(r"^(?:\.venv/bin/)?mlmviz(?=\s|$)", f"{python} -m mlmviz", rest)
        stages.append(f"{assignments}{rest}")
    return " | ".join(stages)


def _workdir(path):
    """`path` with a link to each of the repository's top-level files and folders."""
    path.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name not in (".git", "dist", "build"):
            (path / entry.name).symlink_to(entry)
    return path


@pytest.fixture(scope="module")
def hub_off(tmp_path_factory):
    """The environment of the commands: the Hub off, with an empty cache."""
    home = tmp_path_factory.mktemp("hf-home")
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(home),
            "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def served():
    """The server launches already checked in this module (each is checked once)."""
    return set()


def _serve(command, cwd, env, served):
    """Start the server `command` names on a free port, check its health, stop it."""
    words = shlex.split(command)
    if words[:2] in (["make", "run"], ["streamlit", "run"]):
        launch = ("app.py",)
    else:
        command_name = SERVE.match(command).group(2)
        words = words[words.index(command_name) + 1:]
        kept, skip = [], False
        for word in words:
            if skip or word in ("--port", "--host"):
                skip = not skip
                continue
            kept.append(word)
        launch = (f"mlmviz {command_name}", *kept)
    if launch in served:
        return
    port = free_port()
    log = open(cwd / f"server-{port}.log", "w+")  # noqa: SIM115 (closed below)
    if launch == ("app.py",):  # what `make run` serves once .venv is installed
        process = start_server(port, log)
    else:
        if _names_the_hub(command):
            _expect_hub_refusal(command, [sys.executable, "-m", "mlmviz", command_name, *kept,
                                          "--port", str(port)], cwd, env)
            served.add(launch)
            return
        process = subprocess.Popen([sys.executable, "-m", "mlmviz", command_name, *kept,
                                    "--port", str(port)], cwd=cwd, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process, timeout=300)
    except RuntimeError as error:
        log.seek(0)
        raise AssertionError(f"{command!r}: {error}\n{log.read()[-3000:]}") from None
    finally:
        stop_server(process)
        log.close()
    served.add(launch)


def _expect_hub_refusal(command, argv_or_line, cwd, env):
    """A command naming a Hub model, with the Hub off: status 2 and one line."""
    result = subprocess.run(argv_or_line, shell=isinstance(argv_or_line, str), cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT,
                            executable="/bin/bash" if isinstance(argv_or_line, str) else None)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, (command, result.returncode, result.stderr)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_of_the_page_runs_or_is_served_or_is_covered(page, tmp_path, hub_off,
                                                                   served):
    cwd = _workdir(tmp_path / "repo")
    for command in _page_commands(page):
        group = _group(command)
        if group == "serve":
            _serve(command, cwd, hub_off, served)
        elif group == "run" and _names_the_hub(command):
            _expect_hub_refusal(command, _as_run(command), cwd, hub_off)
        elif group == "run":
            result = subprocess.run(_as_run(command), shell=True, executable="/bin/bash",
                                    cwd=cwd, env=hub_off, capture_output=True, text=True,
                                    timeout=TIMEOUT)
            assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-3000:])


@pytest.mark.parametrize(("page", "code"), _snippets())
def test_every_python_snippet_runs_as_written(page, code, tmp_path, monkeypatch):
    monkeypatch.chdir(_workdir(tmp_path / "repo"))
    exec(compile(code, str(page), "exec"), {"__name__": "__docs__"})  # noqa: S102


def test_the_pages_have_commands_and_snippets_and_no_other_code():
    """The parser sees the manual (no silent zero), and no command hides in
    a block of another language."""
    commands = [c for page in PAGES for c in _page_commands(page)]
    groups = {_group(command) for command in commands}
    assert len(commands) > 30 and groups == {"run", "serve", "not run"}
    assert len(_snippets()) >= 5
    for page in PAGES:
        for language, body in _blocks(page):
            assert language in ("sh", "python", ""), (page, language)
            if language == "":
                assert not re.search(r"^\s*(\$ |mlmviz |python|\.venv/|make |pip )", body, re.M), page


def test_every_not_run_entry_is_a_command_of_the_docs():
    commands = {c for page in PAGES for c in _page_commands(page)}
    assert sorted(set(NOT_RUN) - commands) == []


def test_every_repository_path_and_link_of_the_docs_exists():
    """Paths the docs name (`mlmviz/app/view.py`, `benchmarks/...`) and their
    relative links point at files of the repository."""
    missing = []
    for page in PAGES:
        text = page.read_text()
        for path in REPO_PATH.findall(text):
            path = path.rstrip(".")
            if not (ROOT / path).exists() and "*" not in path:
                missing.append(f"{page.name}: {path}")
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+://", link) and not (page.parent / link).exists():
                missing.append(f"{page.name}: link {link}")
    assert missing == []


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda p: str(p.relative_to(ROOT)))
def test_each_docs_page_opens_with_a_title_and_what_it_covers(page):
    lines = page.read_text().splitlines()
    assert lines[0].startswith("# ") and lines[1] == "" and lines[2].strip()


def test_the_readme_is_a_front_page_that_links_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert readme.count("\n") <= 150
    assert all(f"(docs/{page.name})" in readme for page in PAGES[1:])
