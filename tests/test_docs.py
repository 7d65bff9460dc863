"""Docs that cannot rot: every command in README.md and docs/*.md names flags its program
defines, and every flagfile it names exists (as do the flags inside the flagfiles)."""

import glob
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))
PROGRAM = re.compile(r"python (?:-m (tfpose_dp[\w.]*)|(tools/\w+\.py))")


def commands(text):
    """[(program, [tokens])] for each `python -m tfpose_dp.X` / `python tools/X.py` command,
    in code blocks (continuation lines joined) and in inline `...` spans (which may wrap)."""
    found = []
    blocks = re.findall(r"```(?:bash)?\n(.*?)```", text, flags=re.S)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    lines = [ln.split(" #")[0] for b in blocks for ln in b.replace("\\\n", " ").splitlines()]
    lines += [span.replace("\n", " ") for span in re.findall(r"`(python [^`]+)`", prose)]
    for line in lines:
        for match in PROGRAM.finditer(line):
            rest = line[match.end() :].split("|")[0]
            found.append((match.group(1) or match.group(2), _tokens(rest)))
    return found


def _tokens(text):
    """Shell words: a quoted value (--stage_args="--model=X --trainable=Y") stays one word."""
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote in prose
        return text.split()


def passed_to_train(tokens):
    """The training flags a tool passes on (--X_args="...", finetune_grid's and the baseline's)."""
    return [
        inner
        for t in tokens
        if t.startswith("--") and t.split("=", 1)[0].endswith("_args") and "=" in t
        for inner in _tokens(t.split("=", 1)[1])
    ]


def flag_names(tokens):
    return [t[2:].split("=")[0] for t in tokens if t.startswith("--") and len(t) > 2]


def unknown_flags(program, tokens, defined):
    """Flags in `tokens` that `program` does not define (`--noX` counts for a boolean X)."""
    known = defined[program] | {"flagfile"}  # absl's, not listed by --helpxml
    return [
        f"{program} --{name}"
        for name in flag_names(tokens)
        if name not in known and not (name.startswith("no") and name[2:] in known)
    ]


def wrong_flags(program, tokens, defined):
    """unknown_flags of a command and of the training flags it passes on (--X_args)."""
    return unknown_flags(program, tokens, defined) + unknown_flags(
        "tfpose_dp.train", passed_to_train(tokens), defined
    )


def _defined(program):
    """The flag names `program` accepts (absl: --helpxml; argparse: its usage line)."""
    cmd = [sys.executable] + (["-m", program] if not program.endswith(".py") else [program])

    def run(arg):
        out = subprocess.run(cmd + [arg], cwd=REPO, capture_output=True, text=True, timeout=300)
        return out.stdout + out.stderr

    names = set(re.findall(r"<name>([\w.-]+)</name>", run("--helpxml")))
    if not names:  # the TFDS build command parses its own arguments
        names = set(re.findall(r"\[--([\w-]+)", run("--help")))
    assert names, f"{program} lists no flags"
    return program, names


@pytest.fixture(scope="module")
def documented():
    found = []
    for path in DOCS:
        with open(path) as f:
            found += [(os.path.relpath(path, REPO), *c) for c in commands(f.read())]
    return found


@pytest.fixture(scope="module")
def defined(documented):
    programs = sorted({p for _, p, _ in documented} | {"tfpose_dp.train"})
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(_defined, programs))


def test_every_documented_flag_exists(documented, defined):
    assert len(documented) > 30  # the parser finds the docs' commands
    wrong = [
        f"{doc}: {flag}"
        for doc, program, tokens in documented
        for flag in wrong_flags(program, tokens, defined)
    ]
    assert not wrong, wrong


def test_every_flagfile_named_exists_and_holds_known_train_flags(documented, defined):
    named = {
        t.split("=", 1)[1]
        for _, _, tokens in documented
        for t in tokens
        if t.startswith("--flagfile=")
    }
    assert "flags/quickstart.cfg" in named
    for path in named:
        assert os.path.exists(os.path.join(REPO, path)), f"{path} is named in the docs"
    for path in glob.glob(os.path.join(REPO, "flags", "*.cfg")):
        with open(path) as f:
            tokens = [ln.strip() for ln in f if ln.startswith("--")]
        assert not unknown_flags("tfpose_dp.train", tokens, defined), path


def test_a_renamed_flag_is_caught(defined):
    text = "Run `python -m tfpose_dp.train --flagfile=flags/quickstart.cfg\n--epsilonn=1`.\n"
    text += "```bash\npython tools/benchmark_step.py --skip_stock \\\n    --roundz=2\n```\n"
    text += (
        'Or `python tools/finetune_grid.py --stage_args="--model=tiny_vit_5m --trainabel=all"`.\n'
    )
    found = commands(text)
    tools = ("tools/benchmark_step.py", "tools/finetune_grid.py")
    defined = {**defined, **dict(_defined(tool) for tool in tools)}
    wrong = [f for program, tokens in found for f in wrong_flags(program, tokens, defined)]
    assert sorted(wrong) == [
        "tfpose_dp.train --epsilonn",
        "tfpose_dp.train --trainabel",
        "tools/benchmark_step.py --roundz",
    ]


