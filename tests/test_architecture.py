"""The architecture, checked on the source: imports between top-level packages point one way, and
SQL lives in storage/.

The allowed imports are README's "How it fits together" as a table.  Each test reads every product
``.py`` file with ``ast`` (nothing is imported), so a violation is named by file and line.  The few
known exceptions are listed exactly, with the work that removes them: a new exception fails, and so
does a listed one that is gone (take it off the list — the lists only shrink).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "nianbao",
    "config",
    "crawler",
    "spiders",
    "storage",
    "reports",
    "monitor",
    "outputs",
    "simulator",
    "distributed",
)

# Which top-level packages each package may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "nianbao": set(PACKAGES) - {"nianbao"},  # the application shell runs everything
    "crawler": {"spiders", "storage", "reports", "config"},
    "spiders": {"reports", "config"},
    "reports": {"storage", "config"},
    "monitor": {"storage", "reports", "config"},
    "outputs": {"monitor", "storage", "reports", "config"},
    "storage": set(),
    "config": set(),
    "simulator": {"reports"},  # the report model it renders
    "distributed": {"crawler", "spiders", "storage", "config"},  # remote crawls, into storage
}

# Imports outside the table still being removed: (file, imported module).  Empty: keep it so.
KNOWN_IMPORTS: set[tuple[str, str]] = set()

# SQL outside storage/ still being moved, per file: how many places (calls of .execute/
# .executemany/.executescript/.query, and SQL string literals).  Empty: keep it so.
KNOWN_SQL: dict[str, int] = {}

SQL_CALLS = {"execute", "executemany", "executescript", "query"}
SQL_TEXT = re.compile(
    r"\b(?:SELECT\b[\s\S]*\bFROM|INSERT\s+(?:OR\s+[A-Z]+\s+)?INTO|REPLACE\s+INTO|UPDATE\s+\w+\s+SET"
    r"|DELETE\s+FROM|CREATE\s+(?:TABLE|INDEX|VIEW|TRIGGER)|DROP\s+TABLE|ALTER\s+TABLE|PRAGMA)\b"
)
# A module named in a string, as Scrapy settings and APScheduler job references do.
DOTTED = re.compile("(?:" + "|".join(PACKAGES) + r")(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_]\w*)?")


@dataclass(frozen=True)
class Import:
    file: str  # relative to the repository, e.g. "crawler/runner.py"
    line: int
    module: str  # the imported module, e.g. "spiders.fingerprint"

    @property
    def source(self) -> str:
        return self.file.split("/")[0]

    @property
    def target(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.source} imports {self.module}"


def product_files(packages: tuple[str, ...] = PACKAGES) -> Iterator[tuple[str, ast.Module]]:
    """Every product ``.py`` file of ``packages``, parsed: (path relative to the repository, tree)."""
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            yield rel, ast.parse(path.read_text(encoding="utf-8"), rel)


def is_module(dotted: str) -> bool:
    """True when ``dotted`` (e.g. ``crawler.pipelines``) is a module or package of the repository."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def named_module(text: str) -> str | None:
    """The repository module a string names (``crawler.barriers.BarrierMiddleware`` → ``crawler.barriers``)."""
    if not DOTTED.fullmatch(text):
        return None
    parts = text.split(":")[0].split(".")
    for n in range(len(parts), 1, -1):
        if is_module(".".join(parts[:n])):
            return ".".join(parts[:n])
    return None


def imports_of(rel: str, tree: ast.Module) -> Iterator[Import]:
    """Absolute imports of our packages, and our modules named in strings (Scrapy settings)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            module = named_module(node.value)
            names = [module] if module else []
        else:
            continue
        for name in names:
            if name.split(".")[0] in PACKAGES:
                yield Import(rel, node.lineno, name)


def cross_imports() -> list[Import]:
    """Every import from one top-level package into another."""
    return [imp for rel, tree in product_files() for imp in imports_of(rel, tree) if imp.source != imp.target]


def find_cycle(edges: dict[str, dict[str, Import]]) -> list[Import] | None:
    """One cycle of the package graph, as the imports along it, or None."""
    done: set[str] = set()
    stack: list[str] = []  # packages on the current path
    steps: list[Import] = []  # steps[i] leads from stack[i] to stack[i + 1]

    def visit(node: str) -> list[Import] | None:
        stack.append(node)
        for target, imp in sorted(edges.get(node, {}).items()):
            if target in stack:
                return [*steps[stack.index(target) :], imp]
            if target not in done:
                steps.append(imp)
                found = visit(target)
                if found:
                    return found
                steps.pop()
        stack.pop()
        done.add(node)
        return None

    for package in sorted(edges):
        if package not in done:
            found = visit(package)
            if found:
                return found
    return None


def package_graph(imports: list[Import]) -> dict[str, dict[str, Import]]:
    """source package → target package → the first import (by file, line) that makes the edge."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in sorted(imports, key=lambda i: (i.file, i.line)):
        edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    return edges


