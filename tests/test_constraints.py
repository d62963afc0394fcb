"""Reproducible installs: every dependency pinned in constraints.txt, and every install
path passing it to pip (issue 13, item 7)."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, pinned = line.partition("==")
            assert sep and pinned, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = pinned
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_every_requirement_is_pinned_within_its_range() -> None:
    pins = _pins()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in constraints.txt (make lock)"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (req, pins[name])


def test_every_install_path_passes_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PIN    := -c constraints.txt" in makefile
    assert "$(BIN)/pip install --quiet $(PIN) -e '.[dev]'" in makefile
    assert "\nlock: " in makefile and "tools/lock.py" in makefile
    assert "pip install -c constraints.txt ." in (ROOT / "Dockerfile").read_text()
    assert "-c constraints.txt torch" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("name", sorted(_pins()))
def test_the_installed_version_is_the_pinned_one(name: str) -> None:
    try:
        installed = version(name)
    except PackageNotFoundError:
        pytest.skip(f"{name} is not installed here (an optional extra)")
    assert installed.split("+")[0] == _pins()[name], "installed without -c constraints.txt?"
