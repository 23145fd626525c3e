"""Imports point down the layers: no module under app/ imports a layer above its own.

A module's layer is that of the longest prefix in LAYERS naming it; a new module or
package under app/ needs its line there. Imports under `if TYPE_CHECKING:` and inside
functions count too: they are dependencies all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import app

APP = Path(app.__file__).parent

# top to bottom; a module may import its own layer and every layer below it
LAYERS: list[tuple[str, ...]] = [
    ("app.main", "app.worker", "app.cli", "app.dev", "app.scan", "app.startup", "app.migrate", "app.embedded"),
    ("app.graphql", "app.graphql_http", "app.pages", "app.security"),
    ("app.resolvers", "app.context"),
    ("app.schema",),
    ("app.services",),
    ("app.jobs", "app.repos", "app.queue", "app.recognition", "app.events", "app.db", "app.auth", "app.security.jwks"),
    ("app.models",),
    ("app.errors", "app.settings", "app.observability", "app.backoff", "app.jobs.job", "app"),
]


def layer_of(module: str) -> int:
    """The index in LAYERS (0 is the top) of the longest prefix naming `module`."""
    best, depth = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = index, prefix.count(".")
    assert best >= 0, f"{module} has no layer: add it to LAYERS in {__file__}"
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import of an app module in the file, wherever it stands."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("app.") and node.module != "app":
                yield node.lineno, node.module
            elif node.module == "app":
                yield from ((node.lineno, f"app.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("app."))


def upward_imports() -> list[str]:
    """Every import of a higher layer, as `file:line: module (layer) -> imported (layer)`."""
    found = []
    for path in sorted(APP.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        for line, imported in app_imports(path):
            if layer_of(imported) < own:
                found.append(f"{path.relative_to(APP.parent)}:{line}: {module} (layer {own}) imports "
                             f"{imported} (layer {layer_of(imported)})")
    return found


def test_no_module_imports_a_layer_above_it() -> None:
    assert upward_imports() == []


def test_relative_imports_are_not_used() -> None:
    """The check reads absolute module names only."""
    relative = [f"{p.relative_to(APP.parent)}:{n.lineno}" for p in sorted(APP.rglob("*.py"))
                for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.ImportFrom) and n.level > 0]
    assert relative == []


def test_the_layer_table_ranks_as_documented() -> None:
    assert layer_of("app.graphql") < layer_of("app.resolvers.mutations") < layer_of("app.schema.types")
    assert layer_of("app.schema.errors") < layer_of("app.services.submit") < layer_of("app.jobs.store")
    assert layer_of("app.jobs.store") < layer_of("app.models.jobs") < layer_of("app.errors")
    assert layer_of("app.security.jwks") > layer_of("app.security.admission")
