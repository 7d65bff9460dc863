"""`--help` lists a command's flags by section with their defaults; `--helpfull` adds absl's own
and nothing a library defines."""

import re
import subprocess
import sys

import pytest

from tfpose_dp.cli_help import SECTION_TITLES


def _help(module, flag="--help"):
    run = subprocess.run(
        [sys.executable, "-m", module, flag], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_train_help_lists_the_flags_by_section_in_order():
    text = _help("tfpose_dp.train")
    headings = [line[:-1] for line in text.splitlines() if re.match(r"^\S.*:$", line)]
    sections = [f"tfpose_dp {t}" for t in SECTION_TITLES.values()]
    assert [h for h in headings if h.startswith("tfpose_dp ")] == sections
    assert len(re.findall(r"^  --", text, re.M)) >= 30
    for flag in ("--data_dir", "--epsilon", "--projection", "--init_from", "--[no]dry_run"):
        assert f"\n  {flag}:" in text
    assert "(default: 'auto')" in text.split("\n  --keypoints:")[1].split("\n  --")[0]
    assert "--flagfile" in text and "absl.logging" not in text


@pytest.mark.parametrize("module", ["tfpose_dp.train", "tfpose_dp.predict"])
def test_helpfull_adds_abseils_flags_and_no_librarys(module):
    text = _help(module, "--helpfull")
    modules = {line[:-1] for line in text.splitlines() if re.match(r"^\S+(\s\S+)*:$", line)}
    assert "absl.logging" in modules and "this command" in modules
    assert not [m for m in modules if m.startswith(("tensorflow", "keras", "/"))]
