"""The ``gradscape`` command: ``demo`` (the chapter's run), ``run`` (headless), ``code``
(the config as standalone NumPy, PyTorch or Keras) and ``serve``."""

from __future__ import annotations

import os

# Before NumPy loads: one BLAS thread per worker. On small matrices and 2 shared cores,
# OpenBLAS's own threads only contend (measured: 10x slower, erratic, under load).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from gradscape.core.presets import PRESETS
from gradscape.service.code import LANGUAGES, code
from gradscape.service.errors import ConflictError, PayloadTooLargeError
from gradscape.service.exporting import export_csv, export_json
from gradscape.service.live import LiveRun
from gradscape.service.recovery import recovery


def demo(steps: int = 2000, every: int = 500) -> str:
    """The chapter's single neuron, printed the way the chapter's loop prints it."""
    run = LiveRun.create({"preset": "pass-fail"})
    train(run, steps)
    session = run.session
    losses = session.trajectory(stop=steps, every=every, fields=["step", "loss"])
    lines = [
        f"epoch {k:4d} loss {v:.4f}" for k, v in zip(losses["step"], losses["loss"], strict=True)
    ]
    w = session.params
    lines.append(f"final weights: {w[:2]} bias: {float(w[2])}")
    return "\n".join(lines)


def _parse_value(text: str) -> Any:
    """A ``--set`` value: JSON when it parses (numbers, null, lists), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _nested(assignments: Sequence[str]) -> dict[str, Any]:
    """``["optimizer.momentum=0.9"]`` -> ``{"optimizer": {"momentum": 0.9}}``."""
    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _parse_value(value)
    return out


def run_config(preset: str | None, assignments: Sequence[str]) -> dict[str, Any]:
    """A session config from a preset and ``--set`` overrides (``lr`` means ``optimizer.lr``)."""
    config = _nested(assignments)
    if "lr" in config:
        config.setdefault("optimizer", {})["lr"] = config.pop("lr")
    if preset:
        config["preset"] = preset
    return config


def train(run: LiveRun, steps: int) -> None:
    """``steps`` updates through the service's step command, in calls it allows."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: must be a non-negative integer, got {steps!r}")
    run.check_step(0)  # a diverged run or one at its limit is refused up front
    top = run.budgets.max_trajectory_steps
    if run.session.step_count + steps > top:
        raise ValueError(f"steps: {steps} would pass max_trajectory_steps={top}")
    while steps > 0 and run.session.status != "diverged":
        n = min(steps, run.budgets.max_steps_per_call)
        run.step(n, evaluate="none")
        steps -= n


def _cmd_run(args: argparse.Namespace) -> int:
    run = LiveRun.create(run_config(args.preset, args.set))
    train(run, args.steps)
    session = run.session
    if args.out.endswith(".html"):
        from gradscape.service.report import html_report  # plotly loads only for reports

        text = html_report(run)
    elif args.out.endswith(".csv"):
        text = export_csv(session)
    elif args.out.endswith(".json"):
        text = json.dumps(export_json(session), allow_nan=False)
    else:
        print(
            f"gradscape run: --out must end in .html, .json or .csv, got {args.out!r}",
            file=sys.stderr,
        )
        return 2
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    final = session.trajectory(start=-1, fields=["step", "loss"])
    print(
        f"{session.status}: step {int(final['step'][0])}, loss {final['loss'][0]:.6g} -> {args.out}"
    )
    if session.status == "diverged":
        print(f"recovery: {recovery(run)['message']}")
    return 0


