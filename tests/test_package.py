"""The package as a user meets it: Streamlit only in the app layer, the README's code runs."""

import ast
import re
import subprocess
import sys
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


def _readme_snippet(marker):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(block for block in blocks if marker in block)


def test_the_readme_notebook_snippet_runs_as_written():
    namespace = {}
    exec(_readme_snippet('mlmviz.load("default")'), namespace)  # noqa: S102
    masked = namespace["masked"]
    assert masked.positions and namespace["model"].vocabulary


def test_the_readme_attention_snippet_runs_as_written():
    namespace = {}
    exec(_readme_snippet("attention.attention("), namespace)  # noqa: S102
    assert namespace["weights"].shape == (2, 2, 12, 12)


def test_the_readme_layer_snippet_runs_as_written():
    namespace = {}
    exec(_readme_snippet("MaskedLMHead("), namespace)  # noqa: S102
    assert tuple(namespace["logits"].shape) == (1, 2, 30522)
    assert namespace["stages"]["logits"].shape == (1, 2, 30522)
