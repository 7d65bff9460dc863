"""DESIGN invariant 1: privacy/ never imports models/ or data/; models/ never imports privacy/."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfpose_dp"


def _imports(folder):
    found = set()
    for path in (PACKAGE / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update((path.name, a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.update((path.name, f"{node.module}.{a.name}") for a in node.names)
    return found


@pytest.mark.parametrize("folder,forbidden", [
    ("privacy", ("tfpose_dp.models", "tfpose_dp.data", "tfpose_dp.training")),
    ("models", ("tfpose_dp.privacy", "tfpose_dp.training")),
    ("data", ("tfpose_dp.privacy", "tfpose_dp.training")),
])
def test_layering(folder, forbidden):
    bad = [(f, m) for f, m in _imports(folder) if m.startswith(forbidden)]
    assert not bad, f"{folder}/ must not import {forbidden}: {bad}"


def test_no_module_is_a_grab_bag():
    for path in PACKAGE.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 420, f"{path} is too long; split it by concept"
