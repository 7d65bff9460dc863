"""Train a pose model with differential privacy (DP-SGD or PDP-SGD) or, labelled, without.

  python -m tfpose_dp.train --flagfile=flags/quickstart.cfg --model_dir=/tmp/run1
  python -m tfpose_dp.train --epsilon=0.2 --projection=pdp

Running again on a --model_dir holding a checkpoint resumes it (weights, optimizer,
privacy ledger, sampler and noise step), with the same or a different number of replicas.
Every flag is a field of tfpose_dp/run_config.py; `--help` lists them by section.

  python -m tfpose_dp.train --strategy=mirrored ...                 # every local GPU
  TF_CONFIG='{...}' python -m tfpose_dp.train --strategy=multi_worker ...   # one per machine
  python -m tfpose_dp.train --flagfile=flags/quickstart.cfg --dry_run   # plan, s/step, ETA
"""

import json
import sys

from absl import app, flags, logging

from tfpose_dp import cli_help, config_flags
from tfpose_dp.default_start import concrete
from tfpose_dp.eval.scores import label

config_flags.define_flags()
flags.DEFINE_bool(
    "dry_run",
    False,
    "Print the plan (sigma, steps, eps, delta, q, the PDP refresh memory) and the time of 3 "
    "steps with the ETA of the whole run, then exit: nothing is written, no budget is spent.",
)
flags.DEFINE_bool(
    "print_plan",
    True,
    "Before a new run's first step, time 3 steps as --dry_run does and print what the run "
    "will do and its ETA (the public stage included), with faster paths when it exceeds 30 "
    "minutes; --noprint_plan starts at once.",
)
FLAGS = flags.FLAGS
LONG_RUN_SECONDS = 30 * 60


def clear_errors():
    """Errors that mean "this setting or this input cannot work": one line, exit code 2."""

    from tfpose_dp.category_skeleton import SkeletonError
    from tfpose_dp.data.annotations import AnnotationError
    from tfpose_dp.privacy.accounting import PrivacyConfigError
    from tfpose_dp.privacy.dp_key import DPKeyError
    from tfpose_dp.privacy.ghost_clipping import GhostClippingError
    from tfpose_dp.run_config import ConfigError
    from tfpose_dp.runs.manifest import ManifestError
    from tfpose_dp.runs.restore import CheckpointNotFound, IncompatibleModel
    from tfpose_dp.training.datasets import SplitOverlapError
    from tfpose_dp.training.distribution import DistributionError
    from tfpose_dp.training.loop import TrainingError

    return (
        ConfigError,
        PrivacyConfigError,
        AnnotationError,
        SplitOverlapError,
        flags.ValidationError,
        TrainingError,
        DistributionError,
        CheckpointNotFound,
        IncompatibleModel,
        DPKeyError,
        ManifestError,
        GhostClippingError,
        SkeletonError,
    )


def _report(final):
    if not final.get("chief", True):
        logging.info("Done (worker, not the chief): %d steps", final["steps"])
    elif final["private"] and not final["dp_guarantee"]:
        logging.warning(
            "Done: %d steps, val %s %.2f. NO DP GUARANTEE: --reproducible_noise "
            "derived the noise from the public seed",
            final["steps"],
            label(final["metric"]),
            final[final["metric"]],
        )
    elif final["private"]:
        logging.info(
            "Done: %d steps, (%.4f, %.3g)-DP (target eps %g), val %s %.2f",
            final["steps"],
            final["epsilon"],
            final["delta"],
            final["epsilon_target"],
            label(final["metric"]),
            final[final["metric"]],
        )
    else:
        logging.info(
            "Done (NON-PRIVATE baseline): %d steps, val %s %.2f",
            final["steps"],
            label(final["metric"]),
            final[final["metric"]],
        )


def _print_plan(plan):
    """What the run will do and how long, before its first step (the dry run's numbers)."""
    from tfpose_dp.runs.restore import flag_text

    stage = plan["public_stage"]["steps"]
    privacy = (
        f"eps {plan['epsilon']:g} (sigma {plan['noise_multiplier']:.3g})"
        if "epsilon" in plan
        else "NON-PRIVATE"
    )
    model = plan["model"]
    print(
        f"Plan: {model['model']} at {flag_text(model['input_size'])}, "
        + (f"{stage} public-stage steps, then " if stage else "")
        + f"{plan['steps']} {plan['method']} steps on {plan['num_private_examples']} private "
        f"examples at {privacy}. ETA {plan['eta']} on this machine "
        f"({plan['seconds_per_step']:.2f} s/step over {plan['timed_steps']} timed steps).",
        flush=True,
    )
    if plan["eta_seconds"] > LONG_RUN_SECONDS:
        print(
            "Over 30 minutes: the quickstart (--flagfile=flags/quickstart.cfg, ~5 min on 2 "
            "cores) or a smaller --input_size / --model=tiny_vit_micro "
            "(--init_from=preset:public_micro) are faster paths.",
            flush=True,
        )


def _adopt_start(config):
    """The start model's shape settings where the command line gave none (runs/restore.py)."""
    from tfpose_dp.runs.restore import adopt_start, flag_text

    given = {name for name in FLAGS if FLAGS[name].present}
    config, adopted = adopt_start(config, given, config.model.init_from)
    if adopted:
        settings = ", ".join(f"--{k}={flag_text(v)}" for k, v in adopted.items())
        logging.info("from --init_from=%s: %s", config.model.init_from, settings)
    return config


def _fresh_model_dir(config):
    """runs/<date>-<time>[-N]: a folder of this run's own (a dry run only names it)."""
    import time

    from tfpose_dp.run_config import ConfigError
    from tfpose_dp.runs.layout import fresh_run_dir

    if config.runtime.strategy == "multi_worker":
        raise ConfigError("--strategy=multi_worker needs --model_dir: one folder all workers share")
    path = fresh_run_dir(time.strftime("%Y%m%d-%H%M%S"))
    if not FLAGS.dry_run:
        print(f"--model_dir not given: this run writes to {path} (--model_dir={path} resumes it)")
    return config.replace(model_dir=path)


def main(argv):
    del argv
    from tfpose_dp.training.stop_request import Interrupted, StopRequest

    stop = StopRequest().install()  # SIGTERM / Ctrl-C: finish the step, checkpoint, exit
    errors = clear_errors()
    try:
        config = concrete(config_flags.config_from_flags())  # before adopting the start's shape
        if config.model.init_from:
            config = _adopt_start(config)
        if not config.runtime.model_dir:
            config = _fresh_model_dir(config)
        from tfpose_dp.runs import checkpoints
        from tfpose_dp.training import distribution, trainer

        distribution.split_cpu(config.runtime.cpu_replicas)  # before anything starts TF's runtime
        if FLAGS.dry_run:
            print(json.dumps(trainer.dry_run(config), indent=1))
            return
        if FLAGS.print_plan and not checkpoints.latest_checkpoint(config.runtime.model_dir):
            _print_plan(trainer.dry_run(config))
        final = trainer.run(config, stop)
    except Interrupted as e:
        logging.warning("%s", e)
        print(f"interrupted: {e}", file=sys.stderr)
        sys.exit(128 + e.signum)
    except errors as e:
        logging.error("%s", e)
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    _report(final)


if __name__ == "__main__":
    app.run(main, flags_parser=cli_help.parse_flags)
