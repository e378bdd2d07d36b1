"""The package's layering: imports only point down, and no module imports itself back.

geometry -> io -> data / models / rendering / metrics -> training -> pipelines -> cli / web, with
``errors`` and ``config`` below everything (README, "Architecture").
Imports inside functions count too: a lazy import is still a dependency.
"""

import ast
from pathlib import Path

import shapespace

PACKAGE = Path(shapespace.__file__).parent
LAYERS = {
    "errors": 0, "config": 0, "geometry": 1, "io": 2,
    "data": 3, "models": 3, "rendering": 3, "metrics": 3,
    "training": 4, "pipelines": 5, "cli": 6, "web": 6, "__main__": 7,
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every shapespace module and the shapespace modules it imports (anywhere in its body)."""
    imports: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shapespace"):
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names if alias.name.startswith("shapespace"))
        imports[_module_name(path)] = names
    return {module: {n for n in names if n in imports and n != module} for module, names in imports.items()}


def _layer(module: str) -> int:
    parts = module.split(".")
    return -1 if len(parts) == 1 else LAYERS[parts[1]]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps if _layer(d) > _layer(m))


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph[module]):
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_every_package_has_a_layer():
    assert {m.split(".")[1] for m in import_graph() if "." in m} == set(LAYERS)


def test_no_module_imports_a_higher_layer():
    assert upward_imports(import_graph()) == []


def test_the_import_graph_has_no_cycle():
    assert find_cycles(import_graph()) == []


def test_the_checks_see_a_cycle_and_an_upward_import():
    """The checks above are not vacuous: a hand-made graph with both is caught."""
    graph = {"shapespace.geometry.a": {"shapespace.training.b"}, "shapespace.training.b": {"shapespace.geometry.a"}}
    assert upward_imports(graph) == ["shapespace.geometry.a -> shapespace.training.b"]
    assert find_cycles(graph) == [["shapespace.geometry.a", "shapespace.training.b", "shapespace.geometry.a"]]
