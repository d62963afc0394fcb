"""The page takes its names from /api/catalog: no preset, optimizer or record-field name is
written into ``frontend/**/*.js`` as a string literal (``state.js``'s defaults aside).

The names come from the Python registries the catalog is built from, so a new preset or
field is checked without touching this file. A literal counts when it is exactly a name or
when one item of a comma-separated list of words (``"step,epoch,loss"``) is. Protocol words that
are also field names (the client message ``{type: "step"}``) are allowed only as the value
of a message's ``type``, and only if the protocol defines them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from gradscape.api.routes.stream import CLIENT_TYPES
from gradscape.core.optim import OPTIMIZERS
from gradscape.core.presets import PRESETS
from gradscape.core.records import ALL_FIELDS

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"

#: After one of these (or at the start), a ``/`` opens a regular expression, not a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^")
_WORD = re.compile(r"[\w-]+")
_REGEX_KEYWORDS = {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void"}


@dataclass(frozen=True)
class Literal:
    """One string literal (or one static chunk of a template literal) in a JS file."""

    text: str
    start: int  # offset of the opening quote (for a template's chunk: the ` or } before it)
    line: int


def _skip_string(src: str, i: int, quote: str) -> int:
    """The offset just past the string opened at ``i``."""
    i += 1
    while i < len(src) and src[i] != quote:
        i += 2 if src[i] == "\\" else 1
    return i + 1


def _skip_regex(src: str, i: int) -> int:
    """The offset just past the regular expression (and its flags) opened at ``i``."""
    i += 1
    in_class = False
    while i < len(src) and (src[i] != "/" or in_class):
        if src[i] == "\\":
            i += 1
        elif src[i] == "[":
            in_class = True
        elif src[i] == "]":
            in_class = False
        i += 1
    i += 1
    while i < len(src) and (src[i].isalnum() or src[i] == "_"):
        i += 1
    return i


def _regex_allowed(src: str, i: int) -> bool:
    """Does a ``/`` at ``i`` start a regular expression (judged by the token before it)?"""
    j = i - 1
    while j >= 0 and src[j].isspace():
        j -= 1
    if j < 0 or src[j] in _REGEX_AFTER:
        return True
    word = re.search(r"[A-Za-z_$][\w$]*$", src[: j + 1])
    return bool(word and word.group() in _REGEX_KEYWORDS)


def string_literals(src: str) -> list[Literal]:
    """Every quoted string and every static chunk of every template literal, comments skipped.

    A small scanner, not a parser: it knows strings, templates (nested through ``${}``),
    comments and regular expressions, which is all it takes to find the literals.
    """
    out: list[Literal] = []
    # each entry: the brace depth inside a `${...}`, or None for "inside a template's text"
    stack: list[int | None] = []
    depth = 0
    chunk_start = 0
    i = 0

    def add(text: str, start: int) -> None:
        out.append(Literal(text, start, src.count("\n", 0, start) + 1))

    while i < len(src):
        if stack and stack[-1] is None:  # inside a template's text
            c = src[i]
            if c == "\\":
                i += 2
            elif c == "`":
                add(src[chunk_start:i], chunk_start - 1)
                stack.pop()
                i += 1
            elif src.startswith("${", i):
                add(src[chunk_start:i], chunk_start - 1)
                stack[-1] = depth
                depth = 0
                i += 2
            else:
                i += 1
            continue
        c = src[i]
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = len(src) if i < 0 else i
        elif src.startswith("/*", i):
            i = src.index("*/", i) + 2
        elif c in "'\"":
            end = _skip_string(src, i, c)
            add(src[i + 1 : end - 1], i)
            i = end
        elif c == "`":
            stack.append(None)
            chunk_start = i + 1
            i += 1
        elif c == "/" and _regex_allowed(src, i):
            i = _skip_regex(src, i)
        elif c == "{":
            depth += 1
            i += 1
        elif c == "}" and stack and depth == 0:  # the end of a `${...}`
            depth = stack.pop() or 0
            stack.append(None)
            chunk_start = i + 1
            i += 1
        else:
            if c == "}":
                depth -= 1
            i += 1
    return out


def checked_names() -> dict[str, str]:
    """name -> what it is, from the registries the catalog publishes."""
    names: dict[str, str] = {}
    for kind, registry in (
        ("record field", ALL_FIELDS),
        ("optimizer", OPTIMIZERS),
        ("preset", PRESETS),
    ):
        for name in registry:
            names[name] = f"{kind} {name!r}" if name not in names else f"{names[name]}, {kind}"
    return names


def _defaults_span(path: Path, src: str) -> range:
    """Where ``state.js`` declares its defaults (the one place a name may be written)."""
    if path.name != "state.js":
        return range(0)
    m = re.search(r"export const DEFAULT_CONFIG = [^;]*;", src)
    assert m, "state.js declares DEFAULT_CONFIG"
    return range(m.start(), m.end())


def _is_message_type(src: str, lit: Literal) -> bool:
    """A protocol word as the value of a message's ``type`` (``{type: "step"}``)."""
    return lit.text in CLIENT_TYPES and bool(re.search(r"\btype\s*:\s*$", src[: lit.start]))


