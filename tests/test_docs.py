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