TEXT_FILES = ("*.md", "docs/*.md", "flags/*.cfg", "docs/*.csv", "tfpose_dp/**/*.py", "tools/*.py")
# README "Section", docs/x.md "Section" (also README's and single quotes); README's own (see "X")
SECTION_REFERENCE = re.compile(r"(README(?:\.md)?|docs/\w+\.md)(?:'s)? (\"|')([^\"'\n]+)\2")
SELF_REFERENCE = re.compile(r"\(see \"([^\"\n]+)\"\)")


def headings(path):
    with open(os.path.join(REPO, path)) as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)  # a '# comment' is no heading
    return [h.strip() for h in re.findall(r"^#+ (.+)$", text, flags=re.M)]


def section_references():
    """[(file, target file, section)] of every cross-reference to a section."""
    found = []
    for pattern in TEXT_FILES:
        for path in glob.glob(os.path.join(REPO, pattern), recursive=True):
            rel = os.path.relpath(path, REPO)
            with open(path) as f:
                text = f.read()
            for target, _, section in SECTION_REFERENCE.findall(text):
                found.append((rel, "README.md" if target.startswith("README") else target, section))
            if rel == "README.md":
                found += [(rel, rel, s) for s in SELF_REFERENCE.findall(text)]
    return found


def test_cross_references_to_sections_resolve():
    refs = section_references()
    assert len(refs) >= 5  # the pattern finds them
    broken = [
        f'{where}: {target} "{section}"'
        for where, target, section in refs
        if not any(h == section or h.startswith(section) for h in headings(target))
    ]
    assert not broken, broken


def test_a_broken_section_reference_is_caught():
    assert SECTION_REFERENCE.findall('see README "No such section"') == [
        ("README", '"', "No such section")
    ]
    assert "No such section" not in headings("README.md")


def _csv_cells(name):
    """{(epsilon or None, "mean +- sd")} of a grid CSV."""
    import csv

    with open(os.path.join(REPO, "docs", name)) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return {
        (
            float(r["epsilon"]) if r["epsilon"] else None,
            f"{float(r['mean']):.2f} +- {float(r['sd']):.2f}",
        )
        for r in rows
    }


def _section(title, doc="README.md"):
    with open(os.path.join(REPO, doc)) as f:
        text = f.read()
    return text.split(f"## {title}\n")[1].split("\n## ")[0]


def test_the_grid_table_is_the_csv():
    """The 16,000-people table of docs/results.md equals docs/finetune_grid16k.csv, both ways."""
    section = _section("16,000 private people: the grid", "docs/results.md")
    table = section.split("| method | eps=0.2 | eps=1 | eps=8 |")[1].split("\n\n")[0]
    shown = set()
    for row in table.strip().splitlines()[1:]:
        cells = [c.strip().strip("*") for c in row.strip("|").split("|")[1:]]
        for eps, cell in zip((0.2, 1.0, 8.0), cells):
            if "+-" in cell:
                shown.add((eps, cell))
    csv_cells = _csv_cells("finetune_grid16k.csv")
    with_eps = {c for c in csv_cells if c[0] is not None}
    assert with_eps <= shown, with_eps - shown
    numbers = {c[1] for c in csv_cells}
    assert {c[1] for c in shown} <= numbers, {c[1] for c in shown} - numbers


def test_readmes_which_method_when_numbers_are_the_csvs():
    section = _section("Results on the built-in domains")
    table = section.split("| private images, eps |")[1].split("\n\n")[0]
    grids = {"16,000, eps": "finetune_grid16k.csv", "2,000, eps": "finetune_grid2k.csv"}
    checked = 0
    for row in table.splitlines():
        for start, name in grids.items():
            if row.startswith(f"| {start}"):
                numbers = {c[1] for c in _csv_cells(name)}
                quoted = re.findall(r"\d+\.\d\d \+- \d+\.\d\d", row)
                assert set(quoted) <= numbers, (row, set(quoted) - numbers)
                checked += len(quoted)
    assert checked >= 10


def test_nothing_current_points_into_the_dated_log():
    """docs/experiments.md is a dated log: current docs, flags and code cite docs/results.md."""
    pointing = []
    for pattern in TEXT_FILES:
        for path in glob.glob(os.path.join(REPO, pattern), recursive=True):
            rel = os.path.relpath(path, REPO)
            if rel in ("docs/experiments.md", "docs/results.md"):
                continue
            with open(path) as f:
                for line in f:
                    if "experiments.md" in line and not line.startswith("Docs: "):
                        pointing.append(f"{rel}: {line.strip()}")
    assert not pointing, pointing
