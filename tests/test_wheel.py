"""`pip install "mlmviz[app]"`: the wheel holds the package, its default model,
its samples and the app, and, installed into a fresh virtual environment
outside the repository, its `mlmviz` console script predicts, evaluates and
trains a head on its default inputs, `mlmviz.load("default")` works, and
`mlmviz app [SOURCE]` serves the app.

Slow: one wheel and one virtual environment serve the whole module; uv (or pip)
fetches the dependencies (TensorFlow among them) from the package index, or
from its cache when `make test` has just installed them.
"""

import ast
import contextlib
import email.parser
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from hf_checkpoints import make_checkpoint

from benchmarks.st_protocol import Session, charts, problems
from tools.appserver import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlmviz"
MODEL = PACKAGE / "assets" / "default-model"
SAMPLE = PACKAGE / "assets" / "heldout-sample.txt"
SENTENCE = "he opened the [MASK] ."
INSTALL_TIMEOUT = 1800  # seconds: TensorFlow alone is a 570 MB download
RUN_TIMEOUT = 600


def _run(command, cwd, timeout=RUN_TIMEOUT, env=None):
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel that `python -m build --wheel` makes of the repository."""
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT], cwd=ROOT)
    (path,) = out.glob("mlmviz-*.whl")
    return path


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A working directory outside the repository."""
    directory = tmp_path_factory.mktemp("outside")
    assert not directory.resolve().is_relative_to(ROOT)
    return directory


@pytest.fixture(scope="module")
def user_env(outside):
    """The environment of a user's shell: nothing points into the repository,
    and Keras sees no configuration of ours (its default backend applies)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "KERAS_BACKEND")}
    env["KERAS_HOME"] = str(outside / "keras-home")
    return env


@pytest.fixture(scope="module")
def venv(wheel, outside, user_env):
    """The `bin/` of a fresh virtual environment (no system site-packages)
    into which uv or pip has installed the wheel with its `app` extra and their
    dependencies; removed afterwards (it holds about 2.5 GB)."""
    home = outside / "venv"
    _run([sys.executable, "-m", "venv", home], cwd=outside)
    assert "include-system-site-packages = false" in (home / "pyvenv.cfg").read_text()
    _run(_install_command(home / "bin" / "python", wheel), cwd=outside,
         timeout=INSTALL_TIMEOUT, env=user_env)
    yield home / "bin"
    shutil.rmtree(home)


def _install_command(python, wheel):
    """Install `wheel` and its dependencies into `python`'s environment: with the
    uv beside this interpreter (`make test` installs it; seconds from its cache),
    else with pip. Neither writes .pyc files of all of TensorFlow (faster to
    write and to remove); what the commands import is compiled as they run."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        return [python, "-m", "pip", "install", "--no-compile", f"{wheel}[app]"]
    links = os.environ.get("PIP_FIND_LINKS", "").split()  # uv reads no pip configuration
    return [uv, "pip", "install", "--python", python,
            *[f"--find-links={link}" for link in links], f"{wheel}[app]"]


def _package_files():
    """The files under mlmviz/ that a wheel must hold: all but compiled caches."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_the_wheel_holds_the_package_and_its_model_and_nothing_else(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        inside = {n for n in names if n.startswith("mlmviz/")}
        assert inside == _package_files()
        assert {f"mlmviz/assets/default-model/{name}" for name in (
            "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "MODEL_CARD.md")} <= inside
        for name in inside:
            assert archive.read(name) == (ROOT / name).read_bytes(), name
    dist_info = {n for n in names if n not in inside}
    assert all(re.fullmatch(r"mlmviz-[^/]+\.dist-info/[^/]+", n) for n in dist_info), dist_info
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert wheel.stat().st_size <= 20 * 2**20


def _metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(name).decode()
    return metadata, entry_points


def _requirements(metadata):
    """{distribution name: its markers ("" for none)} from the Requires-Dist lines."""
    requirements = {}
    for line in metadata.get_all("Requires-Dist"):
        spec, _, marker = line.partition(";")
        name = re.match(r"[A-Za-z0-9._-]+", spec).group()
        assert "==" not in spec, f"a pin, not a range: {line}"
        requirements.setdefault(re.sub(r"[-_.]+", "-", name).lower(), set()).add(marker.strip())
    return requirements


def _third_party_imports():
    """Top-level names of the non-standard modules that mlmviz/ imports anywhere."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"mlmviz"}


def test_the_wheel_declares_the_console_script_and_every_import(wheel):
    metadata, entry_points = _metadata(wheel)
    assert re.search(r"\[console_scripts\]\s+mlmviz = mlmviz\.cli:main", entry_points)
    requirements = _requirements(metadata)
    assert "" in requirements["tensorflow"]  # the default backend comes with the package
    assert requirements["streamlit"] == {"extra == 'app'"}  # only the app needs it
    distributions = importlib.metadata.packages_distributions()
    for module in _third_party_imports():
        declared = [d for d in distributions[module]
                    if re.sub(r"[-_.]+", "-", d).lower() in requirements]
        assert declared, f"mlmviz imports {module}, which no requirement provides"


def test_the_console_script_predicts_from_the_installed_package(venv, outside, user_env):
    result = _run([venv / "mlmviz", "predict", SENTENCE], cwd=outside, env=user_env)
    lines = result.stdout.splitlines()
    assert lines[0] == "position 4 ([MASK]):"
    assert lines[1].split()[0] == "door"
    assert len(lines) == 6  # the mask's header and its top 5


