"""Shared test helpers."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

#: ``GRADSCAPE_TORCH=required`` (set by ``.ci/run``): a torch reference test that would
#: skip for want of torch fails instead, the way ``GRADSCAPE_E2E=required`` treats the browser.
TORCH_REQUIRED = "GRADSCAPE_TORCH"
#: The repository's root (so a pytest run elsewhere can import ``tests``).
ROOT = Path(__file__).resolve().parents[1]


def run_pytest(
    where: Path, test_file: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """pytest on ``where/test_file`` in a fresh interpreter (``env``: the environment, this
    one's by default), with the repository importable; its output as text."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args, "-p", "no:cacheprovider", test_file],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def central_difference(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Central finite-difference gradient of scalar ``f`` at ``x``."""
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / max(||a||, ||b||, 1e-12)``."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-12))


def require_torch() -> Any:
    """torch, for a test that checks against it; skip without it, or fail if it is required.

    Every torch reference test goes through here (never ``pytest.importorskip``), so that
    CI, which sets ``GRADSCAPE_TORCH=required``, cannot pass with them all skipped.
    """
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        if os.environ.get(TORCH_REQUIRED) == "required":
            reason = f"{TORCH_REQUIRED}=required but torch does not import: {exc}"
            pytest.fail(reason, pytrace=False)
        pytest.skip(f"torch reference skipped: {exc} (pip install -c constraints.txt torch)")


def run_snippet(code: str) -> tuple[dict[str, Any], str]:
    """Execute a generated snippet in a fresh namespace: its variables and what it printed.

    A PyTorch snippet sets torch's default dtype; it is put back afterwards.
    """
    torch = sys.modules.get("torch")
    dtype = None if torch is None else torch.get_default_dtype()
    namespace: dict[str, Any] = {"__name__": "__snippet__"}
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<snippet>", "exec"), namespace)
    finally:
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_default_dtype(torch.float32 if dtype is None else dtype)
    return namespace, out.getvalue()


def assert_retraces(session: Any, namespace: dict[str, Any], steps_per_epoch: int) -> None:
    """A snippet's printed losses (``losses``: epoch -> loss) and final ``theta`` are the
    server's after as many steps: loss to 1e-9, parameters to 1e-8."""
    epochs = sorted(namespace["losses"])
    assert epochs, "the snippet printed no loss"
    steps = [e * steps_per_epoch for e in epochs]
    server = session.trajectory(fields=["loss"])["loss"][steps]
    mine = np.array([float(namespace["losses"][e]) for e in epochs])
    np.testing.assert_allclose(mine, server, rtol=1e-9, atol=1e-9)
    theta = namespace["theta"]
    if hasattr(theta, "detach"):  # a torch tensor
        theta = theta.detach().numpy()
    np.testing.assert_allclose(np.asarray(theta, dtype=float), session.params, rtol=1e-8, atol=1e-8)
