"""The WebSocket protocol at ``/api/sessions/{id}/stream``.

Every message is JSON with a ``type``. The client sends ``play`` (optional
``steps_per_second``), ``pause``, ``step`` (``steps``), ``set`` (the PATCH fields),
``reset``, ``rewind`` (``step``) and ``sync``. The server sends ``state`` (the
session's full state), ``steps`` (frames of records since the last frame),
``status`` (running / paused / diverged / limit) and ``error`` (``message``; the
session is unchanged). Frames go out at most ``frame_rate`` times a second; a slow
reader gets fewer, larger-span frames, never a growing queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from gradscape.api import frames, player, views
from gradscape.api.schemas import LiveChange
from gradscape.api.settings import Settings
from gradscape.api.store import Entry, SessionNotFoundError, SessionStore

router = APIRouter(tags=["stream"])
CLIENT_TYPES = ("play", "pause", "step", "set", "reset", "rewind", "sync")


class ClientError(Exception):
    """A client message that cannot be applied (sent back as an ``error`` frame)."""


def origin_allowed(ws: WebSocket, settings: Settings) -> bool:
    """Same host as the page, an allow-listed origin, or no Origin (a non-browser client)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    return urlsplit(origin).netloc == ws.headers.get("host", "")


class Viewer:
    """One socket's view: what it has been sent and whether there is news."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.sent = -1
        self.state_due = True
        self.wake = asyncio.Event()
        self.wake.set()

    def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] in ("state", "status"):
            self.state_due = True
        self.wake.set()


async def _send_loop(ws: WebSocket, viewer: Viewer, store: SessionStore) -> None:
    entry, settings = viewer.entry, store.settings
    interval = 1.0 / settings.frame_rate
    while True:
        await viewer.wake.wait()
        viewer.wake.clear()
        async with entry.lock:
            texts = await store.run(_frames, viewer, settings.max_ws_message_bytes)
        for text in texts:
            await ws.send_text(text)
        await asyncio.sleep(interval)


def _frames(viewer: Viewer, max_bytes: int) -> list[str]:
    """The messages a viewer is due (runs in a worker thread, under the session lock)."""
    entry, out = viewer.entry, []
    step = entry.session.step_count
    if viewer.state_due or step < viewer.sent:
        viewer.state_due = False
        state = {"type": "state", **views.info(entry)}
        out.append(json.dumps(state, allow_nan=False, separators=(",", ":")))
        if viewer.sent < 0 or step < viewer.sent:
            viewer.sent = step
    if step > viewer.sent:
        frame = frames.steps_frame(entry, viewer.sent)
        out.append(frames.encode(frame, max_bytes))
        viewer.sent = step
    return out


async def _handle(message: dict[str, Any], entry: Entry, store: SessionStore) -> None:
    kind = message.get("type")
    settings = store.settings
    if kind == "play":
        sps = message.get("steps_per_second")
        if sps is not None and (
            isinstance(sps, bool)
            or not isinstance(sps, int | float)
            or not math.isfinite(sps)
            or not 0 < sps <= settings.max_steps_per_second
        ):
            raise ClientError(
                f"steps_per_second must be in (0, {settings.max_steps_per_second}] or null"
            )
        if entry.status in ("diverged", "limit"):
            raise ClientError(f"the session is {entry.status}; rewind or reset it first")
        player.start(entry, store, None if sps is None else float(sps))
    elif kind == "pause":
        player.stop(entry)
    elif kind == "sync":
        entry.notify({"type": "state"})
    elif kind in ("step", "set", "reset", "rewind"):
        await _mutate(kind, message, entry, store)
    else:
        raise ClientError(f"unknown message type {kind!r}; known: {', '.join(CLIENT_TYPES)}")


async def _mutate(kind: str, message: dict[str, Any], entry: Entry, store: SessionStore) -> None:
    body = {k: v for k, v in message.items() if k != "type"}
    session = entry.session
    async with entry.lock:
        if kind == "set":
            try:
                change = LiveChange(**body).to_core()
            except ValidationError as exc:
                raise ClientError(_first_error(exc)) from None
            await store.run(lambda: session.set(**change))
        elif kind == "step":
            n = body.get("steps", 1)
            limit = store.settings.max_steps_per_call
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
                raise ClientError(f"steps must be an integer in [1, {limit}]")
            if entry.status in ("diverged", "limit"):
                raise ClientError(f"the session is {entry.status}; rewind or reset it first")
            n = min(n, store.settings.max_trajectory_steps - session.step_count)
            steps = await store.run(session.step, n, evaluate=max(1, n // frames.POINTS))
            player.remember(entry, steps.captured_steps, steps.captured_params)
        elif kind == "reset":
            entry.playing = False
            await store.run(session.reset)
        else:
            entry.playing = False
            await store.run(session.rewind, body.get("step"))
    await store.persist(entry)
    entry.notify({"type": "state"})


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])


@router.websocket("/api/sessions/{session_id}/stream")
async def stream(ws: WebSocket, session_id: str) -> None:
    """Stream a session's steps; take play / pause / step / set / reset / rewind."""
    store: SessionStore = ws.app.state.store
    if not origin_allowed(ws, store.settings):
        await ws.close(code=1008, reason="origin not allowed")
        return
    try:
        entry = await store.get(session_id)
    except SessionNotFoundError:
        await ws.close(code=4404, reason="no session with that id")
        return
    await ws.accept()
    viewer = Viewer(entry)
    entry.listeners.add(viewer)
    sender = asyncio.create_task(_send_loop(ws, viewer, store))
    try:
        await _receive_loop(ws, entry, store, sender)
    finally:
        entry.listeners.discard(viewer)
        if not entry.listeners:
            player.stop(entry)  # nobody is watching: do not train on into the void
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


async def _receive_loop(
    ws: WebSocket, entry: Entry, store: SessionStore, sender: asyncio.Task[None]
) -> None:
    limit = store.settings.max_ws_message_bytes
    while not sender.done():
        try:
            text = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        try:
            if len(text.encode()) > limit:
                raise ClientError(f"message over max_ws_message_bytes={limit}")
            try:
                message = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ClientError(f"not JSON: {exc.msg}") from None
            if not isinstance(message, dict):
                raise ClientError("a message must be a JSON object with a type")
            await _handle(message, entry, store)
        except (ClientError, ValueError) as exc:
            await ws.send_text(json.dumps({"type": "error", "message": str(exc)}))
