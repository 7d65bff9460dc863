"""Validation of a RunConfig before anything is written: every field's own bounds and choices
(from its `setting`), then the rules between fields."""

import dataclasses
import os

from tfpose_dp import presets
from tfpose_dp.default_start import resolve_start
from tfpose_dp.public_data_config import constant_weight
from tfpose_dp.run_config import SECTIONS, ConfigError


def _check_field(name, value, meta):
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"--{name}={value!r} is not one of {sorted(meta['choices'])}")
    if meta.get("at_least") is not None and not value >= meta["at_least"]:
        raise ConfigError(f"--{name}={value} must be >= {meta['at_least']}")
    if meta.get("above") is not None and not value > meta["above"]:
        raise ConfigError(f"--{name}={value} must be > {meta['above']}")


def validate(config):
    """Raises ConfigError for settings that cannot run, before anything is written: every
    field's own bounds, then the rules between fields. Settings that depend on the data
    (batch size vs N, delta vs 1/N) are checked by the privacy plan."""
    config, _ = resolve_start(config)  # --init_from=auto and the auto stage as the run takes them
    for name, section in SECTIONS.items():
        for f in dataclasses.fields(section):
            _check_field(f.name, getattr(getattr(config, name), f.name), f.metadata)
    m, d, o, p, pdp = config.model, config.data, config.optim, config.privacy, config.pdp
    if not config.runtime.model_dir:
        raise ConfigError("--model_dir is required: where checkpoints and TensorBoard logs go")
    if len(m.input_size) != 2 or min(m.input_size) < 32:
        raise ConfigError(f"--input_size={m.input_size} must be H,W with both >= 32, e.g. 256,192")
    if d.data_dir and not d.data_dir.startswith("tfds:") and not os.path.isdir(d.data_dir):
        raise ConfigError(f"--data_dir={d.data_dir} does not exist (unset: the built-in data)")
    _check_annotation_files(d)
    for flag, path in (("init_checkpoint", m.init_checkpoint), ("init_from", m.init_from)):
        if path and not os.path.exists(presets.resolve(path)):
            known = f" (presets: {', '.join(presets.available())})" if flag == "init_from" else ""
            raise ConfigError(f"--{flag}={path} does not exist{known}")
    if m.init_from and m.init_checkpoint:
        raise ConfigError("give --init_from (a whole model) or --init_checkpoint (a backbone)")
    if o.ema_decay >= 1.0 or d.half_body_prob > 1.0:
        raise ConfigError(
            f"--ema_decay={o.ema_decay} must be < 1 and --half_body_prob={d.half_body_prob} <= 1"
        )
    if not p.nonprivate and not p.epsilon > 0:
        raise ConfigError(
            f"--epsilon={p.epsilon} must be > 0 (smaller is more private); "
            "use --nonprivate for the non-private baseline"
        )
    if p.delta is not None and not 0 < p.delta < 1:
        raise ConfigError(f"--delta={p.delta} must be in (0, 1/N); unset: 1/(10N)")
    if p.nonprivate and pdp.projection != "none":
        raise ConfigError("--projection=pdp projects DP noise; it means nothing with --nonprivate")
    if p.clipping == "ghost" and pdp.projection == "gep":
        raise ConfigError(
            "--projection=gep splits every per-example gradient: it needs --clipping=vmap"
        )
    if p.nonprivate and pdp.public_mix != "none":
        raise ConfigError("--public_mix mixes a public gradient into DP updates: not --nonprivate")
    if pdp.public_mix not in ("none", "cosine") and constant_weight(pdp.public_mix) is None:
        raise ConfigError(
            f"--public_mix={pdp.public_mix!r} must be none, cosine or constant:W with W in [0, 1)"
        )
    if pdp.public_fraction is not None and not 0 < pdp.public_fraction < 1:
        raise ConfigError(f"--public_fraction={pdp.public_fraction} must be in (0, 1)")
    if pdp.public_source == "file" and pdp.uses_public_set() and not pdp.public_annotations:
        raise ConfigError("--public_source=file needs --public_annotations=PATH")
    _check_public_set_is_named(config)


def _check_public_set_is_named(config):
    """A private run on the user's own data never takes public data from it unasked."""
    d, pdp = config.data, config.pdp
    holdout = pdp.public_source == "holdout" and pdp.public_fraction is None
    if config.privacy.nonprivate or not d.own_data() or not pdp.uses_public_set() or not holdout:
        return
    raise ConfigError(
        "this private run uses a public set (--projection, --public_finetune_steps or "
        "--public_mix) on your own data (--data_dir / --train_annotations): say where it comes "
        "from. Either --public_source=file --public_annotations=FILE (images you declare "
        "public), or --public_fraction=F to hold out a share F of your own training images as "
        "public: those images are used WITHOUT privacy protection (the statement says so). "
        "Or drop the public set (--projection=none --public_finetune_steps=0 --public_mix=none)"
    )


def _check_annotation_files(d):
    """--train_annotations and --val_annotations come together, instead of --data_dir."""
    if not (d.train_annotations or d.val_annotations):
        return
    if d.data_dir:
        raise ConfigError(
            "give --data_dir (a folder) or --train_annotations/--val_annotations (files), not both"
        )
    if not (d.train_annotations and d.val_annotations):
        raise ConfigError(
            "--train_annotations and --val_annotations come together: validation is scored on "
            "other images than training (split your export by image into two files)"
        )
    for flag, path in (
        ("train_annotations", d.train_annotations),
        ("val_annotations", d.val_annotations),
    ):
        if not os.path.isfile(path):
            raise ConfigError(f"--{flag}={path} does not exist")
    if d.image_dir and not os.path.isdir(d.image_dir):
        raise ConfigError(f"--image_dir={d.image_dir} does not exist")
