"""The layer rules of docs/architecture.md, read from its table and checked against every import."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "connectors")
IO_LIBRARIES = ("aiohttp", "redis", "websockets")


@dataclass(frozen=True)
class Layer:
    name: str
    patterns: tuple[str, ...]
    may_import: frozenset[str]
    may_use: frozenset[str]

    def holds(self, module: str) -> bool:
        return any(
            module == pattern or (pattern.endswith(".*") and (module + ".").startswith(pattern[:-1]))
            for pattern in self.patterns
        )


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a module of ours, or the top-level name of a library
    line: int


def read_layers(text: str) -> list[Layer]:
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("layer", "---"):
            continue
        name, modules, may_import, may_use = cells
        layers.append(
            Layer(
                name=name,
                patterns=tuple(re.findall(r"`([\w.*]+)`", modules)),
                may_import=frozenset(w.strip() for w in may_import.split(",")) | {name},
                may_use=frozenset(w.strip() for w in may_use.split(",")) - {"—"},
            )
        )
    return layers


LAYERS = read_layers((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def _ours(name: str) -> str | None:
    """The module of ours that importing ``name`` runs (itself, or the package holding it)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``, which never run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        for name in names:
            target = _ours(name) or name.split(".")[0]
            if target != module:
                found.append(Import(module, target, node.lineno))
    return found


def layer_of(module: str) -> Layer:
    holding = [layer for layer in LAYERS if layer.holds(module)]
    assert len(holding) == 1, f"{module} is in {len(holding)} layers of docs/architecture.md, not one"
    return holding[0]


def test_the_table_has_the_layers() -> None:
    assert [layer.name for layer in LAYERS] == ["core", "store", "service", "web", "entry", "client"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_is_in_one_layer(module: str) -> None:
    layer_of(module)


def test_every_listed_module_exists() -> None:
    exact = {p for layer in LAYERS for p in layer.patterns if not p.endswith(".*")}
    assert sorted(exact - set(MODULES)) == []


def test_imports_follow_the_layers() -> None:
    broken = []
    for module in sorted(MODULES):
        layer = layer_of(module)
        for imp in imports_of(module):
            if imp.target in MODULES:
                target = layer_of(imp.target)
                if target.name not in layer.may_import:
                    broken.append(f"{module}:{imp.line} ({layer.name}) imports {imp.target} ({target.name})")
            elif imp.target in IO_LIBRARIES and imp.target not in layer.may_use:
                broken.append(f"{module}:{imp.line} ({layer.name}) uses {imp.target}")
    assert not broken, "\n".join(broken)


def test_no_import_cycle() -> None:
    graph = {m: {imp.target for imp in imports_of(m) if imp.target in MODULES} for m in MODULES}
    cycles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def test_only_the_policy_decides_access() -> None:
    deciders = [
        f"{module}.{node.name}"
        for module, path in MODULES.items()
        if module != "hub.policy"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(("may_", "can_"))
    ]
    assert not deciders, "\n".join(deciders)


def test_only_the_store_reaches_for_redis() -> None:
    store = next(layer for layer in LAYERS if layer.name == "store")
    reaching = [
        f"{module}:{node.lineno}"
        for module, path in MODULES.items()
        if not store.holds(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "redis"
    ]
    assert not reaching, "\n".join(reaching)
