"""The package as a user meets it: Streamlit only in the app layer, the manual's code runs."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlmviz"
APP = PACKAGE / "app"


def _core_modules():
    """Every module of mlmviz outside the app layer, and the app package's
    `__init__` (the command line reads the entry script's path from it)."""
    return [p for p in sorted(PACKAGE.rglob("*.py")) if APP not in p.parents or p == APP / "__init__.py"]


def _imported_modules(path):
    """Top-level names of every module `path` imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_outside_the_app_layer_imports_streamlit():
    modules = _core_modules()
    assert len(modules) > 20
    offenders = [str(p.relative_to(ROOT)) for p in modules if "streamlit" in _imported_modules(p)]
    assert offenders == []


def test_the_app_layer_is_in_the_package_with_no_pages_folder_beside_its_entry():
    """Streamlit runs a page opened by its URL without the router when a
    folder named pages/ sits beside the script it runs."""
    assert (APP / "router.py").is_file() and len(list((APP / "app_pages").glob("*.py"))) == 10
    assert not (APP / "pages").exists() and not (ROOT / "pages").exists()
    assert (ROOT / "app.py").read_text().count("\n") < 10  # the checkout's hand-over only


def test_mlmviz_app_runs_streamlit_with_the_checkouts_options():
    """`make run` reads .streamlit/config.toml; `mlmviz app` passes `OPTIONS`
    (it runs from any folder): the two agree on every option the file sets."""
    from mlmviz.app import OPTIONS

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    options = {f"{section}.{name}": value for section, values in config.items()
               for name, value in values.items()}
    assert options == {name: OPTIONS[name] for name in options}


def test_importing_every_core_module_of_mlmviz_loads_no_streamlit():
    names = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in _core_modules()]
    names = [n.removesuffix(".__init__") for n in names if not n.endswith("__main__")]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _docs_snippet(page, marker):
    """The first ```python block of docs/`page` that holds `marker` (tests/test_docs.py
    runs every snippet; these check what they compute)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S)
    return next(block for block in blocks if marker in block)


def test_the_docs_notebook_snippet_runs_as_written():
    namespace = {}
    exec(_docs_snippet("notebooks.md", 'mlmviz.load("default")'), namespace)  # noqa: S102
    masked = namespace["masked"]
    assert masked.positions and namespace["model"].vocabulary


def test_the_docs_attention_snippet_runs_as_written():
    namespace = {}
    exec(_docs_snippet("notebooks.md", "attention.attention("), namespace)  # noqa: S102
    weights, model = namespace["weights"], namespace["model"]
    tokens = len(namespace["masked"].ids)
    assert weights.shape[2:] == (tokens, tokens)
    assert weights.shape[0] == model.metadata["num_layers"]


def test_the_docs_layer_snippet_runs_as_written():
    namespace = {}
    exec(_docs_snippet("architecture.md", "MaskedLMHead("), namespace)  # noqa: S102
    assert tuple(namespace["logits"].shape) == (1, 2, 30522)
    assert namespace["stages"]["logits"].shape == (1, 2, 30522)