def test_imports_between_packages_follow_the_table():
    imports = cross_imports()
    assert imports, "no imports between packages found: the scan is broken"
    bad = [
        imp
        for imp in imports
        if imp.target not in ALLOWED[imp.source] and (imp.file, imp.module) not in KNOWN_IMPORTS
    ]
    assert not bad, "imports against the one-way flow (README: How it fits together):\n" + "\n".join(
        map(str, bad)
    )
    gone = KNOWN_IMPORTS - {(imp.file, imp.module) for imp in imports}
    assert not gone, f"no longer imported, take them off KNOWN_IMPORTS: {sorted(gone)}"


def test_no_import_cycle_between_packages():
    cycle = find_cycle(package_graph(cross_imports()))
    assert cycle is None, (
        "import cycle: "
        + " → ".join([cycle[0].source, *(step.target for step in cycle)])
        + "\n"
        + "\n".join(map(str, cycle))
    )


def test_cycle_finder_names_the_imports():
    """The checker itself: a two-package cycle is found, and reported by its imports."""
    a = Import("storage/x.py", 3, "reports.model")
    b = Import("reports/y.py", 7, "storage.store")
    c = Import("monitor/z.py", 1, "storage.store")
    assert find_cycle(package_graph([c])) is None
    cycle = find_cycle(package_graph([a, b, c]))
    assert cycle is not None and {str(step) for step in cycle} == {str(a), str(b)}


def test_strings_naming_modules_count_as_imports():
    assert named_module("crawler.barriers.BarrierMiddleware") == "crawler.barriers"
    assert named_module("nianbao.schedule:crawl_chain") == "nianbao.schedule"
    assert named_module("config.yaml") is None  # a file name, not a module
    assert named_module("monitor.swing_threshold") is None  # a config key


def sql_sites(rel: str, tree: ast.Module) -> list[str]:
    """``file:line: what`` for every SQL call and SQL string literal (docstrings aside)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    sites: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
        ):
            sites.append((node.lineno, f"{rel}:{node.lineno}: .{node.func.attr}(…)"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and SQL_TEXT.search(node.value)
        ):
            sites.append((node.lineno, f"{rel}:{node.lineno}: {node.value.strip()[:60]!r}"))
    return [site for _, site in sorted(sites)]


def test_sql_lives_in_storage():
    """Product code outside storage/ (the simulator is test equipment) runs no SQL of its own."""
    found: dict[str, list[str]] = {}
    for rel, tree in product_files(tuple(p for p in PACKAGES if p not in ("storage", "simulator"))):
        sites = sql_sites(rel, tree)
        if sites:
            found[rel] = sites
    new = {rel: sites for rel, sites in found.items() if len(sites) > KNOWN_SQL.get(rel, 0)}
    assert not new, "SQL outside storage/ (add a function to storage/ instead):\n" + "\n".join(
        site for sites in new.values() for site in sites
    )
    fewer = {rel: len(found.get(rel, [])) for rel, n in KNOWN_SQL.items() if len(found.get(rel, [])) < n}
    assert not fewer, f"less SQL than KNOWN_SQL allows: lower (or remove) these entries to {fewer}"


def test_sql_scan_sees_calls_and_literals():
    """The scanner itself: a query call and an SQL literal are found, a docstring and prose are not."""
    tree = ast.parse(
        '"""SELECT the rows FROM the docstring."""\n'
        'x = store.db.execute("SELECT id FROM documents")\n'
        'y = "INSERT OR IGNORE INTO runs VALUES (?)"\n'
        'z = "select what you like from the menu"\n'
    )
    assert [s.split(": ", 1)[1] for s in sql_sites("m.py", tree)] == [
        "'SELECT id FROM documents'",
        ".execute(…)",
        "'INSERT OR IGNORE INTO runs VALUES (?)'",
    ]
