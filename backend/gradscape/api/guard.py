"""The front door, before any route: Host, Origin, the token, the body's type, HEAD.

Follows OWASP's cheat sheets (DNS rebinding: answer only known ``Host`` names; CSRF:
verify ``Origin``, fall back on ``Sec-Fetch-Site``, require a JSON body so no form can
send one) in the shape Django gives them (``ALLOWED_HOSTS``, ``CSRF_TRUSTED_ORIGINS``).
Requests with neither ``Origin`` nor ``Sec-Fetch-Site`` (curl, scripts, the Python
client) are not browsers' cross-site requests and pass. Sockets get the same checks
and are refused before the handshake is accepted (an HTTP status, not a close code).
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gradscape.api.access import EVERYTHING, Access, client_address, trusted
from gradscape.api.settings import Settings

#: Methods that change nothing: the cross-site check leaves them alone.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The cookie that opening ``/?token=...`` sets.
COOKIE = "gradscape_token"
COOKIE_SECONDS = 7 * 24 * 3600
#: API paths open without the token: liveness (health probes, the Docker HEALTHCHECK).
OPEN_PATHS = frozenset({"/api/health"})


def host_name(host: str | None) -> str | None:
    """``name[:port]`` or ``[v6]:port`` -> the lower-case name; None when malformed."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        name, sep, rest = host[1:].partition("]")
        ok = sep and (not rest or (rest.startswith(":") and rest[1:].isdigit()))
        return name if ok and name else None
    name, _, port = host.partition(":")
    if ":" in port or (port and not port.isdigit()) or not name:
        return None
    return name


def host_allowed(host: str | None, settings: Settings) -> bool:
    """Whether this ``Host`` header names this server (``Settings.hosts``)."""
    name = host_name(host)
    if name is None:
        return False
    for allowed in settings.hosts():
        if allowed == "*" or allowed == name:
            return True
        if allowed.startswith("*.") and name.endswith(allowed[1:]):
            return True
    return False


def origin_allowed(origin: str, host: str | None, settings: Settings) -> bool:
    """The page's own origin (its host and port are the request's ``Host``, which the
    allow-list has vetted) or one listed in ``allowed_origins``; never ``null``."""
    origin = origin.strip().lower().rstrip("/")
    listed = settings.allowed_origins
    if "*" in listed or origin in listed:
        return True
    parts = urlsplit(origin)
    own = (host or "").strip().lower()
    return parts.scheme in ("http", "https") and bool(own) and parts.netloc == own


def cross_site_refusal(headers: Headers, settings: Settings) -> str | None:
    """Why a state-changing request or a socket is refused as cross-site, or None."""
    origin = headers.get("origin")
    if origin is not None:
        if origin_allowed(origin, headers.get("host"), settings):
            return None
        return (
            f"origin {origin[:100]!r} may not change sessions here; "
            "a deployment lists its pages' origins in GRADSCAPE_ALLOWED_ORIGINS"
        )
    if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return "a cross-site request may not change sessions here"
    return None


def presented_token(headers: Headers) -> str | None:
    """The token a request carries: ``Authorization: Bearer``, else the cookie."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    # Starlette's lenient parser: other local apps' odd cookies do not hide ours
    return cookie_parser(headers.get("cookie", "")).get(COOKIE)


def access_of(token: str | None, settings: Settings) -> Access | None:
    """The access a presented token gives (None: refused). Scoped tokens go here."""
    if settings.token is None:
        return EVERYTHING
    expected = settings.token.get_secret_value()
    if token is not None and secrets.compare_digest(token.encode(), expected.encode()):
        return EVERYTHING
    return None


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _json_body(headers: Headers) -> bool:
    """No body, or a body that says it is JSON."""
    length = headers.get("content-length")
    has_body = headers.get("transfer-encoding") is not None or (length not in (None, "", "0"))
    if not has_body:
        return True
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json"


class Guard:
    """ASGI middleware: the checks above for every request and socket, in this order:
    Host (400), cross-site (403), token (401), body type (415); HEAD answered as GET."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.proxies = settings.proxy_networks()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = "GET" if scope["type"] == "websocket" else str(scope["method"]).upper()
        link = self._link_token(scope, method)
        access = access_of(presented_token(headers) if link is None else link, self.settings)
        refusal = self._refusal(scope, headers, method, access, link is not None)
        if refusal is not None:
            await _refuse(scope, send, *refusal)
            return
        cookie = None if link is None else self._cookie(link, scope, headers)
        peer = (scope.get("client") or ("", 0))[0] or "unknown"
        state = scope.setdefault("state", {})
        state["access"] = access or Access(frozenset())
        state["client"] = client_address(peer, headers.get("x-forwarded-for"), self.proxies)
        if method == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, _responder(send, method == "HEAD", cookie))

    def _link_token(self, scope: Scope, method: str) -> str | None:
        """The token of the page's link (``GET /?token=...``) on a server that has one."""
        if self.settings.token is None or method != "GET" or _is_api(str(scope["path"])):
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return query["token"][0] if "token" in query else None

    def _refusal(
        self, scope: Scope, headers: Headers, method: str, access: Access | None, link: bool
    ) -> tuple[int, str] | None:
        """The status and words a request is refused with, or None."""
        if not host_allowed(headers.get("host"), self.settings):
            return 400, (
                f"host {headers.get('host', '')[:100]!r} is not a name of this server; "
                "a deployment lists its names in GRADSCAPE_ALLOWED_HOSTS"
            )
        if scope["type"] == "websocket" or method not in SAFE_METHODS:
            why = cross_site_refusal(headers, self.settings)
            if why is not None:
                return 403, why
        if link and access is None:
            return 401, "that link's token is not this server's"
        path = str(scope["path"])
        if access is None and _is_api(path) and path not in OPEN_PATHS:
            return 401, (
                "this server needs its token: open the link you were given (/?token=...) "
                "or send Authorization: Bearer <token>"
            )
        if scope["type"] == "http" and not _json_body(headers):
            return 415, "a request body must be application/json"
        return None

    def _cookie(self, token: str, scope: Scope, headers: Headers) -> str:
        """The cookie that carries the link's token (Secure over https, also behind a
        trusted proxy that says so)."""
        peer = (scope.get("client") or ("", 0))[0]
        forwarded_https = trusted(peer, self.proxies) and (
            headers.get("x-forwarded-proto", "").lower() == "https"
        )
        secure = "; Secure" if scope.get("scheme") in ("https", "wss") or forwarded_https else ""
        return (
            f"{COOKIE}={token}; HttpOnly; Max-Age={COOKIE_SECONDS}; Path=/; SameSite=Strict{secure}"
        )


def _responder(send: Send, head: bool, cookie: str | None) -> Send:
    """``send``, with a cookie added to the response and, for HEAD, the body left out."""
    if not head and cookie is None:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and cookie is not None:
            message = {
                **message,
                "headers": [*message["headers"], (b"set-cookie", cookie.encode())],
            }
        if message["type"] == "http.response.body" and head:
            message = {**message, "body": b""}
        await send(message)

    return wrapped


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    """Answer ``status`` with ``{"detail": message}``; a socket gets it as its handshake's
    HTTP answer (or a plain refusal where the server cannot send one)."""
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        prefix = "websocket."
    else:
        prefix = ""
    await send({"type": prefix + "http.response.start", "status": status, "headers": headers})
    await send({"type": prefix + "http.response.body", "body": body})
