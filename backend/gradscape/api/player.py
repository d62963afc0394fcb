"""Play: a background task per session that steps it at a rate and wakes its sockets.

Each tick runs a chunk of updates in the worker threads (the event loop stays free),
keeps the parameters of a few evenly spaced steps for the viewers' paths, and sleeps
to hold the frame rate. With no rate given it sizes chunks to fill a frame's time.
"""

from __future__ import annotations

import asyncio
from collections import deque

import numpy as np

from gradscape.api.store import Entry, SessionStore

#: Parameters kept per session for drawing paths (steps evaluated during play).
RECENT_FLOATS = 2_000_000
#: Evaluated (drawn) points per tick.
POINTS_PER_TICK = 16


def remember(entry: Entry, steps: np.ndarray, params: np.ndarray) -> None:
    """Keep the captured parameters of recent steps (bounded by ``RECENT_FLOATS``)."""
    recent: deque[tuple[int, np.ndarray]] | None = entry.recent
    if recent is None:
        width = max(1, entry.session.model.n_params)
        recent = entry.recent = deque(maxlen=max(64, RECENT_FLOATS // width))
    for k, theta in zip(steps.tolist(), params, strict=True):
        recent.append((k, theta))


async def play(entry: Entry, store: SessionStore) -> None:
    """Step ``entry`` until paused, diverged or at its limit."""
    settings = store.settings
    loop = asyncio.get_running_loop()
    frame = 1.0 / settings.frame_rate
    cap = max(1, int(settings.max_steps_per_second * frame))
    chunk, carry, last_saved = 8, 0.0, loop.time()
    try:
        while entry.playing and entry.status == "running":
            t0 = loop.time()
            sps = entry.steps_per_second
            if sps:
                carry += sps * frame
                n, carry = int(carry), carry - int(carry)
            else:
                n = chunk
            n = min(n, cap, settings.max_trajectory_steps - entry.session.step_count)
            if n > 0:
                async with entry.lock:
                    if entry.status != "running":  # paused or reset while we waited
                        break
                    every = max(1, n // POINTS_PER_TICK)
                    steps = await store.run(entry.session.step, n, evaluate=every)
                remember(entry, steps.captured_steps, steps.captured_params)
                entry.notify({"type": "steps"})
            elapsed = loop.time() - t0
            if not sps and n > 0:  # aim the compute at ~70 % of a frame
                chunk = int(min(cap, max(1, chunk * 0.7 * frame / max(elapsed, 1e-4))))
            if loop.time() - last_saved > 2.0:
                await store.persist(entry)
                last_saved = loop.time()
            await asyncio.sleep(max(0.0, frame - elapsed))
    finally:
        entry.playing = False
        entry.runner = None
        entry.notify({"type": "status"})
    await store.persist(entry)


def start(entry: Entry, store: SessionStore, steps_per_second: float | None) -> None:
    """Start playing (or change the speed of a session already playing)."""
    entry.steps_per_second = steps_per_second
    if entry.runner is None:
        entry.playing = True
        entry.runner = asyncio.get_running_loop().create_task(play(entry, store))
    entry.notify({"type": "status"})


def stop(entry: Entry) -> None:
    """Pause: the running tick finishes, then the task ends."""
    entry.playing = False
    entry.notify({"type": "status"})
