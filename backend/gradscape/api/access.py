"""Who is asking and what they may reach: the client's address, its access and its quota.

Today there is one token (``GRADSCAPE_TOKEN``, or none) and it reaches every session;
``Access.sessions`` is the room for scoped tokens that reach one session only (a
class's join links). Sessions are counted against a ``Quota`` key: the client's
address today, a group's key (a class) when sessions are made on its behalf.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Access:
    """The sessions a request may reach: all of them (``None``) or the ones named."""

    sessions: frozenset[str] | None = None

    def allows(self, session_id: str) -> bool:
        """Whether this access reaches that session (a miss looks like an unknown id)."""
        return self.sessions is None or session_id in self.sessions


#: The access of a request on a server without a token, or with the server's token.
EVERYTHING = Access()


@dataclass(frozen=True)
class Quota:
    """Live sessions one key (``client:<address>``, later ``group:<id>``) may hold.

    ``limit`` 0 is no quota; ``setting`` names the setting that sets it, for the 429."""

    key: str = ""
    limit: int = 0
    setting: str = "max_sessions_per_client"
    holder: str = "this client"

    def refusal(self) -> str:
        """The words of the 429 when the key holds ``limit`` sessions."""
        return (
            f"{self.holder} holds {self.setting}={self.limit} sessions; "
            "delete one first (DELETE /api/sessions/{id})"
        )


#: No per-key count (the CLI, tests, internal callers).
NO_QUOTA = Quota()


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def trusted(address: str, proxies: Sequence[Network]) -> bool:
    """Whether ``address`` is one of the trusted proxies."""
    ip = _ip(address)
    return ip is not None and any(ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address: the peer, or behind trusted proxies the rightmost
    ``X-Forwarded-For`` entry they did not add (the entries left of it are the
    client's own say, so they are never believed)."""
    if not forwarded_for or not trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if _ip(hop) is None:
            return peer  # a malformed chain: count the proxy, not a made-up name
        if not trusted(hop, proxies):
            return str(_ip(hop))
    return str(_ip(hops[0])) if hops else peer
