"""Layering rules (each layer only points down) and module size, checked on the source."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfpose_dp"


def _imports(paths):
    """(file, imported module) for every import in `paths`, inside functions too."""
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update((path.name, a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.update((path.name, node.module) for _ in node.names)
                found.update((path.name, f"{node.module}.{a.name}") for a in node.names)
    return found


def _files(*names):
    out = []
    for name in names:
        target = PACKAGE / name
        out += list(target.rglob("*.py")) if target.is_dir() else [target]
    return out


RULES = [
    # (files, forbidden module prefixes, why)
    (
        ("privacy",),
        (
            "tfpose_dp.models",
            "tfpose_dp.data",
            "tfpose_dp.training",
            "tfpose_dp.eval",
            "tfpose_dp.runs",
        ),
        "privacy/ is one DP concept per module, free of the rest",
    ),
    (
        ("models",),
        ("tfpose_dp.data", "tfpose_dp.training", "tfpose_dp.privacy", "tfpose_dp.eval"),
        "models take tensors and sizes",
    ),
    (
        ("data",),
        ("tfpose_dp.eval", "tfpose_dp.training", "tfpose_dp.privacy", "tfpose_dp.models"),
        "data does not know the scorer or the trainer",
    ),
    (
        ("eval", "export", "evaluate.py", "predict.py", "runs"),
        ("tfpose_dp.privacy", "tfpose_dp.training", "tensorflow_privacy"),
        "serving and scoring need neither the trainer nor the privacy code",
    ),
    (
        (
            "skeleton.py",
            "category_skeleton.py",
            "cli_help.py",
            "run_config.py",
            "config_setting.py",
            "public_data_config.py",
            "config_flags.py",
            "config_validation.py",
            "replica_sums.py",
            "presets",
        ),
        ("tfpose_dp.",),
        "neutral modules import nothing of the package but each other",
    ),
]


@pytest.mark.parametrize("files,forbidden,why", RULES)
def test_layering(files, forbidden, why):
    neutral = (
        "tfpose_dp.run_config",
        "tfpose_dp.config_setting",
        "tfpose_dp.public_data_config",
        "tfpose_dp.skeleton",
        "tfpose_dp.category_skeleton",
        "tfpose_dp.cli_help",
        "tfpose_dp.config_flags",
        "tfpose_dp.default_start",
        "tfpose_dp.presets",
    )
    bad = sorted(
        (f, m)
        for f, m in _imports(_files(*files))
        if m.startswith(forbidden) and not (forbidden == ("tfpose_dp.",) and m.startswith(neutral))
    )
    assert not bad, f"{why}: {bad}"


def test_the_rules_see_real_imports():
    assert ("trainer.py", "tfpose_dp.privacy.plan") in _imports(_files("training"))
    assert ("restore.py", "tfpose_dp.models.pose_model") in _imports(_files("runs"))


def test_no_module_is_a_grab_bag_and_no_line_is_too_long():
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().splitlines()
        assert len(lines) <= 400, f"{path} has {len(lines)} lines; split it by concept"
        long = [i + 1 for i, line in enumerate(lines) if len(line) > 100]
        assert not long, f"{path}: lines {long[:5]} are over 100 characters"
