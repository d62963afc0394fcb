"""The page's module graph as a Link header: every static import, nothing else."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gradscape.api import preload
from tests.api.conftest import make_client

INDEX = """<!doctype html><html><head>
<script src="/vendor/plotly.min.js"></script>
<script type="module" src="main.js"></script>
<script src="https://example.org/x.js" type="module"></script>
</head></html>"""
MODULES = {
    "main.js": 'import { a } from "./a.js";\nimport "./side.js";\nexport * from "./plots/b.js";\n'
    "const later = () => import('./lazy.js');\n"
    '// import { nope } from "./commented.js";\n',
    "a.js": 'import {\n  one,\n  two,\n} from "./plots/b.js";\nimport { m } from "./main.js";\n'
    'export const a = "from ./not-an-import.js";\n',
    "side.js": 'import * as gone from "./missing.js";\n',
    "plots/b.js": 'import { a } from "../a.js";\nimport root from "/side.js";\n'
    'import outside from "../../secret.js";\n',
    "lazy.js": "",
    "cdn.js": 'import x from "//cdn.example.org/x.js";\nimport "https://example.org/y.js";\n',
    "unused.js": "",
    "cdn.example.org/x.js": "",  # a look-alike of another site's module, never taken for it
}


def page(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text(INDEX)
    for name, text in MODULES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_graph_breadth_first_from_the_module_entry(tmp_path: Path) -> None:
    root = page(tmp_path)
    graph = preload.module_graph(root, root / "index.html")
    # not: lazy.js (dynamic), unused.js, commented.js, missing.js, ../../secret.js
    assert graph == ["/main.js", "/a.js", "/side.js", "/plots/b.js"]


def test_module_entries_in_document_order() -> None:
    html = """<script type="module" src="a.js"></script>
    <script src="classic.js"></script>
    <SCRIPT src='sub/b.js' defer type=module></SCRIPT>
    <script type="module">import "./inline.js";</script>
    <script type="module" src="//cdn.example.org/c.js"></script>
    <script type="module" src="https://example.org/d.js"></script>"""
    assert preload.entries(html) == ["/a.js", "/sub/b.js"]
    assert preload.entries(html, "/deep/page.html") == ["/deep/a.js", "/deep/sub/b.js"]


def test_the_page_announces_its_modules(tmp_path: Path) -> None:
    with make_client(frontend=str(page(tmp_path))) as c:
        r = c.get("/")
        again = c.get("/", headers={"If-None-Match": r.headers["etag"]})
        assert c.get("/a.js").headers.get("link") is None  # only pages carry it
    want = "</main.js>; rel=modulepreload, </a.js>; rel=modulepreload, "
    want += "</side.js>; rel=modulepreload, </plots/b.js>; rel=modulepreload"
    assert r.status_code == 200 and r.headers["link"] == want
    assert again.status_code == 304 and again.headers["link"] == want


def test_a_changed_module_is_read_again(tmp_path: Path) -> None:
    root = page(tmp_path)
    assert "/lazy.js" not in preload.module_graph(root, root / "index.html")
    (root / "side.js").write_text('import "./lazy.js";\nimport "./unused.js";\nimport "./cdn.js";')
    graph = preload.module_graph(root, root / "index.html")
    want = ["/main.js", "/a.js", "/side.js", "/plots/b.js", "/lazy.js", "/unused.js", "/cdn.js"]
    assert graph == want  # and not cdn.js' imports from other sites


def test_every_announced_module_of_the_real_page_is_served(client: TestClient) -> None:
    r = client.get("/")
    links = [part.split(">")[0].lstrip(" <") for part in r.headers["link"].split(",")]
    # index.html's module scripts in their order (token.js, then main.js), then their imports
    assert links[:2] == ["/token.js", "/main.js"] and len(links) == len(set(links)) > 10
    for url in links:
        got = client.get(url)
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/javascript")
