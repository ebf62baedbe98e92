"""The package's layout holds: imports flow one way along the pipeline, with no circle.

    language <- reports <- index <- search <- app

`admin` (changes to the library) uses only reports and index below it; `learn`
(model training) may use language, reports, index and search; shared helpers
(`durable`, `settings`) import nothing of the package; only the entry point
(`cli`, `__main__`) may import anything, and nothing imports it. Read from every
module's imports with `ast`, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PACKAGE = ROOT / "assistant"

SHARED = {"durable", "settings"}  # top-level helpers: import nothing of the package
ENTRY = {"cli", "__main__"}
# Which subpackages (and shared helpers) each part may import, besides its own modules.
ALLOWED: dict[str, set[str]] = {
    "shared": set(),
    "language": SHARED,
    "reports": SHARED | {"language"},
    "index": SHARED | {"language", "reports"},
    "search": SHARED | {"language", "reports", "index"},
    "admin": SHARED | {"language", "reports", "index"},
    "app": SHARED | {"language", "reports", "index", "search", "admin"},
    "learn": SHARED | {"language", "reports", "index", "search"},
}


def part_of(module: str) -> str:
    """ "index.disk" -> "index"; "durable" -> "durable"; the package itself -> ""."""
    return module.split(".")[0] if module else ""


def modules() -> dict[str, Path]:
    """Every module, by dotted name inside the package ("index.disk", "cli", "app" for app/__init__)."""
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = p.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports (a package's `__init__` counted as the package)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name[len("assistant.") :] for a in node.names if a.name.startswith("assistant.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                if node.level - 1 > len(here):
                    raise AssertionError(f"{name}: import beyond the package")
                mod = ".".join(base + (node.module.split(".") if node.module else []))
            elif node.module and (node.module == "assistant" or node.module.startswith("assistant.")):
                mod = node.module[len("assistant.") :] if node.module != "assistant" else ""
            else:
                continue
            # `from . import x` and `from .pkg import mod` name modules; `from .mod import f` names a module's attribute.
            subs = [f"{mod}.{a.name}" if mod else a.name for a in node.names]
            targets = [s for s in subs if s in known] or [mod]
        for t in targets:
            if t in known or t == "":
                found.add(t)
            else:
                raise AssertionError(f"{name} imports {t!r}, which is not a module of the package")
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_every_module_is_in_a_part_of_the_layout():
    for name in modules():
        part = part_of(name)
        assert part in ALLOWED or part in SHARED or part in ENTRY or part == "", f"{name}: add its part to the layout rule"


def test_imports_flow_one_way():
    wrong = []
    for name, deps in graph().items():
        part = part_of(name)
        if part in ENTRY or part == "":
            continue
        allowed = ALLOWED["shared" if part in SHARED else part]
        for dep in deps:
            target = part_of(dep)
            if target == part or target == "" or target in allowed:
                continue
            wrong.append(f"{name} -> {dep}")
    assert not wrong, "imports against `language <- reports <- index <- search <- app` (admin: reports, index):\n" + "\n".join(sorted(wrong))


def test_only_the_entry_point_imports_learn_and_nothing_imports_the_entry_point():
    for name, deps in graph().items():
        for dep in deps:
            assert part_of(dep) not in ENTRY or part_of(name) in ENTRY, f"{name} imports the entry point {dep}"
            if part_of(dep) == "learn":
                assert part_of(name) in ENTRY | {"learn"}, f"{name} imports {dep}: only cli may use learn"


def test_no_import_circle():
    g = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        path.append(n)
        for d in sorted(g.get(n, ())):
            if d == "":
                continue
            if state.get(d) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(d) :] + [d]))
            if d not in state:
                visit(d)
        path.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)


def test_the_rule_catches_an_upward_import(tmp_path, monkeypatch):
    # The checker itself: a reports module importing search is reported.
    fake = tmp_path / "assistant"
    for rel, text in {
        "__init__.py": "",
        "reports/__init__.py": "",
        "reports/a.py": "from ..search.b import f\n",
        "search/__init__.py": "",
        "search/b.py": "from ..reports import a\n",
    }.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    g = graph()
    assert g["reports.a"] == {"search.b"} and g["search.b"] == {"reports.a"}
    with pytest.raises(AssertionError, match="reports.a -> search.b"):
        test_imports_flow_one_way()
    with pytest.raises(AssertionError, match="import circle"):
        test_no_import_circle()
