"""The trainer: build the run, train it, finalise it. It composes data, model and privacy,
none of which imports another (setup.py builds, loop.py trains)."""

import os

import numpy as np
from absl import logging

from tfpose_dp.config_validation import validate
from tfpose_dp.eval.predictions import mean_pose_predictions
from tfpose_dp.eval.scores import FLIP_SUFFIX, format_scores, headline, label, mean_pose_scores
from tfpose_dp.models.tinyvit import VARIANTS
from tfpose_dp.privacy.plan import NOT_COVERED
from tfpose_dp.runs.layout import FINAL_METRICS, private_dir
from tfpose_dp.training import distribution, loop
from tfpose_dp.training.memory_plan import describe, memory_plan
from tfpose_dp.training.pace import duration
from tfpose_dp.training.public_stage import (
    mix_inputs,
    run_public_stage,
    stage_seconds_per_step,
)
from tfpose_dp.training.reporting import log_json
from tfpose_dp.training.setup import build_run
from tfpose_dp.training.unit_keys import IMAGE

TrainingError = loop.TrainingError


def run(config, stop=None):
    """Trains (or resumes) the run `config` describes; returns its final metrics.

    `stop`: a StopRequest whose flag (set by SIGTERM/Ctrl-C) ends training between steps.
    """
    validate(config)
    distribution.split_cpu(config.runtime.cpu_replicas)
    state = build_run(config)  # its config: --init_from=auto and the auto stage made concrete
    _announce(state)
    if state.config.pdp.public_finetune_steps and state.public_stage_metrics is None:
        state.public_stage_metrics = run_public_stage(state, stop)
        state.reporter.scalars(0, {f"public_stage/{k[4:]}": v for k, v in _stage(state).items()})
        loop.save(state)  # a resume starts after the stage
    metrics = loop.train(state, stop, mix_inputs(state))
    return finalise(state, metrics)


def _stage(run):
    return run.public_stage_metrics or {}


def dry_run(config, steps=3):
    """The plan and the measured time of up to `steps` steps (loop.mean_seconds) with the whole
    run's ETA; writes nothing, spends no budget (a throwaway key; nothing of it leaves the
    process)."""
    validate(config)
    distribution.split_cpu(config.runtime.cpu_replicas)
    run = build_run(config, dry_run=True)
    config, plan = run.config, run.plan  # the config as the run takes it (the auto stage's steps)
    remaining = run.total_steps - run.step
    per_step, timed = (0.0, 0)
    if remaining > 0:  # a finished run (or one past its plan) has no step to time
        per_step, timed = loop.seconds_per_step(run, steps, mix_inputs(run))
    stage = config.pdp.public_finetune_steps if run.public_stage_metrics is None else 0
    per_stage_step, stage_timed = stage_seconds_per_step(run, steps) if stage else (0.0, 0)
    eta = round(per_step * remaining + per_stage_step * stage)  # the stage's steps too
    result = {
        "method": config.method,
        "num_private_examples": run.manifest.num_private_examples,
        "steps": remaining,
        "total_steps": run.total_steps,
        "seconds_per_step": per_step,
        "eta": duration(eta),
        "eta_seconds": eta,
        "timed_steps": timed,
        "public_stage": {
            "steps": stage,
            "seconds_per_step": per_stage_step,
            "timed_steps": stage_timed,
        },
        "model": {
            k: getattr(run.config.model, k) for k in ("model", "input_size", "norm", "keypoints")
        },
    }
    if plan is not None:
        result.update(
            epsilon=plan.epsilon,
            delta=plan.delta,
            noise_multiplier=plan.noise_multiplier,
            sampling_rate=plan.sampling_rate,
        )
    result["memory_plan_mb"] = _memory_plan(run)
    return result


def _memory_plan(run):
    config = run.config
    return memory_plan(
        run.model.count_params(),
        int(sum(np.prod(v.shape) for v in run.variables)),
        config.optim.optimizer,
        config.privacy.clipping,
        run.slice_size,
        config.pdp.projection,
        config.pdp.projection_dim,
        len(run.public) if run.public is not None else 0,
        private=run.plan is not None,
        largest_variable=max(int(np.prod(v.shape)) for v in run.variables),
    )


def _statement(run, epsilon):
    pdp = run.config.pdp
    public_use = [run.start] if run.start else []
    if run.manifest.public_set:
        public_use.append(f"the public set: {run.manifest.public_set}")
    if pdp.public_finetune_steps:
        public_use.append(
            f"a public stage of {pdp.public_finetune_steps} non-private steps on the public "
            "set alone"
        )
    if pdp.public_mix != "none":
        public_use.append(
            f"each noisy update mixed with a clean public-set gradient (--public_mix="
            f"{pdp.public_mix}: post-processing with public data)"
        )
    return run.plan.statement(
        run.step,
        epsilon,
        pdp.projection,
        run.config.privacy.reproducible_noise,
        "; ".join(public_use) or None,
    )


