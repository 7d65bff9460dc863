"""The defaults of the design's main command, `python -m tfpose_dp.train --epsilon=0.2
--projection=pdp`: a run starts from the shipped public model of the default architecture and
input size (`--init_from=auto`) and, when it has a public set without asking for one, first
fine-tunes on that public set alone (`--public_finetune_steps=-1`, auto): the regime every
private result of this project is measured in (docs/results.md). Private training from random
weights ends near the mean pose at small epsilon; `--init_from=none` still asks for it.

The private steps after the auto stage are tuned per method for the main command on
TinyViT-5M (docs/results.md, "The main command on TinyViT-5M"): PDP/GEP mix in the clean public
gradient at weight 0.3 (`--public_mix=auto`) at Adam 3e-4, where 1e-3 undid the public stage;
DP-SGD (`--projection=none`) keeps Adam 1e-3 without the mix, as on TinyViT-micro. Any run
from random weights takes 1e-3. Given values are kept.
"""

import dataclasses

from absl import logging

from tfpose_dp.run_config import MODEL_SHAPE_FIELDS, ModelConfig

AUTO = "auto"
NONE = "none"
DEFAULT_PRESET = "preset:public_5m"  # TinyViT-5M at 128x96, the default model and input size
AUTO_STAGE_STEPS = 250  # the grid's public stage (flags/finetune.cfg)
AUTO_MIX = "constant:0.3"  # the clean public gradient's weight after the auto stage
PROJECTED_RATE, DEFAULT_RATE = 3e-4, 1e-3  # --learning_rate unset: PDP/GEP after a start

# A run that gives any of these other than the default is not the default run, and starts from
# random weights unless it names its --init_from.
_DEFAULT_RUN_FIELDS = MODEL_SHAPE_FIELDS + ("init_checkpoint",)


def _default(name):
    return next(f.default for f in dataclasses.fields(ModelConfig) if f.name == name)


def resolve_start(config):
    """`config` with --init_from=auto|none and the auto public stage made concrete, and the
    lines that say what was chosen (empty when nothing was auto). Idempotent."""
    notes = []
    m, pdp = config.model, config.pdp
    init_from = m.init_from
    if init_from in (NONE, ""):
        init_from = None
    elif init_from == AUTO:
        differs = [f for f in _DEFAULT_RUN_FIELDS if getattr(m, f) != _default(f)]
        if differs:
            init_from = None
            notes.append(
                f"--init_from=auto: random weights (the shipped public model is "
                f"{DEFAULT_PRESET}, and this run sets --{differs[0]}); give --init_from=PATH "
                "to start from a public model of yours"
            )
        else:
            init_from = DEFAULT_PRESET
            notes.append(
                f"--init_from=auto: starting from {DEFAULT_PRESET} (TinyViT-5M trained on public "
                "data only; --init_from=none for random weights)"
            )
    steps = pdp.public_finetune_steps
    if steps < 0:
        steps = AUTO_STAGE_STEPS if init_from and _has_public_set(config) else 0
        if steps:
            notes.append(
                f"--public_finetune_steps=auto: {steps} non-private steps on the public set "
                "before the private ones (--public_finetune_steps=0 skips them)"
            )
    mix, rate = _private_phase(config, init_from, steps, notes)
    return (
        config.replace(
            init_from=init_from, public_finetune_steps=steps, public_mix=mix, learning_rate=rate
        ),
        notes,
    )


def _private_phase(config, init_from, stage_steps, notes):
    """(--public_mix, --learning_rate) made concrete; what was chosen appended to `notes`."""
    projected = config.pdp.projection != "none" and not config.privacy.nonprivate
    mix = config.pdp.public_mix
    if mix == AUTO:
        auto_stage = config.pdp.public_finetune_steps < 0 and stage_steps > 0
        mix = AUTO_MIX if auto_stage and projected else NONE
        if mix != NONE:
            notes.append(
                f"--public_mix=auto: each private update mixes in a public batch's clean "
                f"gradient ({mix}; --public_mix=none for the private gradient alone)"
            )
    rate = config.optim.learning_rate
    if rate is None:
        rate = PROJECTED_RATE if init_from and projected else DEFAULT_RATE
        start = "from a start model" if init_from else "from random weights"
        notes.append(
            f"--learning_rate={rate:g} ({config.method} {start}; give --learning_rate to choose)"
        )
    return mix, rate


def _has_public_set(config):
    """A public set the run may use without asking: the built-in people, or one the user
    declared (a file, or an explicit share of their own images)."""
    pdp = config.pdp
    declared = pdp.public_source == "file" or pdp.public_fraction is not None
    return declared or not config.data.own_data()


def concrete(config):
    """`resolve_start`'s config, its choices said in the log."""
    config, notes = resolve_start(config)
    for note in notes:
        logging.info("%s", note)
    return config
