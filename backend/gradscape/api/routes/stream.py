"""The WebSocket protocol at ``/api/sessions/{id}/stream``.

Every message is JSON with a ``type``. The client sends ``play`` (optional
``steps_per_second``), ``pause``, ``step`` (``steps``), ``set`` (the PATCH fields),
``reset``, ``rewind`` (``step``) and ``sync``, as JSON text (a binary frame gets an ``error``). The
handshake is refused with an HTTP status before it is accepted for a foreign Host (400),
a missing token (401) or a cross-site Origin (403) (``api.guard``); an unknown session
is accepted, then closed with code 4404. The server sends ``state`` (the
session's state as ``GET /api/sessions/{id}`` has it, except that after the first
one it leaves out ``param_names`` and, while the log only grows, holds only the new
events with ``events_from``: the index of the first), ``steps`` (frames of records
since the last frame), ``status`` (running / paused / diverged / limit) and
``error`` (``message``; the session is unchanged). Frames go out at most
``frame_rate`` times a second, one frame per publish shared by every viewer; a slow
reader gets fewer, larger-span frames, never a growing queue.

Play at ``steps_per_second`` N makes N steps per second of wall time; when the server
cannot keep up, ``steps`` frames carry ``"rate": {"asked": N, "achieved": M, "reason":
...}`` (steps/s over the last two seconds; the reason names the limit: the model's
compute per step, or a server shared with other runs). When no viewer has taken a frame for
``viewer_grace_seconds`` (a socket open but not read: a closed laptop lid), play pauses
itself: the state says ``"status": "paused"``, ``"unread": true`` and the ``reason``;
send ``play`` again to go on. So does a run whose last socket closed while it played.
``set`` messages that come within one frame are applied as one change (one event, one
state); any other command applies them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError

from gradscape.api import broadcast, coalesce, player
from gradscape.api.deps import find, get_access
from gradscape.api.errors import public_message
from gradscape.api.registry import Entry, Registry
from gradscape.api.schemas import (
    LiveChange,
    PlayRequest,
    ResetRequest,
    RewindRequest,
    StepRequest,
)
from gradscape.service.errors import (
    ConflictError,
    PayloadTooLargeError,
    SessionNotFoundError,
    StorageError,
)
from gradscape.service.live import POINTS_PER_TICK, LiveRun
from gradscape.service.work import Work

router = APIRouter(tags=["stream"])
CLIENT_TYPES = ("play", "pause", "step", "set", "reset", "rewind", "sync")
SERVER_TYPES = ("state", "steps", "status", "error")
#: Refusals a client message can meet: each becomes an ``error`` frame, the run unchanged.
REFUSED = (ValueError, ConflictError, PayloadTooLargeError, StorageError)


class ClientError(Exception):
    """A client message that cannot be applied (sent back as an ``error`` frame)."""


def _body(model: type[BaseModel], message: dict[str, Any]) -> Any:
    """The message's fields checked by the same model the REST route uses."""
    try:
        return model.model_validate({k: v for k, v in message.items() if k != "type"})
    except ValidationError as exc:
        raise ClientError(validation_message(exc)) from None


def validation_message(exc: ValidationError) -> str:
    """``field: what is wrong`` for the first error (the socket's words for REST's 422)."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])


#: The commands that change a run, and the model (the REST route's) their fields must fit.
COMMANDS: dict[str, type[BaseModel]] = {
    "step": StepRequest,
    "set": LiveChange,
    "reset": ResetRequest,
    "rewind": RewindRequest,
}


def _command(run: LiveRun, kind: str, body: Any, work: Work) -> None:
    """Apply one checked command (in a worker thread, under the run's lock); a step
    takes turns and stops at ``max_call_seconds`` like REST's."""
    if kind == "step":
        n = run.steps_for(body.steps, body.epochs)
        run.step(n, evaluate=max(1, n // POINTS_PER_TICK), work=work)
    elif kind == "reset":
        run.reset()
    else:
        run.rewind(body.step)


async def _handle(
    message: dict[str, Any], entry: Entry, registry: Registry, reply: coalesce.Reply
) -> None:
    kind = message.get("type")
    if kind == "play":
        body = _body(PlayRequest, message)
        player.start(entry, registry, body.steps_per_second)
        return
    if kind == "pause":
        player.stop(entry)
        return
    if kind == "sync":
        entry.notify({"type": "state"})
        return
    if not isinstance(kind, str) or kind not in COMMANDS:
        raise ClientError(f"unknown message type {kind!r}; known: {', '.join(CLIENT_TYPES)}")
    body = _body(COMMANDS[kind], message)
    if kind == "set":  # a burst of them is one change, applied within a frame
        coalesce.of(entry, registry).add(body.to_core(), reply)
        return
    await coalesce.flush(entry)  # changes sent before this command apply before it
    async with entry.lock:  # entry.run is read here: a rollback may have replaced it
        await registry.run(_command, entry.run, kind, body, registry.work())
    await registry.persist(entry)
    entry.notify({"type": "state"})


@router.websocket("/api/sessions/{session_id}/stream")
async def stream(ws: WebSocket, session_id: str) -> None:
    """Stream a session's steps; take play / pause / step / set / reset / rewind."""
    registry: Registry = ws.app.state.registry
    try:
        entry = await find(registry, get_access(ws), session_id)
    except (SessionNotFoundError, StorageError) as exc:
        # accepted first, so the client sees the code (a close before accepting is a 403)
        await ws.accept()
        if isinstance(exc, StorageError):
            await ws.close(code=1011, reason=str(exc)[:120])
        else:
            await ws.close(code=4404, reason="no session with that id")
        return
    await ws.accept()
    hub = broadcast.of(entry, registry)
    viewer = hub.join()
    sender = asyncio.create_task(hub.send_loop(viewer, ws.send_text))
    try:
        await _receive_loop(ws, entry, registry, sender)
    finally:
        hub.leave(viewer)
        if not entry.listeners:
            # nobody is watching: do not train on into the void (a page that reconnects resumes)
            player.stop(entry, "its last viewer closed the socket")
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


async def _receive_loop(
    ws: WebSocket, entry: Entry, registry: Registry, sender: asyncio.Task[None]
) -> None:
    limit = registry.settings.max_ws_message_bytes

    async def reply(message: str) -> None:
        await ws.send_text(json.dumps({"type": "error", "message": message}))

    while not sender.done():
        try:
            received = await ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if received["type"] == "websocket.disconnect":
            return
        text = received.get("text")
        try:
            if text is None:
                raise ClientError("binary frames are not accepted; send JSON text")
            if len(text.encode()) > limit:
                raise ClientError(f"message over max_ws_message_bytes={limit}")
            try:
                message = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ClientError(f"not JSON: {exc.msg}") from None
            if not isinstance(message, dict):
                raise ClientError("a message must be a JSON object with a type")
            await _handle(message, entry, registry, reply)
        except (ClientError, *REFUSED) as exc:
            await reply(public_message(exc))
