"""The import graph of ``src/engram``: no cycle, and no import from a lower layer back up.

The layers, lowest first (a module may import its own layer and the layers
below it, never one above)::

    foundation   errors, timeutil, ids, text, config, filtering
    models       models, validation
    parts        store, index, embed, recall, llm, limits
    pipelines    ingest, retrieval, trust, transfer, subjects, agents,
                 runtime (the engine's resources)
    audit        audit
    engine       engine
    facades      aio, client, compat
    surfaces     cli, server, ui, integrations, importers, bench, the package root

Every top-level module or package of ``engram`` must be listed in
:data:`LAYERS`: a new one fails here until its place is decided.

Imports are read from the syntax tree, including those inside functions (a
lazy import is still a dependency). ``if TYPE_CHECKING:`` imports count for
the layer rule (an annotation naming a higher layer is a dependency on it)
but not for the cycle rule (they never run). The edge goes to the module
named: ``from ..store import x`` depends on ``engram.store`` (its
``__init__``), ``from ..store.base import Store`` on ``engram.store.base``,
``from . import hops`` on ``engram.retrieval.hops``.

Also checked: nothing in the package imports the repository's ``tools/`` or
``tests/`` or builds a path into ``tests/`` (developer tools live in
``tools/``, outside the wheel).

Run ``python tests/test_layers.py`` to print the package-level dependencies.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "engram"

#: lowest first: (layer name, the top-level modules/packages of ``engram`` in it)
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "timeutil", "ids", "text", "config", "filtering")),
    ("models", ("models", "validation")),
    ("parts", ("store", "index", "embed", "recall", "llm", "limits")),
    ("pipelines", ("ingest", "retrieval", "trust", "transfer", "subjects", "runtime", "agents")),
    ("audit", ("audit",)),
    ("engine", ("engine", "engine_agents")),
    ("facades", ("aio", "client", "compat")),
    ("surfaces", ("cli", "server", "ui", "integrations", "importers", "bench", "__main__",
                  "")),
]


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    type_checking: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The longest known module that ``name`` starts with."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    """The ``engram`` modules that module ``name`` imports, at any depth of its tree."""
    is_package = path.name == "__init__.py"

    def targets(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "engram" or alias.name.startswith("engram."):
                    yield _resolve(alias.name, known)
            return
        if node.level:
            base = name.split(".") if is_package else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        if module != "engram" and not module.startswith("engram."):
            return
        for alias in node.names:
            sub = f"{module}.{alias.name}"
            yield sub if sub in known else _resolve(module, known)

    def walk(node: ast.AST, type_checking: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from walk_one(stmt, True)
                for stmt in child.orelse:
                    yield from walk_one(stmt, type_checking)
            else:
                yield from walk_one(child, type_checking)

    def walk_one(node: ast.AST, type_checking: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in targets(node):
                if target and target != name:
                    yield Import(name, target, node.lineno, type_checking)
        else:
            yield from walk(node, type_checking)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), False)


def all_imports() -> list[Import]:
    known = modules()
    return [imp for name, path in known.items() for imp in imports_of(name, path, known)]


def top_level(module: str) -> str:
    """``engram.store.base`` -> ``store``; the package root ``engram`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(module: str) -> int | None:
    top = top_level(module)
    for i, (_, members) in enumerate(LAYERS):
        if top in members:
            return i
    return None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected
    component of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_a_cycle(c, edges) for c in components]


def _a_cycle(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges[node] & component):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError("a strongly connected component always has a cycle")


# -- tests ------------------------------------------------------------------------


def test_every_top_level_module_has_a_layer() -> None:
    unplaced = sorted({top_level(m) for m in modules() if layer_of(m) is None})
    assert not unplaced, f"add these engram modules/packages to LAYERS: {unplaced}"


def test_no_import_cycle() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for name in modules():
        edges[name]
    for imp in all_imports():
        if not imp.type_checking:
            edges[imp.source].add(imp.target)
    found = cycles(edges)
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_no_import_from_a_lower_layer_up() -> None:
    upward = []
    for imp in all_imports():
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src is not None and dst is not None and dst > src:
            upward.append(
                f"{imp.source}:{imp.line} ({LAYERS[src][0]}) imports {imp.target}"
                f" ({LAYERS[dst][0]}){' under TYPE_CHECKING' if imp.type_checking else ''}"
            )
    assert not upward, "imports from a lower layer up:\n" + "\n".join(upward)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_package_never_reaches_into_the_repository() -> None:
    """No import of ``tools``/``tests`` and no path into ``tests/`` in code
    (docstrings may name tests): the wheel works without a checkout."""
    offenders = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                        else [node.module or ""] if not node.level else [])
                if any(m.split(".")[0] in ("tools", "tests") for m in mods):
                    offenders.append(f"{name}:{node.lineno} imports {mods}")
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in docs
                  and (node.value == "tests" or node.value.startswith("tests/"))):
                offenders.append(f"{name}:{node.lineno} builds a path into tests/")
    assert not offenders, offenders


def test_the_checker_finds_cycles_and_upward_imports() -> None:
    """The rules above would fire: a two-module cycle and a longer one are found."""
    edges = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(cycles(edges)) == [["a", "b", "a"], ["c", "d", "e", "c"]]
    assert layer_of("engram.models") == 1 and layer_of("engram.engine") == 5
    assert layer_of("engram") == len(LAYERS) - 1


if __name__ == "__main__":
    per: dict[str, set[str]] = defaultdict(set)
    for imp in all_imports():
        if top_level(imp.source) != top_level(imp.target):
            per[top_level(imp.source) or "(root)"].add(top_level(imp.target) or "(root)")
    for src in sorted(per):
        print(f"{src:14s} -> {', '.join(sorted(per[src]))}")