def _announce(run):
    """Start-of-run log lines, the privacy statement, and the starting model's PCKh."""
    config = run.config
    if run.step == 0 and run.plan is not None:
        statement = _statement(run, 0.0)
        run.reporter.text(0, "privacy/statement_start", statement)
        logging.info("Privacy statement: %s", statement)
    if run.chief and run.plan is not None:
        logging.info(
            "Private diagnostics (loss, clip fraction, examples/s of private batches; not DP) "
            "go to %s only%s",
            private_dir(config.runtime.model_dir),
            ""
            if config.runtime.print_private_diagnostics
            else " (--print_private_diagnostics prints them)",
        )
    logging.info(
        "Run: %s, %s, N=%d private %s (examples without DP), %d steps of %d per epoch",
        config.method,
        run.manifest.data_description,
        run.manifest.num_private_examples,
        "images" if config.data.privacy_unit == IMAGE else f"units ({config.data.privacy_unit})",
        run.total_steps,
        run.steps_per_epoch,
    )
    logging.info(describe(_memory_plan(run)))
    published_rate = VARIANTS[config.model.model]["drop_path_rate"]
    if run.plan is not None and published_rate:
        logging.info(
            "DropPath (stochastic depth) is off in this private run: its masks are drawn per "
            "batch slot, so one record would change the others' (the published rate %g is "
            "used without DP)",
            published_rate,
        )
    logging.info(
        "Devices: %s; each replica takes %d of every %d-slot chunk%s",
        distribution.describe(run.strategy),
        run.slice_size,
        run.sampler.physical_batch_size,
        "" if run.chief else " (not the chief: writes nothing)",
    )
    # What fine-tuning is measured against:
    if config.model.init_from and run.step == 0 and run.chief:
        run.start_metrics = loop.evaluate(run)
        run.reporter.scalars(0, run.start_metrics)
        logging.info(
            "starting model (--init_from): val %s",
            format_scores(loop.val_scores(run.start_metrics)),
        )


def _summary(run, metrics, epsilon, baseline, statement):
    config, plan = run.config, run.plan
    scores = loop.val_scores(metrics)
    name, _ = headline(scores)
    guarantee = plan is not None and not config.privacy.reproducible_noise
    return {
        "method": config.method,
        "epsilon": epsilon if plan else None,
        "epsilon_target": plan.epsilon if plan else None,
        "delta": plan.delta if plan else None,
        "noise_multiplier": plan.noise_multiplier if plan else None,
        "steps": run.step,
        "metric": name,
        **scores,
        f"mean_pose_{name}": baseline[name],
        **{
            f"{where}_{name}{flip}": (values or {}).get(f"val/{name}{flip}")
            for where, values in (("start", run.start_metrics), ("public_stage", _stage(run)))
            for flip in ("", FLIP_SUFFIX)
        },
        "public_finetune_steps": config.pdp.public_finetune_steps,
        "public_mix": config.pdp.public_mix,
        "private": plan is not None,
        "dp_guarantee": guarantee,
        "noise_source": None
        if plan is None
        else (
            "secret per-run key (OS CSPRNG)"
            if guarantee
            else "public seed (--reproducible_noise): NO DP guarantee"
        ),
        "unit_of_privacy": plan.unit if plan is not None else None,
        "not_covered": NOT_COVERED if plan is not None else None,
        "privacy_statement": statement,
        "data": run.manifest.data_description,
        "model": config.model.model,
        "input_size": list(config.model.input_size),
        "num_private_examples": run.manifest.num_private_examples,
        "steps_per_epoch": run.steps_per_epoch,
        "total_steps": run.total_steps,
        "seed": config.optim.seed,
        "init_from": config.model.init_from,
    }


def _three_numbers(run, metrics, epsilon):
    """The private result beside what the public model and the public data give alone, single
    pass and flip-tested."""
    headline_name, _ = headline(loop.val_scores(metrics))
    for name in (headline_name, headline_name + FLIP_SUFFIX):
        parts = [  # a checkpoint of an older version may lack the flip-tested scores
            f"{who} {values[f'val/{name}']:.2f}"
            for who, values in (
                ("public model", run.start_metrics),
                ("public data alone", _stage(run)),
            )
            if f"val/{name}" in (values or {})
        ]
        who = f"private (eps {epsilon:.3g})" if run.plan else "NON-PRIVATE"
        parts.append(f"{who} {metrics[f'val/{name}']:.2f}")
        if len(parts) > 1:
            logging.info("val %s: %s", label(name), " | ".join(parts))


def finalise(run, metrics):
    """The closing statement, final_metrics.json and TensorBoard hparams (the chief only)."""
    config, plan = run.config, run.plan
    if not run.chief:
        return {"method": config.method, "steps": run.step, "chief": False}
    metrics = metrics or loop.evaluate(run)  # resumed a finished run: report its final model
    epsilon = loop.current_epsilon(run)
    statement = None
    if plan is not None:
        statement = _statement(run, epsilon)
        run.reporter.text(run.step, "privacy/statement_end", statement)
        logging.info("Privacy statement: %s", statement)
    name, value = headline(loop.val_scores(metrics))
    baseline = mean_pose_scores(
        run.val,
        mean_pose_predictions(run.val, run.val, config.model.input_size),
        run.codec.skeleton,
    )
    logging.info(
        "val %s %.2f vs %.2f for the val split's own mean pose (a model that ignores the image)",
        label(name),
        value,
        baseline[name],
    )
    if run.start_metrics:
        start = run.start_metrics[f"val/{name}"]
        logging.info(
            "val %s %.2f after fine-tuning vs %.2f for the starting model (%+.2f)",
            label(name),
            value,
            start,
            value - start,
        )
    _three_numbers(run, metrics, epsilon)
    final = _summary(run, metrics, epsilon, baseline, statement)
    run.reporter.hparams(
        {
            "method": config.method,
            "epsilon_target": final["epsilon_target"] or 0.0,
            "batch_size": config.optim.batch_size,
            "learning_rate": config.optim.learning_rate,
            "l2_norm_clip": config.privacy.l2_norm_clip,
            "model": config.model.model,
            "projection_dim": config.pdp.projection_dim if run.projection is not None else 0,
        }
    )
    run.reporter.scalars(run.step, {f"final/{name}": final[name] or 0.0})
    run.reporter.flush()
    log_json(os.path.join(config.runtime.model_dir, FINAL_METRICS), final)
    return final
