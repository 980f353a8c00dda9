"""The repository's docs stay true to the code: every check id the engine emits is
documented (and nothing else is), and every test the docs cite exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.audits.engine.checks import CATALOGUE_IDS, REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: ``tests/x/test_y.py::test_z`` or ``tests/x/test_y.py::TestClass::test_z``.
CITED_TEST = re.compile(r"(tests/[\w/]+\.py)::([\w:]+)")
#: The first cell of a table row: ``| `check-id` |``.
TABLE_ID = re.compile(r"^\| `([a-z0-9-]+)` \|", re.M)


def _defined_tests(path: Path) -> set[str]:
    """``name`` and ``Class::name`` for every function and class method in a test module."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(f"{node.name}::{f.name}" for f in node.body
                         if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef))
    return names


def test_every_check_id_is_documented_and_nothing_else():
    text = (DOCS / "audit-checks.md").read_text(encoding="utf-8")
    documented = TABLE_ID.findall(text)
    assert len(documented) == len(set(documented)), "an id has two rows"
    assert sorted(set(CATALOGUE_IDS) - set(documented)) == [], "ids missing from the docs"
    assert sorted(set(documented) - set(CATALOGUE_IDS)) == [], "documented ids nobody emits"


def test_documented_categories_and_severities_match_the_registry():
    text = (DOCS / "audit-checks.md").read_text(encoding="utf-8")
    for spec in REGISTRY.values():
        row = re.search(rf"^\| `{re.escape(spec.id)}` \| [^|]+ \| ([a-z]+) \|", text, re.M)
        assert row, spec.id
        assert row.group(1) == spec.severity, (spec.id, row.group(1), spec.severity)
        heading = text[: row.start()].rsplit("\n## ", 1)[1].split("\n", 1)[0]
        assert heading.lower().startswith(spec.category), (spec.id, heading, spec.category)


def test_every_cited_test_exists():
    cited = []
    for doc in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        cited += [(doc.name, *m) for m in CITED_TEST.findall(doc.read_text(encoding="utf-8"))]
    assert len(cited) > 20
    missing = []
    for doc, rel, name in cited:
        path = ROOT / rel
        if not path.is_file() or name not in _defined_tests(path):
            missing.append(f"{doc}: {rel}::{name}")
    assert missing == [], "docs cite tests that do not exist:\n" + "\n".join(missing)


def test_cited_test_files_exist():
    for doc in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for rel in re.findall(r"`(tests/[\w/*]+\.py)`", doc.read_text(encoding="utf-8")):
            assert list(ROOT.glob(rel)), f"{doc.name} cites {rel}, which does not exist"


def test_the_readme_cites_the_docs_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("docs/reliability.md", "docs/audit-checks.md"):
        assert name in readme and (ROOT / name).is_file(), name
    assert "RELIABILITY.md" not in readme and "AUDIT_CHECKS.md" not in readme