def code_config(source: str, assignments: Sequence[str]) -> dict[str, Any]:
    """A config from a preset name, inline JSON or a JSON file, with ``--set`` over it."""
    if source in PRESETS:
        return run_config(source, assignments)
    text = source
    if not source.lstrip().startswith("{"):
        try:
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            known = ", ".join(PRESETS)
            raise ValueError(
                f"config: {source!r} is not a preset ({known}), JSON or a readable file: "
                f"{exc.strerror}"
            ) from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"config: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ValueError("config: must be a JSON object")
    return _merged(config, run_config(None, assignments))


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` deep-merged into ``base`` (``--set`` values win)."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            value = _merged(old, value)
        out[key] = value
    return out


def _cmd_code(args: argparse.Namespace) -> int:
    run = LiveRun.create(code_config(args.config, args.set))
    out = code(run, args.language, args.epochs)
    if args.out is None:
        sys.stdout.write(out["code"])
    else:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(out["code"])
        print(f"{out['language']} code for {out['epochs']} epochs -> {args.out}", file=sys.stderr)
    for note in out["notes"]:
        print(f"note: {note}", file=sys.stderr)
    return 0


#: glibc ``mallopt`` parameters: ``M_MMAP_THRESHOLD`` and ``M_ARENA_MAX``.
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8


def tune_allocator() -> bool:
    """Make freed memory go back to the system in a long-lived server (glibc only).

    By default glibc raises its mmap threshold each time a large block is freed (up to
    32 MiB), so a growing run's column copies and snapshot buffers end up on the heap,
    where freed pages stay resident; and each worker thread may get its own arena. A
    fixed 1 MiB threshold and two arenas keep RSS near what the runs hold (the same as
    ``MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_ARENA_MAX=2``).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, 2**20) == 1
    return bool(mallopt(_M_ARENA_MAX, 2) == 1 and ok)


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gradscape.api.app import create_app
    from gradscape.api.dblock import DatabaseInUseError, DatabaseLock
    from gradscape.api.settings import Settings

    settings = Settings.from_env(host=args.host, port=args.port, db=args.db)
    if settings.db != ":memory:":
        try:  # refuse at once, before binding a port, when another server has the file
            DatabaseLock(settings.db).release()
        except DatabaseInUseError as exc:
            print(f"gradscape: {exc}", file=sys.stderr)
            return 1
    tune_allocator()
    print(
        f"gradscape: http://{settings.host}:{settings.port}  (database: {settings.db})", flush=True
    )
    if settings.token is None and not _loopback(settings.host):
        print(
            f"gradscape: warning: {settings.host} is reachable from other machines and "
            "GRADSCAPE_TOKEN is not set: anyone who can reach it can use every session",
            file=sys.stderr,
            flush=True,
        )
    app = create_app(settings)

    class Server(uvicorn.Server):
        """uvicorn's server, telling the registry at once when a stop signal arrives
        (calls in flight stop at their next turn instead of running to the end)."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            registry = getattr(app.state, "registry", None)
            if registry is not None:
                registry.stop_work()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.max_ws_message_bytes,
        ws_per_message_deflate=False,  # one frame's bytes serve every viewer; deflate is per socket
        # X-Forwarded-For is believed only from GRADSCAPE_TRUSTED_PROXIES (api.guard);
        # uvicorn's own default would believe any process on 127.0.0.1.
        proxy_headers=False,
        server_header=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    Server(config).run()
    return 0


def _loopback(host: str) -> bool:
    """Whether a bind address is reachable only from this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: After SIGTERM, requests in flight get this long to answer (they stop at their next
#: ~50 ms turn, truncated) before their connections are closed; then every session is
#: written. The whole stop stays within ~5 s.
SHUTDOWN_GRACE_SECONDS = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="gradscape", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="train the chapter's single neuron and print the loss")
    p_demo.add_argument("--steps", type=int, default=2000)
    p_run = sub.add_parser("run", help="train headless and write the trajectory")
    p_run.add_argument("--preset", default=None)
    p_run.add_argument("--steps", type=int, default=2000)
    p_run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p_run.add_argument("--out", required=True, help="run.html (report), run.json or run.csv")
    p_code = sub.add_parser(
        "code", help="print a config as standalone NumPy, PyTorch or Keras code"
    )
    p_code.add_argument("config", help="a preset name, a JSON config or a JSON file")
    p_code.add_argument("--language", choices=LANGUAGES, default="numpy")
    p_code.add_argument(
        "--epochs", type=int, default=2000, help="epochs to train for (default 2000, the chapter's)"
    )
    p_code.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p_code.add_argument("--out", default=None, help="write the code here (default: stdout)")
    p_serve = sub.add_parser("serve", help="start the web app and API")
    p_serve.add_argument("--host", default=None, help="default 127.0.0.1 (GRADSCAPE_HOST)")
    p_serve.add_argument("--port", type=int, default=None, help="default 8000 (GRADSCAPE_PORT)")
    p_serve.add_argument("--db", default=None, help="SQLite file or :memory: (GRADSCAPE_DB)")
    p_serve.add_argument("--log-level", default="info")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradscape`` command."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            print(demo(args.steps))
            return 0
        if args.command == "serve":
            return _cmd_serve(args)
        if args.command == "code":
            return _cmd_code(args)
        return _cmd_run(args)
    except (ValueError, ConflictError, PayloadTooLargeError) as exc:
        print(f"gradscape: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
