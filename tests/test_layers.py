"""The house's shape: core -> landscape -> service -> api -> cli, one way, without cycles.

Imports are read with ``ast`` from every module, including those inside functions and
under ``TYPE_CHECKING`` (a cycle hidden there is still a cycle in the design).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "gradscape"
LAYERS = ("core", "landscape", "service", "api", "cli")
WEB = ("fastapi", "pydantic", "starlette", "uvicorn")
THIRD_PARTY = {"core": {"numpy"}, "landscape": {"numpy"}, "service": {"numpy"}}
PLOTLY_ONLY_IN = {"gradscape.service.report"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement sits."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # ``from gradscape.core import session`` imports the submodule too
            names |= {f"{node.module}.{a.name}" for a in node.names} & MODULES.keys()
    return names


def _internal(path: Path) -> set[str]:
    return {name for name in _imports(path) if name in MODULES}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


GRAPH = {name: _internal(path) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles_anywhere() -> None:
    # A package importing its own submodules is how it re-exports them, not a cycle.
    graph = {
        mod: {d for d in deps if not (MODULES[mod].name == "__init__.py" and d.startswith(mod))}
        for mod, deps in GRAPH.items()
    }
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_graph_sees_imports_inside_functions_and_type_checking(tmp_path: Path) -> None:
    assert "gradscape.api.app" in GRAPH["gradscape.cli"]  # imported inside `serve`
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import typing\nif typing.TYPE_CHECKING:\n    from gradscape.core import session\n"
    )
    assert "gradscape.core.session" in _imports(probe)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m)))
def test_no_layer_imports_one_above_it(module: str) -> None:
    here = LAYERS.index(_layer(module) or "")
    for dep in GRAPH[module]:
        there = _layer(dep)
        assert there is None or LAYERS.index(there) <= here, f"{module} imports {dep}"


@pytest.mark.parametrize("layer", ["core", "landscape", "service"])
def test_lower_layers_use_no_web_framework(layer: str) -> None:
    files = {m: p for m, p in MODULES.items() if _layer(m) == layer}
    assert files
    for module, path in files.items():
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "gradscape" or top in sys.stdlib_module_names:
                continue
            allowed = THIRD_PARTY[layer] | ({"plotly"} if module in PLOTLY_ONLY_IN else set())
            assert top in allowed, f"{module} imports {name}"


def test_only_serve_imports_the_web_layer_from_the_cli() -> None:
    tree = ast.parse(MODULES["gradscape.cli"].read_text())
    top_level = {
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert not any(m.startswith("gradscape.api") for m in top_level), top_level
    for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        uses_api = any(
            isinstance(n, ast.ImportFrom) and (n.module or "").startswith("gradscape.api")
            for n in ast.walk(fn)
        )
        assert not uses_api or fn.name == "_cmd_serve", fn.name


def test_importing_the_lower_layers_loads_no_web_stack() -> None:
    code = (
        "import sys, gradscape.core.session, gradscape.landscape, gradscape.service.live,"
        " gradscape.service.views, gradscape.service.frames, gradscape.service.surfaces,"
        " gradscape.service.exporting, gradscape.cli;"
        f"bad = [m for m in {(*WEB, 'plotly')!r} if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
