"""Small pose models shipped with the package, for `--init_from=preset:NAME`.

Each preset is a checkpoint folder (model weights only, a few hundred KB) with the manifest of
the run that trained it; `tools/make_preset.py` writes one from a finished run, and the
preset's README.md gives the exact command that reproduces it. Presets are trained on public
data only (the built-in public synthetic people): starting points, not private models.
"""

import os

PREFIX = "preset:"


def resolve(path):
    """The folder behind `path`: `preset:NAME` names a preset of this package, anything else
    is returned unchanged."""
    if path and path.startswith(PREFIX):
        return os.path.join(os.path.dirname(os.path.abspath(__file__)), path[len(PREFIX) :])
    return path


def available():
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(
        d
        for d in os.listdir(here)
        if os.path.isdir(os.path.join(here, d)) and not d.startswith("_")
    )
