"""`--help` by section for the project's commands: the run configuration's flags under data,
model, privacy, public data, optimisation and run (the order a user sets them), then the
command's own; `--helpfull` adds absl's own flags and nothing a library defines."""

import sys

from absl import app, flags

# Config section -> the heading its flags are listed (and registered) under.
SECTION_TITLES = {
    "data": "data",
    "model": "model",
    "privacy": "privacy",
    "pdp": "public data (PDP, GEP, the public stage and mix)",
    "optim": "optimisation",
    "runtime": "run",
}
_HELP = ("--help", "-h", "-?", "--helpshort")
_ABSL = ("absl.app", "absl.logging")
_FLAGFILE = """
flag files:
  --flagfile: Read flags from a file, one --flag=value per line (flags/*.cfg);
    flags after it on the command line override it."""


def module_name(section):
    """The absl module name a config section's flags are defined under."""
    return f"tfpose_dp {SECTION_TITLES[section]}"


def help_text(full=False):
    """The command's docstring, then its flags by section (absl's rendering, with defaults)."""
    by_module = flags.FLAGS.flags_by_module_dict()
    main = sys.argv[0]
    modules = [module_name(s) for s in SECTION_TITLES] + [main]
    if full:
        modules += list(_ABSL)
    parts = [(sys.modules["__main__"].__doc__ or "").strip(), _FLAGFILE]
    for module in modules:
        if by_module.get(module):
            parts.append(flags.FLAGS.module_help(module).replace(f"\n{main}:", "\nthis command:"))
    if not full:
        parts.append("\n(--helpfull also lists absl's own: logging, debugging)")
    return "\n".join(parts)


def parse_flags(argv):
    """app.run's flags parser: --help / --helpfull print `help_text` and exit."""
    asked = set(argv[1:])
    if asked & set(_HELP) or "--helpfull" in asked:
        print(help_text(full="--helpfull" in asked))
        sys.exit(0)
    return app.parse_flags_with_usage(argv)