def test_the_installed_package_loads_the_default_model_it_ships(venv, outside, user_env):
    code = ("import sys, mlmviz; model = mlmviz.load('default'); "
            "from mlmviz.sources.load import DEFAULT_MODEL; "
            "print(mlmviz.__file__, DEFAULT_MODEL, model.metadata['weight_hash'], "
            "'streamlit' not in sys.modules)")
    result = _run([venv / "python", "-c", code], cwd=outside, env=user_env)
    package, model_dir, weight_hash, no_streamlit = result.stdout.split()
    site_packages = venv.parent / "lib"
    assert Path(package).is_relative_to(site_packages)
    assert Path(model_dir).is_relative_to(site_packages) and Path(model_dir).name == "default-model"
    assert weight_hash in (MODEL / "MODEL_CARD.md").read_text()
    assert no_streamlit == "True"  # the library never imports the app's Streamlit


def test_the_console_script_evaluates_a_corpus(venv, outside, user_env):
    corpus = outside / "corpus.txt"
    corpus.write_text("".join(SAMPLE.read_text(encoding="utf-8").splitlines(True)[:100]),
                      encoding="utf-8")
    result = _run([venv / "mlmviz", "evaluate", "--corpus", corpus, "--json"],
                  cwd=outside, env=user_env)
    summary = json.loads(result.stdout)
    assert summary["lines"] == 100 and summary["masked_tokens"] >= 100
    assert summary["top1_accuracy"] > 0.2  # the card's held-out accuracy is a third
    # Without --corpus: the held-out sample shipped in the package, the same lines.
    shipped = _run([venv / "mlmviz", "evaluate", "--max-lines", "100", "--json"],
                   cwd=outside, env=user_env)
    assert json.loads(shipped.stdout) == summary


def test_the_console_script_trains_a_head_on_its_shipped_samples(venv, outside, user_env):
    out = outside / "head"
    result = _run([venv / "mlmviz", "train-head", "--base", "default", "--steps", "20",
                   "--positions", "2000", "--out", out, "--json"], cwd=outside, env=user_env)
    record = json.loads(result.stdout)
    assert record["steps"] == 20 and 0 <= record["heldout_accuracy"] <= 1
    assert (out / "model.keras").is_file()


@contextlib.contextmanager
def _app(venv, outside, user_env, *source, command="app"):
    """`mlmviz app [SOURCE] --port P` (or `mlmviz serve ARGUMENTS --port P`) from
    the installed package, running and healthy; yields (URL, its first output
    line); stopped with Ctrl-C (SIGINT), after which it must exit 0."""
    port = free_port()
    log = outside / f"app-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen([venv / "mlmviz", command, *source, "--port", str(port)],
                                   cwd=outside, env=user_env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout=180)
        yield url, log.read_text().splitlines()[0]
    finally:
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=60)
    assert status == 0, log.read_text()[-2000:]


def _sidebar_and_link(url, query=None):
    """One visit (with the link's `query`, a dict): (the markdown texts of the
    page, the query string the app set)."""
    with Session(url, timeout=120) as session:
        session.open(query)
        elements = session.elements()
        assert problems(elements) == []
        assert charts(elements), "Predict drew no chart"
        texts = [e.markdown.body for e in elements if e.WhichOneof("type") == "markdown"]
        return texts, session.query_string


def test_mlmviz_app_serves_predict_on_the_embedded_model(venv, outside, user_env):
    with _app(venv, outside, user_env) as (url, first_line):
        assert first_line.startswith(f"mlmviz app: {url}/ on default")
        texts, query = _sidebar_and_link(url)
    assert any(text.startswith("**default**: bert, ") for text in texts)
    assert "model_kind" not in query  # the embedded default needs no model in the link


def test_mlmviz_app_on_a_checkpoint_folder_opens_with_that_model(venv, outside, user_env):
    folder = make_checkpoint("bert", outside / "my-checkpoint")
    with _app(venv, outside, user_env, "my-checkpoint") as (url, _):
        texts, query = _sidebar_and_link(url)
    assert any(text.startswith(f"**{folder}**: bert") for text in texts)
    link = parse_qs(query)
    assert (link["model_kind"], link["model_path"]) == (["Checkpoint path"], [str(folder)])


def test_mlmviz_serve_offers_the_models_folder_and_no_path(venv, outside, user_env):
    folder = make_checkpoint("bert", outside / "offered" / "tiny-bert")
    elsewhere = make_checkpoint("bert", outside / "elsewhere")
    with _app(venv, outside, user_env, "--models-dir", "offered", command="serve") as (url, first):
        assert first.startswith(f"mlmviz serve: {url}/ in shared mode; models offered: "
                                "embedded default, tiny-bert;")
        texts, query = _sidebar_and_link(url, {"model_kind": "Server model",
                                               "server_model": "tiny-bert"})
        assert any(text.startswith("**server:tiny-bert**: bert") for text in texts)
        assert parse_qs(query)["server_model"] == ["tiny-bert"]
        texts, query = _sidebar_and_link(url, {"model_kind": "Checkpoint path",
                                               "model_path": str(elsewhere)})
    assert any(text.startswith("**default**: bert, ") for text in texts)
    assert not any(str(outside) in text for text in texts), folder


def test_mlmviz_app_refuses_a_bad_source_in_one_line_before_serving(venv, outside, user_env):
    port = free_port()
    result = subprocess.run([venv / "mlmviz", "app", "no-such-folder", "--port", str(port)],
                            cwd=outside, env=user_env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"mlmviz: error: {outside / 'no-such-folder'} does not exist."]
    with socket.socket() as probe:  # no server was started on the port
        assert probe.connect_ex(("127.0.0.1", port)) != 0
