"""Static files: gzip/br when asked, identity when not, ETag and 304, compressed once."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import brotli
import pytest
from fastapi.testclient import TestClient

from gradscape.api import static
from gradscape.api.app import FRONTEND
from tests.api.conftest import make_client

DECODE: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.decompress, "br": brotli.decompress}
ASSETS = {
    "/": FRONTEND / "index.html",
    "/main.js": FRONTEND / "main.js",
    "/style.css": FRONTEND / "style.css",
    "/vendor/plotly.min.js": static.PLOTLY_JS,
    "/static/swagger/swagger-ui-bundle.js": static.SWAGGER / "swagger-ui-bundle.js",
}


def raw(client: TestClient, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body exactly as sent (not decoded by the client)."""
    with client.stream("GET", url, headers=headers) as r:
        return r.status_code, dict(r.headers), b"".join(r.iter_raw())


@pytest.mark.parametrize("encoding", ["gzip", "br"])
@pytest.mark.parametrize("url", list(ASSETS))
def test_compressed_when_asked(client: TestClient, url: str, encoding: str) -> None:
    status, headers, body = raw(client, url, **{"Accept-Encoding": encoding})
    assert status == 200
    assert headers["content-encoding"] == encoding
    assert headers["vary"] == "Accept-Encoding"
    assert headers["cache-control"] == "no-cache"
    assert int(headers["content-length"]) == len(body) < ASSETS[url].stat().st_size
    assert DECODE[encoding](body) == ASSETS[url].read_bytes()


@pytest.mark.parametrize("accept", ["identity", "", "gzip;q=0, br;q=0", "compress, zstd"])
def test_identity_when_nothing_we_make_is_accepted(client: TestClient, accept: str) -> None:
    status, headers, body = raw(client, "/vendor/plotly.min.js", **{"Accept-Encoding": accept})
    assert status == 200
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert body == static.PLOTLY_JS.read_bytes()


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("gzip, deflate, br, zstd", ["br", "gzip"]),  # Chromium's
        ("gzip;q=1.0, br;q=0.5", ["gzip", "br"]),
        ("GZIP", ["gzip"]),
        ("*", ["br", "gzip"]),
        ("*;q=0.1, br;q=0", ["gzip"]),
        ("br;q=bogus, gzip", ["gzip"]),
        ("identity", []),
        ("", []),
    ],
)
def test_accept_encoding_q_values(accept: str, chosen: list[str]) -> None:
    assert static.accepted(accept) == chosen


@pytest.mark.parametrize("accept", ["gzip", "br", "identity"])
def test_etag_then_304(client: TestClient, accept: str) -> None:
    first = client.get("/main.js", headers={"Accept-Encoding": accept})
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get("/main.js", headers={"Accept-Encoding": accept, "If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "no-cache"
        assert again.headers["vary"] == "Accept-Encoding"
    stale = client.get("/main.js", headers={"Accept-Encoding": accept, "If-None-Match": '"x"'})
    assert stale.status_code == 200 and stale.headers["etag"] == etag


def test_each_encoding_has_its_own_etag(client: TestClient) -> None:
    tags = {a: client.get("/", headers={"Accept-Encoding": a}).headers["etag"] for a in DECODE}
    tags["identity"] = client.get("/", headers={"Accept-Encoding": "identity"}).headers["etag"]
    assert len(set(tags.values())) == 3
    # a gzip copy's tag does not validate the identity body
    r = client.get("/", headers={"Accept-Encoding": "identity", "If-None-Match": tags["gzip"]})
    assert r.status_code == 200


def counting(calls: list[str], name: str) -> Callable[[bytes], bytes]:
    encode = static.ENCODERS[name]

    def wrapped(data: bytes) -> bytes:
        calls.append(name)
        return encode(data)

    return wrapped


def test_compressed_once_per_process_and_again_when_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name in DECODE:
        monkeypatch.setitem(static.ENCODERS, name, counting(calls, name))
    page = tmp_path / "app.js"
    page.write_text("export const answer = 42;\n" * 200)
    tags = []
    for _ in range(2):  # two apps in one process share the compressed bytes
        with make_client(frontend=str(tmp_path)) as c:
            for _ in range(3):
                r = c.get("/app.js", headers={"Accept-Encoding": "gzip"})
                assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
            tags.append(r.headers["etag"])
    assert calls == ["gzip"] and tags[0] == tags[1]
    page.write_text("export const answer = 43;\n" * 300)
    with make_client(frontend=str(tmp_path)) as c:
        status, headers, body = raw(c, "/app.js", **{"Accept-Encoding": "gzip"})
    assert status == 200 and gzip.decompress(body) == page.read_bytes()
    assert calls == ["gzip", "gzip"] and headers["etag"] != tags[0]


def test_what_compression_would_not_shrink_is_sent_as_is(tmp_path: Path) -> None:
    (tmp_path / "tiny.js").write_text(";")
    (tmp_path / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    with make_client(frontend=str(tmp_path)) as c:
        tiny = c.get("/tiny.js", headers={"Accept-Encoding": "gzip, br"})
        png = c.get("/dot.png", headers={"Accept-Encoding": "gzip, br"})
    assert tiny.status_code == 200 and "content-encoding" not in tiny.headers
    assert tiny.content == b";" and tiny.headers["etag"]
    assert png.status_code == 200 and "content-encoding" not in png.headers
    assert png.headers["content-type"] == "image/png"


@pytest.mark.parametrize("url", ["/../pyproject.toml", "/%2e%2e/pyproject.toml", "/a%00b", "/no"])
def test_nothing_outside_the_page_folder(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 404


def test_only_the_swagger_ui_files(client: TestClient) -> None:
    assert client.get("/static/swagger/favicon-32x32.png").status_code == 200
    assert client.get("/static/swagger/__init__.py").status_code == 404
