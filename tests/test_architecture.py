"""The conventions of AGENTS.md, checked: module layout, layering, routes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.core_gov.core_router import MODULES, core_routes, module_name

CORE = Path(__file__).resolve().parents[1] / "backend" / "app" / "core_gov"
MODULE_DIRS = sorted(p for p in CORE.iterdir() if p.is_dir() and p.name not in ("storage", "__pycache__"))
REQUIRED = {"__init__.py", "service.py", "router.py"}  # schemas.py and store.py when the module has them; other files are topics


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(level, module, names) of every import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or "", [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((0, a.name, []) for a in node.names)
    return found


def test_every_module_is_mounted_and_every_mounted_module_has_a_folder():
    assert sorted(module_name(m) for m in MODULES) == [p.name for p in MODULE_DIRS]


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_module_has_its_init_service_and_router(module):
    assert REQUIRED <= {p.name for p in module.glob("*.py")}


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_init_has_a_docstring_and_exports_only_the_router(module):
    tree = ast.parse((module / "__init__.py").read_text())
    assert ast.get_docstring(tree), f"{module.name}/__init__.py needs a one-line docstring (its pack name)"
    assert imports(module / "__init__.py") == [(1, "router", ["router"])]


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_routers_never_import_a_store(module):
    for level, name, names in imports(module / "router.py"):
        assert not (name == "store" or name.endswith(".store") or "store" in names), f"{module.name}/router.py imports a store"


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_no_module_imports_another_modules_store(module):
    for path in module.glob("*.py"):
        for level, name, names in imports(path):
            if level >= 2 and (name.endswith(".store") or (name and "store" in names)):
                pytest.fail(f"{path.relative_to(CORE)} imports {name}: go through that module's service")


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_services_and_stores_speak_no_http(module):
    for path in module.glob("*.py"):
        if path.name in ("router.py", "__init__.py"):
            continue
        for level, name, names in imports(path):
            assert not name.startswith(("fastapi", "starlette")), f"{module.name}/{path.name} imports {name}"


# Layers: entities import only downward (the control plane, storage, shared fields); a process
# joins entities from above. An import runs downward when the graph stays acyclic.
CONTROL_PLANE = {"golive", "governance", "heimdall", "kpi", "market", "regression", "risk", "system"}
PROCESSES = {"audit", "closing", "replies", "runbook"}
MODULE_NAMES = {p.name for p in MODULE_DIRS}


def _rules_files(module: Path) -> list[Path]:
    """The files that hold a module's rules: its service, its topic files, schemas and store."""
    return sorted(p for p in module.glob("*.py") if p.name not in ("router.py", "__init__.py"))


def _file_edges(path: Path) -> set[str]:
    """Files ("module/file") this file imports: another module's service or schemas, or a sibling topic."""
    found = set()
    own = path.parent.name
    for level, name, names in imports(path):
        parts = name.split(".") if name else []
        if level == 1:
            found |= {f"{own}/{n}" for n in ([parts[0]] if parts else names)}
        elif level == 2 and parts and parts[0] in MODULE_NAMES:
            found |= {f"{parts[0]}/{n}" for n in ([parts[1]] if len(parts) > 1 else names)}
    return found


def _module_edges(module: Path) -> set[str]:
    return {edge.split("/")[0] for path in _rules_files(module) for edge in _file_edges(path)} - {module.name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a path, or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_service_import_graph_has_no_circle_between_modules_or_topic_files():
    modules = {m.name: _module_edges(m) for m in MODULE_DIRS}
    assert _cycle(modules) is None, f"modules import each other in a circle: {' -> '.join(_cycle(modules))}"
    files = {f"{path.parent.name}/{path.stem}": {e for e in _file_edges(path)} for m in MODULE_DIRS for path in _rules_files(m)}
    assert _cycle(files) is None, f"files import each other in a circle: {' -> '.join(_cycle(files))}"


def test_the_cycle_check_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", [m for m in MODULE_DIRS if m.name not in PROCESSES], ids=lambda p: p.name)
def test_entities_never_import_processes_and_the_control_plane_never_imports_an_entity(module):
    reached = _module_edges(module)
    assert not reached & PROCESSES, f"{module.name} imports the process(es) {sorted(reached & PROCESSES)}: a process calls down, never back up"
    if module.name in CONTROL_PLANE:
        assert reached <= CONTROL_PLANE, f"the control plane module {module.name} imports {sorted(reached - CONTROL_PLANE)}"


def test_the_layers_name_existing_modules():
    assert CONTROL_PLANE | PROCESSES <= MODULE_NAMES


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_no_function_level_import_of_a_sibling_module(module):
    """An import hidden in a function hides a circle; import at the top or move the code up a layer."""
    for path in module.glob("*.py"):
        for fn in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.level >= 2 and (node.module or "").split(".")[0] in MODULE_NAMES:
                    pytest.fail(f"{path.relative_to(CORE)}:{node.lineno} imports {node.module} inside {fn.name}()")


def test_only_the_store_core_touches_files_locks_and_orjson():
    pattern = re.compile(r"\b(import orjson|from orjson|filelock|os\.replace|os\.fsync|os\.rename)\b")
    offenders = [
        str(p.relative_to(CORE.parent))
        for p in CORE.parent.rglob("*.py")
        if "storage" not in p.relative_to(CORE.parent).parts and pattern.search(p.read_text())
    ]
    assert offenders == []


ROUTES = list(core_routes())


@pytest.mark.parametrize("module", MODULES, ids=module_name)
def test_every_route_of_a_module_router_is_its_own(module):
    """A router included into another is mounted lazily: its routes would escape the checks below."""
    assert all(isinstance(route, APIRoute) for route in module.router.routes), f"{module_name(module)} includes a router: declare the routes on its own"


def test_every_route_is_under_core_and_none_under_core_core():
    assert ROUTES
    for _, path, _ in ROUTES:
        assert path.startswith("/core/") or path == "/core", path
        assert not path.startswith("/core/core"), path


def test_no_duplicate_method_and_path():
    seen: set[tuple[str, str]] = set()
    for _, path, route in ROUTES:
        for method in route.methods:
            assert (method, path) not in seen, f"{method} {path} is declared twice"
            seen.add((method, path))


def _regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


def test_no_parametric_route_shadows_a_later_fixed_one():
    for i, (_, path, route) in enumerate(ROUTES):
        if "{" not in path:
            continue
        for _, later, other in ROUTES[i + 1 :]:
            if route.methods & other.methods and _regex(path).match(later) and later.count("{") < path.count("{"):
                pytest.fail(f"{sorted(route.methods)} {path} is declared before {later} and would swallow it")


@pytest.mark.parametrize(("module", "path", "route"), ROUTES, ids=[f"{sorted(r.methods)[0]} {p}" for _, p, r in ROUTES])
def test_every_route_has_a_summary_and_a_response_model(module, path, route):
    assert route.summary, f"{path} has no summary"
    plain = route.response_class is not JSONResponse and getattr(route.response_class, "media_type", None) != "application/json"
    assert route.response_model is not None or plain, f"{path} has no response model"


def test_docs_list_error_responses_and_every_create_has_an_example(app):
    """/docs is the reference: a route that takes input lists its errors; a create shows a body."""
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in op["responses"], f"{method.upper()} {path} does not list its errors"
            if "201" in op["responses"] and "requestBody" in op:
                for media in op["requestBody"]["content"].values():
                    ref = media.get("schema", {}).get("$ref", "")
                    shown = media.get("example") or media.get("examples") or schemas.get(ref.split("/")[-1], {}).get("examples")
                    assert shown, f"{method.upper()} {path} has no example body"
