"""The import graph of ``app/`` points the right way (read with ``ast``, nothing imported):

(a) no blueprint imports another blueprint;
(b) logic never imports the web layer: only the factory (``app/__init__.py``) and the
    registration list (``app/blueprints/__init__.py``) import ``app.blueprints``;
(c) the audit engine (``app/audits/engine/``) imports neither Flask nor a database, nor
    any ``app.`` module outside the engine;
(d) no import cycles between modules of ``app`` (imports inside functions count: they
    only hide a cycle; imports under ``if TYPE_CHECKING:`` do not, they never run).

Every import counts, wherever it is written: at the top, inside a function, under
``if TYPE_CHECKING:`` (for rules a-c), ``from x import y`` where ``y`` is a module, relative
imports, and ``importlib.import_module("literal")``. An edge goes to the module named, not
to the parent packages Python initialises on the way.
The second half of this file plants a wrong-way import for each rule and checks it is
reported, so a checker that silently finds nothing would fail too.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "app"
WEB = "app.blueprints"
ENGINE = "app.audits.engine"
#: Third-party packages the engine must not import (besides every ``flask_*``).
ENGINE_FORBIDDEN = {"flask", "sqlalchemy", "werkzeug", "alembic"}


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, e.g. "app.leads.operations"
    target: str  # imported module; top-level name only for third-party ("flask")
    line: int
    type_checking: bool  # written under ``if TYPE_CHECKING:``

    def where(self) -> str:
        return f"{self.source}:{self.line}"


def module_names(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """``{"app.leads.operations": path, "app.leads": .../__init__.py, ...}`` under ``root``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str]) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.known = known
        self.edges: list[Edge] = []
        self._type_checking = 0

    def _resolve(self, name: str) -> str:
        """The module an absolute dotted name refers to: itself when it is one of ours,
        else its longest prefix that is (``app.x.func`` -> ``app.x``); else top-level name."""
        parts = name.split(".")
        if parts[0] != PACKAGE:
            return parts[0]
        while parts:
            candidate = ".".join(parts)
            if candidate in self.known:
                return candidate
            parts.pop()
        return name

    def _add(self, target: str, node: ast.AST) -> None:
        if target != self.module:
            self.edges.append(Edge(self.module, target, node.lineno, self._type_checking > 0))

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._type_checking += 1
            for child in node.body:
                self.visit(child)
            self._type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(self._resolve(alias.name), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base_parts = self.package.split(".")
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            # ``from app.jobs import runs`` imports the module app.jobs.runs.
            self._add(sub if sub in self.known else self._resolve(base), node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if (name in ("import_module", "__import__") and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            self._add(self._resolve(node.args[0].value), node)
        self.generic_visit(node)


def import_graph(root: Path, package: str = PACKAGE) -> dict[str, list[Edge]]:
    """Every module of ``package`` under ``root`` with the imports it makes."""
    modules = module_names(root, package)
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        collector = _Collector(name, path.name == "__init__.py", known)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        graph[name] = collector.edges
    return graph


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _blueprint_of(module: str) -> str | None:
    """``"leads"`` for app.blueprints.leads.routes; None for app.blueprints itself."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and _inside(module, WEB) else None


def _cycles(graph: dict[str, list[Edge]]) -> list[tuple[list[str], list[str]]]:
    """Per strongly connected component (Tarjan): one shortest cycle through its first
    module, and the component's other modules."""
    succ = {m: sorted({e.target for e in edges if not e.type_checking and e.target in graph})
            for m, edges in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(succ):
        if v not in index:
            connect(v)

    cycles = []
    for component in sorted(components):
        members = set(component)
        # A shortest path from the component's first module back to itself.
        start = component[0]
        paths = {start: [start]}
        queue = [start]
        found = None
        while queue and found is None:
            v = queue.pop(0)
            for w in succ[v]:
                if w == start:
                    found = paths[v] + [start]
                    break
                if w in members and w not in paths:
                    paths[w] = paths[v] + [w]
                    queue.append(w)
        path = found or component
        cycles.append((path, [m for m in component if m not in path]))
    return cycles


def check_imports(root: Path) -> list[str]:
    """Wrong-way imports of the ``app`` package under ``root``, one readable line each."""
    graph = import_graph(root)
    problems = []
    for module, edges in sorted(graph.items()):
        for e in edges:
            source_bp, target_bp = _blueprint_of(module), _blueprint_of(e.target)
            if source_bp and _inside(e.target, WEB) and target_bp != source_bp:
                problems.append(f"(a) blueprint imports another blueprint: {e.where()} "
                                f"imports {e.target}")
            if not _inside(module, WEB) and module != PACKAGE and _inside(e.target, WEB):
                problems.append(f"(b) logic imports the web layer: {e.where()} imports {e.target}")
            if _inside(module, ENGINE):
                top = e.target.split(".")[0]
                if top in ENGINE_FORBIDDEN or top.startswith("flask_"):
                    problems.append(f"(c) the engine imports {e.target}: {e.where()}")
                elif top == PACKAGE and not _inside(e.target, ENGINE):
                    problems.append(f"(c) the engine imports {e.target}, outside the engine: "
                                    f"{e.where()}")
    for cycle, others in _cycles(graph):
        also = f" (same knot: {', '.join(others)})" if others else ""
        problems.append("(d) import cycle: " + " -> ".join(cycle) + also)
    return problems


# --------------------------------------------------------------------------- the real tree


def test_the_app_imports_point_the_right_way():
    problems = check_imports(ROOT)
    assert problems == [], "wrong-way imports:\n" + "\n".join(problems)


def test_the_graph_sees_the_real_tree():
    graph = import_graph(ROOT)
    assert PACKAGE in graph and WEB in graph and ENGINE in graph
    assert len(graph) > 40
    # The registration list imports every blueprint package; the factory imports the list.
    blueprints = {e.target for e in graph[WEB] if _blueprint_of(e.target)}
    assert {"app.blueprints.auth", "app.blueprints.leads", "app.blueprints.audits"} <= blueprints
    assert WEB in {e.target for e in graph[PACKAGE]}


# ------------------------------------------------------------------ the checker can fail

PLANTED = {
    "app/__init__.py": "def create_app():\n    from app.blueprints import register\n",
    "app/blueprints/__init__.py": "from app.blueprints import leads, campaigns\n",
    "app/blueprints/leads/__init__.py": "from .routes import bp\n",
    "app/blueprints/leads/routes.py": (
        "from app.leads import operations\n"
        "from . import forms\n"
        "def view():\n"
        "    from app.blueprints.campaigns.routes import get_campaign\n"  # (a), in a function
    ),
    "app/blueprints/leads/forms.py": "from app.forms import EmptyForm\n",
    "app/blueprints/campaigns/__init__.py": "from app.blueprints.campaigns.routes import bp\n",
    "app/blueprints/campaigns/routes.py": "from app.blueprints.leads import forms\n",  # (a)
    "app/forms.py": "",
    "app/leads/__init__.py": "",
    "app/leads/operations.py": "from app.blueprints.leads import forms\n",  # (b)
    "app/audits/__init__.py": "",
    "app/audits/operations.py": "from app import models\n",
    "app/audits/engine/__init__.py": "from app.audits.engine.runner import run\n",
    "app/audits/engine/runner.py": (
        "import flask_login\n"  # (c)
        "from flask import current_app\n"  # (c)
        "from app.models import Lead\n"  # (c)
        "from app import extensions\n"  # (c)
        "from ..operations import request_audit\n"  # (c), relative
        "from .checks import seo\n"  # fine: inside the engine
        "import json, asyncio\n"
    ),
    "app/audits/engine/checks/__init__.py": "",
    "app/audits/engine/checks/seo.py": "from app.audits.engine import runner\n",  # (d) cycle
    "app/models/__init__.py": "",
    "app/extensions.py": "",
    "app/jobs/__init__.py": "",
    "app/jobs/runs.py": "from app.jobs import queue\n",
    "app/jobs/queue.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.jobs.runs import Run\n"  # typing only: no cycle
        "def submit():\n"
        "    from app.jobs import reaper\n"
    ),
    "app/jobs/reaper.py": (
        "import importlib\n"
        "def reap():\n"
        "    importlib.import_module('app.jobs.runs')\n"  # (d) runs -> queue -> reaper -> runs
    ),
    "app/settings.py": (
        "import typing\n"
        "if typing.TYPE_CHECKING:\n"
        "    from app.blueprints.leads.forms import Form\n"  # (b) even for typing
    ),
}


def _plant(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_every_rule_reports_its_planted_violation(tmp_path):
    problems = check_imports(_plant(tmp_path, PLANTED))
    assert sorted(problems) == sorted([
        "(a) blueprint imports another blueprint: app.blueprints.campaigns.routes:1 "
        "imports app.blueprints.leads.forms",
        "(a) blueprint imports another blueprint: app.blueprints.leads.routes:4 "
        "imports app.blueprints.campaigns.routes",
        "(b) logic imports the web layer: app.leads.operations:1 "
        "imports app.blueprints.leads.forms",
        "(c) the engine imports flask_login: app.audits.engine.runner:1",
        "(c) the engine imports flask: app.audits.engine.runner:2",
        "(c) the engine imports app.models, outside the engine: app.audits.engine.runner:3",
        "(c) the engine imports app.extensions, outside the engine: app.audits.engine.runner:4",
        "(c) the engine imports app.audits.operations, outside the engine: "
        "app.audits.engine.runner:5",
        "(d) import cycle: app.audits.engine.checks.seo -> app.audits.engine.runner "
        "-> app.audits.engine.checks.seo",
        "(b) logic imports the web layer: app.settings:3 imports app.blueprints.leads.forms",
        "(d) import cycle: app.jobs.queue -> app.jobs.reaper -> app.jobs.runs -> app.jobs.queue",
    ]), "\n".join(problems)


def _append(path: Path, line: str) -> int:
    """Append ``line`` to ``path``; returns its line number."""
    text = path.read_text()
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + line + "\n")
    return text.count("\n") + 1


def test_wrong_way_imports_planted_in_a_copy_of_the_real_tree_are_reported(tmp_path):
    shutil.copytree(ROOT / PACKAGE, tmp_path / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    app_dir = tmp_path / PACKAGE
    before = set(check_imports(tmp_path))
    n_a = _append(app_dir / "blueprints/auth/routes.py", "from app.blueprints.leads import routes")
    n_b = _append(app_dir / "models/__init__.py", "from app.blueprints import auth")
    engine_init = app_dir / "audits/engine/__init__.py"
    n_c1 = _append(engine_init, "import flask")
    n_c2 = _append(engine_init, "def _late():\n    from app.extensions import db")
    _append(app_dir / "config.py", "def _late():\n    from app import cli")  # cli imports config
    new = set(check_imports(tmp_path)) - before
    expected = {
        f"(a) blueprint imports another blueprint: app.blueprints.auth.routes:{n_a} "
        "imports app.blueprints.leads.routes",
        f"(b) logic imports the web layer: app.models:{n_b} imports app.blueprints.auth",
        f"(c) the engine imports flask: app.audits.engine:{n_c1}",
        f"(c) the engine imports app.extensions, outside the engine: "
        f"app.audits.engine:{n_c2 + 1}",
    }
    assert expected <= new, "\n".join(sorted(new))
    assert any(p.startswith("(d)") and "app.config" in p and "app.cli" in p for p in new), new