def _parts(text: str) -> list[str]:
    """The literal, and its items if it is a comma-separated list of words ("step,loss")."""
    items = [p.strip() for p in text.split(",")]
    is_list = len(items) > 1 and all(_WORD.fullmatch(p) for p in items)
    return [text, *items] if is_list else [text]


def copies_in(path: Path, names: dict[str, str], root: Path = FRONTEND) -> list[str]:
    """``file:line: "literal" names a ...`` for every literal that copies a name."""
    src = path.read_text()
    allowed = _defaults_span(path, src)
    found = []
    for lit in string_literals(src):
        if lit.start in allowed or _is_message_type(src, lit):
            continue
        hits = sorted({names[p] for p in _parts(lit.text) if p in names})
        if hits:
            where = path.relative_to(root)
            found.append(f"{where}:{lit.line}: {lit.text!r} names {'; '.join(hits)}")
    return found


def test_no_frontend_module_copies_a_catalog_name() -> None:
    files = sorted(FRONTEND.rglob("*.js"))
    assert len(files) > 10
    names = checked_names()
    found = [hit for path in files for hit in copies_in(path, names)]
    assert found == [], "names the catalog serves, copied into the page:\n" + "\n".join(found)


def test_the_names_come_from_the_registries() -> None:
    names = checked_names()
    assert {"pass-fail", "sgd", "adam", "loss", "batch_size", "params"} <= set(names)
    assert set(CLIENT_TYPES) & set(names) == {"step"}  # the one word both use today


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('const a = "loss";', ["loss"]),
        ("f('adam', \"x\")", ["adam", "x"]),
        ("const t = `pass-fail`;", ["pass-fail"]),
        ("const t = `a ${b ? `lr` : {x: 1}.x} c`;", ["a ", "lr", " c"]),
        ("// 'loss' in a comment\n/* \"sgd\" */ x", []),
        ('const r = /"loss"/g; const d = a / b / "c";', ["c"]),
        ("const s = 'it\\'s'; `\\`${x}`", ["it\\'s", "\\`", ""]),
        ('if (x) { y = "z"; }', ["z"]),
    ],
)
def test_the_scanner_finds_exactly_the_literals(source: str, expected: list[str]) -> None:
    assert [lit.text for lit in string_literals(source)] == expected


@pytest.mark.parametrize(
    ("source", "hit"),
    [
        ('const fields = "step,epoch,loss";', True),
        ('const fields = "a, momentum";', False),
        ('const fields = "a, grad";', True),
        ("const text = `step ${k}, loss ${v}`;", False),  # prose with commas, not a list
        ("const f = ['grad_norm'];", True),
        ("opt === `sgd`", True),
        ('api.create({ preset: "moons-mlp" })', True),
        ('run.send({ type: "step", steps: 1 })', False),  # a protocol message type
        ('api.trajectory(id, { fields: "step" })', True),  # the same word as a field
        ('const label = "learning rate";', False),
        ("frame.batch_loss + run.info.loss", False),  # property access, not a literal
    ],
)
def test_a_copy_is_caught(tmp_path: Path, source: str, hit: bool) -> None:
    path = tmp_path / "x.js"
    path.write_text(source)
    assert bool(copies_in(path, checked_names(), root=tmp_path)) is hit
