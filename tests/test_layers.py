"""Layers import one way: core -> landscape -> api -> cli; core and landscape are NumPy only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "gradscape"
ALLOWED_THIRD_PARTY = {"numpy"}
FORBIDDEN = ("fastapi", "pydantic", "plotly", "starlette", "uvicorn")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("layer", "may_use"), [("core", {"core"}), ("landscape", {"core", "landscape"})]
)
def test_numpy_only_layers_import_nothing_else(layer: str, may_use: set[str]) -> None:
    files = sorted((PACKAGE / layer).glob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "gradscape":
                assert name.split(".")[1] in may_use, f"{path.name} imports {name}"
            else:
                assert top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names, (
                    f"{path.name} imports {name}"
                )


def test_importing_core_and_landscape_loads_no_web_stack() -> None:
    code = (
        "import sys, gradscape.core.session, gradscape.landscape;"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
