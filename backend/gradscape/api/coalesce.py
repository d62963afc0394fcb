"""Live ``set`` messages coalesced: a burst within one frame is one event.

The first ``set`` of a burst applies at once; those that come while it applies, or
within the frame after, apply together as one merged change: one event, one write, one
state broadcast. A change that switches the optimizer (a new ``name``) starts a new
merge, so the result is what applying them one by one gives. When a merged change is
refused, its parts are applied one by one, each refusal going back to its sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from gradscape.api.errors import public_message
from gradscape.api.registry import Entry, Registry
from gradscape.service.errors import ConflictError, StorageError
from gradscape.service.live import LiveRun

Reply = Callable[[str], Awaitable[None]]  # sends one refusal back to a change's socket
Part = tuple[dict[str, Any], Reply]
_bursts: weakref.WeakKeyDictionary[Entry, Burst] = weakref.WeakKeyDictionary()


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """``a`` then ``b`` as one change (the later value wins); None when ``b`` switches
    the optimizer, whose new defaults would depend on what ``a`` set."""
    opt = b.get("optimizer")
    if isinstance(opt, dict) and "name" in opt:
        return None
    out = {**a, **{k: v for k, v in b.items() if k != "optimizer"}}
    if isinstance(opt, dict):
        base = a.get("optimizer")
        out["optimizer"] = {**(base if isinstance(base, dict) else {}), **opt}
        if "lr" in opt:
            out.pop("lr", None)  # the newer rate is optimizer.lr
    if "lr" in b and isinstance(out.get("optimizer"), dict):
        out["optimizer"] = {k: v for k, v in out["optimizer"].items() if k != "lr"}
    return out


def groups(parts: list[Part]) -> list[tuple[dict[str, Any], list[Part]]]:
    """Consecutive changes folded into as few merged ones as keep their meaning."""
    out: list[tuple[dict[str, Any], list[Part]]] = []
    for part in parts:
        merged = merge(out[-1][0], part[0]) if out else None
        if merged is None:
            out.append((part[0], [part]))
        else:
            out[-1] = (merged, [*out[-1][1], part])
    return out


def _apply(
    run: LiveRun, folded: list[tuple[dict[str, Any], list[Part]]]
) -> list[tuple[Reply, str]]:
    """Apply each merged change (in a worker, under the lock); the refusals, by sender."""
    refused: list[tuple[Reply, str]] = []
    for change, parts in folded:
        try:
            run.set(change)
        except (ValueError, ConflictError):
            for part, reply in parts:  # one by one: each refusal to its sender
                try:
                    run.set(part)
                except (ValueError, ConflictError) as exc:
                    refused.append((reply, public_message(exc)))
    return refused


class Burst:
    """The ``set`` messages of one session waiting to be applied."""

    def __init__(self, entry: Entry, registry: Registry) -> None:
        self.entry, self.registry = entry, registry
        self.pending: list[Part] = []
        self.applying = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None

    def add(self, change: dict[str, Any], reply: Reply) -> None:
        """Queue a checked change; it applies within a frame."""
        self.pending.append((change, reply))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def flush(self) -> None:
        """Apply what waits now (before another command, so order is kept)."""
        async with self.applying:
            await self._apply_pending()

    async def _drain(self) -> None:
        interval = 1.0 / self.registry.settings.frame_rate
        while self.pending:
            async with self.applying:
                await self._apply_pending()
            await asyncio.sleep(interval)

    async def _apply_pending(self) -> None:
        parts, self.pending = self.pending, []
        if not parts:
            return
        entry, registry = self.entry, self.registry
        async with entry.lock:  # entry.run is read here: a rollback may have replaced it
            refused = await registry.light(_apply, entry.run, groups(parts))
        if len(refused) < len(parts):
            try:
                await registry.persist(entry)
            except StorageError as exc:
                refused = [(reply, str(exc)) for _, reply in parts]
            entry.notify({"type": "state"})
        for reply, message in refused:
            with contextlib.suppress(Exception):  # its socket may have closed meanwhile
                await reply(message)


def of(entry: Entry, registry: Registry) -> Burst:
    """The entry's burst, made on first use."""
    burst = _bursts.get(entry)
    if burst is None:
        burst = _bursts[entry] = Burst(entry, registry)
    return burst


async def flush(entry: Entry) -> None:
    """Apply the entry's waiting ``set`` messages, if any."""
    burst = _bursts.get(entry)
    if burst is not None:
        await burst.flush()
