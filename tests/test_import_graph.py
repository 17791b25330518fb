"""The package's import graph: no circles, no upward arrows, tiny/ reached only through the registry.

Built from the source with ``ast`` (nothing is imported): every ``import`` / ``from ... import``
naming a t2ir1_eval module counts, inside functions too, since a lazy import is still a
dependency. Registry entries (``"t2ir1_eval.x:Attr"`` strings) are the intended lazy door and
are not imports. The layers are the ones docs/ARCHITECTURE.md draws.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "t2ir1_eval"

#: lowest first; a module may import its own layer or a lower one, never a higher one
LAYERS: list[tuple[str, list[str]]] = [
    ("ground", ["t2ir1_eval", "errors", "types", "io", "seeding", "context", "registry", "images", "distributed",
                "provenance", "progress", "redact", "runlock", "checkpoints", "run_checks", "writer"]),
    ("domain", ["rules", "models", "store", "tiny"]),
    ("components", ["options_schema", "suites", "generators", "scorers"]),
    ("stages", ["stages"]),
    ("orchestration", ["pipeline", "report"]),
    ("entry", ["cli"]),
]


def module_files(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """module name -> (file, is a package __init__)."""
    mods = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (path, is_pkg)
    return mods


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the package's modules it imports (relative imports resolved)."""
    mods = module_files(root, package)

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, (path, is_pkg) in mods.items():
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                out.update(m for a in node.names if a.name.split(".")[0] == package and (m := known(a.name)))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != package:
                    continue
                for alias in node.names:  # `from pkg import submodule` names a module, else an attribute
                    sub = f"{target}.{alias.name}"
                    m = sub if sub in mods else known(target)
                    if m:
                        out.add(m)
        out.discard(mod)
        graph[mod] = out
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str, package: str = PACKAGE) -> int:
    top = module.split(".")[1] if "." in module else module
    for n, (_, names) in enumerate(LAYERS):
        if top in names:
            return n
    raise AssertionError(f"{module}: in no layer of tests/test_import_graph.py LAYERS; add its top-level name "
                         f"to the layer docs/ARCHITECTURE.md puts it in")


def is_tiny(module: str, package: str = PACKAGE) -> bool:
    return module == f"{package}.tiny" or module.startswith(f"{package}.tiny.")


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    return [f"{a} ({LAYERS[layer_of(a)][0]}) -> {b} ({LAYERS[layer_of(b)][0]})"
            for a in sorted(graph) for b in sorted(graph[a]) if layer_of(b) > layer_of(a)]


def tiny_imports(graph: dict[str, set[str]]) -> list[str]:
    return [f"{a} -> {b}" for a in sorted(graph) if not is_tiny(a) for b in sorted(graph[a]) if is_tiny(b)]


# ---------------------------------------------------------------------------- the package
@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, PACKAGE)


def test_the_graph_sees_the_package(graph):
    # guards the checks below against an empty or unresolved graph
    assert len(graph) > 50
    assert "t2ir1_eval.stages.plan" in graph["t2ir1_eval.pipeline"]
    assert "t2ir1_eval.models.janus_layout" in graph["t2ir1_eval.generators.janus_convert"]


def test_no_import_cycles(graph):
    found = cycles(graph)
    assert not found, "import cycles (break each by moving the shared part into a lower module): " + \
        "; ".join(" <-> ".join(c) for c in found)


def test_no_upward_arrows(graph):
    bad = upward_arrows(graph)
    assert not bad, "imports against the layers of docs/ARCHITECTURE.md:\n  " + "\n  ".join(bad)


def test_production_code_never_imports_tiny(graph):
    bad = tiny_imports(graph)
    assert not bad, ("production modules importing t2ir1_eval.tiny (ask t2ir1_eval.registry.TINY_MODELS instead):\n  "
                     + "\n  ".join(bad))


def test_every_tiny_registry_entry_resolves():
    from t2ir1_eval.registry import TINY_MODELS

    mods = module_files(ROOT, PACKAGE)
    for name in TINY_MODELS.names():
        module, _, attr = TINY_MODELS.target(name).partition(":")
        assert is_tiny(module), f"tiny model {name!r} points outside t2ir1_eval.tiny: {module}"
        source = mods[module][0].read_text(encoding="utf-8")
        tree = ast.parse(source)
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
        assert attr in defined, f"tiny model {name!r}: {module} defines no {attr!r}"


# ---------------------------------------------------------------------------- the checker itself
def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_checker_finds_a_lazy_cycle_and_a_tiny_import(tmp_path):
    _write(tmp_path, {
        "t2ir1_eval/__init__.py": "",
        "t2ir1_eval/generators/__init__.py": "",
        "t2ir1_eval/generators/a.py": "from .b import x\n",
        # a lazy import inside a function still closes the circle
        "t2ir1_eval/generators/b.py": "def f():\n    from . import a\n    from ..tiny.m import build\n",
        "t2ir1_eval/tiny/__init__.py": "",
        "t2ir1_eval/tiny/m.py": "from ..generators import a\n",
        "t2ir1_eval/errors.py": "from .pipeline import Run\n",
        "t2ir1_eval/pipeline.py": "import t2ir1_eval.errors\n",
    })
    g = import_graph(tmp_path, PACKAGE)
    assert g["t2ir1_eval.generators.b"] == {"t2ir1_eval.generators.a", "t2ir1_eval.tiny.m"}
    assert sorted(cycles(g)) == [["t2ir1_eval.errors", "t2ir1_eval.pipeline"],
                                 ["t2ir1_eval.generators.a", "t2ir1_eval.generators.b", "t2ir1_eval.tiny.m"]]
    assert tiny_imports(g) == ["t2ir1_eval.generators.b -> t2ir1_eval.tiny.m"]
    assert upward_arrows(g) == ["t2ir1_eval.errors (ground) -> t2ir1_eval.pipeline (orchestration)",
                                "t2ir1_eval.tiny.m (domain) -> t2ir1_eval.generators.a (components)"]
