"""Play: a background task per session that runs ``LiveRun.tick`` at a rate and wakes sockets.

Each tick runs a chunk of updates in the worker threads (the event loop stays free)
and sleeps to hold the frame rate. With no rate given it sizes chunks to fill ~70 % of
a frame's time. What a tick may do (rate bounds, the step limit) is ``LiveRun``'s rule.
"""

from __future__ import annotations

import asyncio
import contextlib

from gradscape.api.registry import Entry, Registry
from gradscape.service.errors import StorageError


async def play(entry: Entry, registry: Registry) -> None:
    """Tick ``entry`` until paused, diverged or at its limit."""
    run, settings = entry.run, registry.settings
    loop = asyncio.get_running_loop()
    frame = 1.0 / settings.frame_rate
    cap = max(1, int(settings.max_steps_per_second * frame))
    chunk, carry, last_saved = 8, 0.0, loop.time()
    try:
        while run.status == "running":
            t0 = loop.time()
            sps = run.steps_per_second
            if sps:
                carry += sps * frame
                n, carry = int(carry), carry - int(carry)
            else:
                n = chunk
            n = min(n, cap)
            made = 0
            if n > 0:
                async with entry.lock:
                    made = await registry.run_background(run.tick, n)
                if made:
                    entry.notify({"type": "steps"})
            elapsed = loop.time() - t0
            if not sps and made:  # aim the compute at ~70 % of a frame
                chunk = int(min(cap, max(1, chunk * 0.7 * frame / max(elapsed, 1e-4))))
            if loop.time() - last_saved > 2.0:
                try:
                    await registry.persist(entry, progress=True)
                except StorageError:  # rolled back to what is stored; playing stops
                    break
                last_saved = loop.time()
            await asyncio.sleep(max(0.0, frame - elapsed))
    finally:
        run.pause()
        entry.runner = None
        entry.notify({"type": "status"})
    with contextlib.suppress(StorageError):  # logged; the run is what the database holds
        await registry.persist(entry, progress=True)


def start(entry: Entry, registry: Registry, steps_per_second: float | None) -> None:
    """Start playing (or change the speed of a run already playing); ValueError if refused."""
    entry.run.play(steps_per_second)
    if entry.runner is None:
        entry.runner = asyncio.get_running_loop().create_task(play(entry, registry))
    entry.notify({"type": "status"})


def stop(entry: Entry) -> None:
    """Pause: the running tick finishes, then the task ends."""
    entry.run.pause()
    entry.notify({"type": "status"})
