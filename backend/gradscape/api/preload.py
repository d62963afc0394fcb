"""The page's ES module graph, walked from its HTML, as a ``Link: rel=modulepreload`` header.

A module's imports are only found once it is parsed: announced with the HTML, the whole
graph is fetched at once instead of level by level, while plotly.js (preloaded by the
page) downloads beside it.
"""

from __future__ import annotations

import posixpath
import re
import threading
from pathlib import Path

#: A header of a few kB at most (the page has a few dozen modules).
MAX_MODULES = 100
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
MODULE_TYPE = re.compile(r"""\btype\s*=\s*["']?module\b""", re.IGNORECASE)
SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
# Static `import ... from "x"`, `import "x"` and `export ... from "x"` at a line's start;
# the clause before `from` may span lines. Dynamic import() is left to load when asked.
IMPORT = re.compile(
    r"""^[ \t]*(?:import|export)\b(?:[^;"'`]*?\bfrom)?\s*["']((?:\.{1,2})?/[^"']+)["']""",
    re.MULTILINE,
)

_imports: dict[Path, tuple[tuple[int, int], list[str]]] = {}
_lock = threading.Lock()


def entries(html: str, url: str = "/") -> list[str]:
    """URL paths of the ``<script type="module" src>`` tags of a page served at ``url``."""
    found = []
    for attrs in SCRIPT.findall(html):
        src = SRC.search(attrs)
        if MODULE_TYPE.search(attrs) and src and _local(src.group(1)):
            found.append(_join(url, src.group(1)))
    return found


def imports(source: str, url: str) -> list[str]:
    """URL paths a module at ``url`` imports statically (relative or root-relative)."""
    return [_join(url, spec) for spec in IMPORT.findall(source) if _local(spec)]


def _local(spec: str) -> bool:
    """A path on this server, not another site's URL (``https://...``, ``//host/...``)."""
    return "://" not in spec and not spec.startswith("//")


def _join(base: str, spec: str) -> str:
    joined = spec if spec.startswith("/") else posixpath.join(posixpath.dirname(base), spec)
    return posixpath.normpath(joined)


def _cached_imports(path: Path, url: str) -> list[str]:
    """``imports`` of the file at ``path``, parsed again only when the file changed."""
    st = path.stat()
    key = (st.st_mtime_ns, st.st_size)
    with _lock:
        found = _imports.get(path)
    if found is not None and found[0] == key:
        return found[1]
    out = imports(path.read_text(encoding="utf-8", errors="replace"), url)
    with _lock:
        _imports[path] = (key, out)
    return out


def module_graph(root: Path, page: Path) -> list[str]:
    """Every module ``page`` (a file under ``root``) loads, breadth first from its entries."""
    root = root.resolve()
    url = "/" + page.relative_to(root).as_posix()
    queue = entries(page.read_text(encoding="utf-8", errors="replace"), url)
    seen: list[str] = []
    while queue and len(seen) < MAX_MODULES:
        module = queue.pop(0)
        if module in seen:
            continue
        path = (root / module.lstrip("/")).resolve()
        if root not in path.parents or not path.is_file():
            continue  # not one of the page's files (the server's 404 will say so)
        seen.append(module)
        queue.extend(_cached_imports(path, module))
    return seen


def link_header(root: Path, page: Path) -> str:
    """``</a.js>; rel=modulepreload, ...`` for the module graph of ``page`` ("" if none)."""
    return ", ".join(f"<{m}>; rel=modulepreload" for m in module_graph(root, page))
