"""Who is asking: the client's address behind proxies, access, quota words."""

from __future__ import annotations

import ipaddress

import pytest

from gradscape.api.access import EVERYTHING, Access, Quota, client_address
from gradscape.api.guard import host_name

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # an untrusted peer's header is its say
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the left is the client's say
        ("10.0.0.2", "198.51.100.7, 10.1.1.1, 10.2.2.2", "198.51.100.7"),
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("10.0.0.2", "198.51.100.7, garbage", "10.0.0.2"),  # a malformed chain: the proxy
        ("testclient", "198.51.100.7", "testclient"),  # not an address: never trusted
    ],
)
def test_client_address(peer: str, forwarded: str | None, client: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_access_reaches_every_session_or_the_named_ones() -> None:
    assert EVERYTHING.allows("anything")
    scoped = Access(frozenset({"abc"}))  # a class's join link, later
    assert scoped.allows("abc") and not scoped.allows("abd")


def test_a_quota_names_its_setting() -> None:
    words = Quota("group:class-7", 40, "max_sessions_per_group", "this class").refusal()
    assert words.startswith("this class holds max_sessions_per_group=40 sessions")


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("127.0.0.1:8000", "127.0.0.1"),
        ("LocalHost", "localhost"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("a:b:c", None),
        ("host:port", None),
        ("[::1]x", None),
        ("", None),
        (":80", None),
    ],
)
def test_host_name(host: str, name: str | None) -> None:
    assert host_name(host) == name
