"""Socket clients for load on a real server: viewers that only count, paced players.

Shared by ``tests/system/test_viewers.py`` and ``bench/service.py``. Clients never
decode a frame: they slice the ``"to"`` field out of the raw text with a regex, so
their own cost stays small beside the server's. They offer permessage-deflate, as
browsers do.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx
import websockets

TO = re.compile(rb'"to":(\d+)')


def ws_url(base: str, sid: str) -> str:
    return base.replace("http://", "ws://") + f"/api/sessions/{sid}/stream"


async def count(
    uri: str,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    go: asyncio.Event | None = None,
    first: dict[str, Any] | None = None,
) -> int:
    """Read raw frames until ``stop`` (sending ``first`` once ``go`` is set); how many
    ``steps`` frames came."""
    frames = 0
    async with websockets.connect(uri, max_size=2**22) as ws:
        if ready is not None:
            ready.set()
        if first is not None:
            if go is not None:
                await go.wait()
            await ws.send(json.dumps(first))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(decode=False), timeout=0.2)
            except TimeoutError:
                continue
            frames += raw.startswith(b'{"type":"steps"')
    return frames


async def played_rate(base: str, preset: str, viewers: int, seconds: float) -> float:
    """Steps/s one played (as fast as frames allow) session makes with ``viewers`` readers."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        sid = (await c.post("/api/sessions", json={"preset": preset})).json()["id"]
        uri = ws_url(base, sid)
        stop, go = asyncio.Event(), asyncio.Event()
        ready = [asyncio.Event() for _ in range(viewers)]
        play = {"type": "play"}
        tasks = [
            asyncio.create_task(count(uri, stop, r, go, play if i == 0 else None))
            for i, r in enumerate(ready)
        ]
        for r in ready:
            await r.wait()
        go.set()  # the first viewer plays
        await asyncio.sleep(1.0)  # warm up: chunk sizes settle
        t0, s0 = time.monotonic(), (await c.get(f"/api/sessions/{sid}")).json()["step"]
        await asyncio.sleep(seconds)
        t1, s1 = time.monotonic(), (await c.get(f"/api/sessions/{sid}")).json()["step"]
        stop.set()
        await asyncio.gather(*tasks)
        await c.delete(f"/api/sessions/{sid}")
    return (s1 - s0) / (t1 - t0)


async def _paced(uri: str, sps: float, warm: float, seconds: float) -> float:
    """Play at ``sps``; the achieved steps/s between the last frame before ``warm`` s (or
    the first after) and the last one before ``warm + seconds`` s."""
    first: tuple[float, int] | None = None  # the last frame of the warm-up
    last: tuple[float, int] | None = None
    async with websockets.connect(uri, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "play", "steps_per_second": sps}))
        t0 = time.monotonic()
        while (now := time.monotonic()) < t0 + warm + seconds:
            try:
                raw = await asyncio.wait_for(ws.recv(decode=False), timeout=0.2)
            except TimeoutError:
                continue
            m = TO.search(raw, 0, 200)  # "to" is among the first fields
            if m is None or not raw.startswith(b'{"type":"steps"'):
                continue
            last = (now, int(m.group(1)))
            if now < t0 + warm or first is None:
                first = last
        await ws.send(json.dumps({"type": "pause"}))
    if first is None or last is None or last[0] <= first[0]:
        return 0.0
    return (last[1] - first[1]) / (last[0] - first[0])


async def paced_rates(
    base: str, preset: str, sessions: int, sps: float, seconds: float
) -> list[float]:
    """Achieved steps/s of ``sessions`` sessions each played at ``sps``, side by side."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        ids: list[Any] = []
        for _ in range(sessions):
            ids.append((await c.post("/api/sessions", json={"preset": preset})).json()["id"])
        rates = await asyncio.gather(*(_paced(ws_url(base, i), sps, 1.5, seconds) for i in ids))
        for i in ids:
            await c.delete(f"/api/sessions/{i}")
    return list(rates)
