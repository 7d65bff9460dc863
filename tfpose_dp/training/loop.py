"""The training loop: one logical step at a time, with logging, evaluation and checkpoints.

A step is one unit that a signal never splits (stop_request.py): record the DP event in the
ledger, release the update, count the step. Per step t the Poisson draw for t arrives as k
fixed-size masked chunks; each chunk's clipped per-example gradient sum is accumulated; noise
is added once; the optional PDP projection post-processes the noisy mean; the optimizer
applies it.
"""

import contextlib
import time

import numpy as np
from absl import logging

from tfpose_dp.data.augmentation import AugmentConfig
from tfpose_dp.data.pipeline import training_dataset
from tfpose_dp.eval.overlay import crop_to_uint8, draw_skeleton
from tfpose_dp.eval.predictions import predict_dataset_both_ways
from tfpose_dp.eval.scores import FLIP_SUFFIX, format_scores, score_predictions
from tfpose_dp.public_data_config import public_weight
from tfpose_dp.runs import checkpoints
from tfpose_dp.training.pace import Pace
from tfpose_dp.training.reporting import progress_line
from tfpose_dp.training.stop_request import Interrupted


class TrainingError(RuntimeError):
    """Training cannot continue (e.g. a non-finite loss); the last checkpoint is kept."""


def current_epsilon(run):
    return run.ledger.epsilon(run.plan.accountant, run.plan.epsilon) if run.plan else float("inf")


def save(run):
    """Checkpoints weights, optimizer, PDP basis, ledger and manifest (the chief only)."""
    if run.chief:
        checkpoints.save(
            run.config.runtime.model_dir,
            run.trackables,
            {
                "step": run.step,
                "ledger": run.ledger.to_json(),
                "epsilon": current_epsilon(run),
                "manifest": run.manifest.to_json(),
                "start_metrics": run.start_metrics,
                "public_stage_metrics": run.public_stage_metrics,
                # a lost or edited private/releases.json cannot reset the count (no replay)
                "releases": run.releases.to_dict() if run.releases is not None else None,
            },
        )


def evaluate(run):
    """val/ scores (PCKh, or OKS AP for COCO data) of the current (or, with --ema_decay,
    averaged) weights, single pass (the first is the headline) and flip-tested (`_flip`, the
    MPII protocol `python -m tfpose_dp.evaluate` follows)."""
    scores = {}
    with run.average.swapped() if run.average is not None else contextlib.nullcontext():
        both = predict_dataset_both_ways(run.model, run.val_ds, run.codec)
    for result, suffix in zip(both, ("", FLIP_SUFFIX)):
        scored = score_predictions(run.val, result, run.codec.skeleton)
        scores.update({f"val/{k}{suffix}": v for k, v in scored.items()})
    return scores


def val_scores(metrics):
    """The val/ scores of `evaluate` without their prefix, headline first."""
    return {k[4:]: v for k, v in metrics.items() if k.startswith("val/")}


def _val_overlays(run, count=4):
    batch = next(iter(run.val_ds))
    out = run.model(batch["image"][:count], training=False)
    kp, scores = run.codec.decode(out["simcc_x"], out["simcc_y"])
    return [
        np.asarray(draw_skeleton(crop_to_uint8(img), k, s, run.codec.skeleton))
        for img, k, s in zip(batch["image"][:count].numpy(), kp.numpy(), scores.numpy())
    ]


def _inputs(run):
    """The distributed iterator over the training chunks, from the current step on."""
    return chunk_iterator(run, run.train, run.sampler, run.step, run.config.data.augment)


def chunk_iterator(run, records, sampler, start_step, augment):
    """The distributed iterator over `sampler`'s chunks of `records` from `start_step` on
    (the private training set, or the public set of the public stage and --public_mix)."""
    config, replicas = run.config, run.strategy.num_replicas_in_sync
    augment = AugmentConfig(half_body_prob=config.data.half_body_prob) if augment else None

    def replica_inputs(context):
        per_pipeline = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * per_pipeline
        return training_dataset(
            records,
            sampler,
            config.model.input_size,
            run.codec,
            start_step,
            augment,
            config.optim.seed,
            run.slice_size,
            tuple(range(first, first + per_pipeline)),
        )

    return iter(run.strategy.distribute_datasets_from_function(replica_inputs))


class _Window:
    """Private diagnostics summed since the last progress line (never released)."""

    def __init__(self):
        self.loss = self.clipped = self.count = 0.0
        self.start = time.time()

    def add(self, loss_sum, clipped, count):
        self.loss += float(loss_sum)
        self.clipped += float(clipped)
        self.count += float(count)


def step_chunks(sampler, step, inputs):
    """The distributed chunks of logical step `step` from `inputs` (as many as the sampler's
    draw for that step fills)."""
    for _ in range(len(sampler.chunks(step))):
        yield next(inputs)


def _mix_public(run, mix):
    """--public_mix: the public batch of this step and its weight in the update."""
    sampler, public_inputs = mix
    for chunk in step_chunks(sampler, run.step, public_inputs):
        run.steps.accumulate_public(chunk)
    run.steps.public_weight.assign(
        public_weight(run.config.pdp.public_mix, run.step, run.total_steps)
    )


def _one_step(run, inputs, window, mix=None):
    if run.basis is not None:
        start = round(run.config.pdp.projection_start_epoch * run.steps_per_epoch)
        if run.step >= start and (run.step - start) % run.config.pdp.basis_refresh_steps == 0:
            seconds = run.basis.refresh()
            scalars = {
                "pdp/refresh_seconds": seconds,
                "pdp/k": run.basis.rank,
                "pdp/m": len(run.public),
                "pdp/public_energy_share": run.basis.share,
            }
            if run.basis.previous_share is not None:
                scalars["pdp/previous_basis_share"] = run.basis.previous_share
            run.reporter.scalars(run.step, scalars)
    for chunk in step_chunks(run.sampler, run.step, inputs):
        window.add(*run.steps.accumulate(chunk))
    if mix is not None:
        _mix_public(run, mix)
    if run.plan is not None:  # record, release, count: one unit
        run.ledger.record_steps(run.plan.sampling_rate, run.plan.noise_multiplier)
        if run.releases is not None:  # counted before the update exists (no replay on resume)
            run.releases.count_release(run.plan.sampling_rate, run.plan.noise_multiplier)
    finite = bool(run.steps.apply())
    run.step += 1
    if not finite:  # the released update, not a private loss (a NaN one goes to private/ only)
        raise TrainingError(
            f"the model update became non-finite at step {run.step}: lower --learning_rate; "
            f"the last checkpoint in {run.config.runtime.model_dir} is kept"
        )


def _log(run, window, pace):
    eps = current_epsilon(run)
    line = progress_line(
        run.step,
        run.total_steps,
        run.steps_per_epoch,
        eps,
        run.plan.epsilon if run.plan else 0,
        run.plan is not None,
    )
    timing = pace.line(run.step)
    line += f" | {timing}" if timing else ""
    logging.info(line)
    run.reporter.text(run.step, "progress", line)
    run.reporter.privacy(run.step, run.plan, eps, run.ledger.steps)
    count = max(window.count, 1.0)
    diag = {
        "diagnostics_nonprivate/loss": window.loss / count,
        "diagnostics_nonprivate/examples_per_s": window.count
        / max(time.time() - window.start, 1e-9),
    }
    if run.plan is not None:
        diag["diagnostics_nonprivate/clip_fraction"] = window.clipped / count
    projection = run.projection if run.config.pdp.projection == "pdp" else None  # not GEP's
    if projection is not None and run.config.pdp.pdp_diagnostics:
        diag.update(
            {
                f"diagnostics_nonprivate/pdp_{name}": float(getattr(projection, name).numpy())
                for name in ("clean_energy", "noise_energy", "subspace_snr", "full_snr")
            }
        )
    run.reporter.private_diagnostics(run.step, diag)
    if projection is not None:
        run.reporter.scalars(
            run.step, {"pdp/captured_energy": float(projection.captured_energy.numpy())}
        )


def _end_of_epoch(run):
    metrics = evaluate(run)
    run.reporter.scalars(run.step, metrics)
    run.reporter.images(run.step, "val/predicted_skeletons", _val_overlays(run))
    logging.info("step %d: val %s", run.step, format_scores(val_scores(metrics)))
    save(run)
    run.reporter.flush()
    return metrics


def mean_seconds(step, count, enough=5.0):
    """(mean wall time, steps timed) of `step(i)` for i = 1..count after a warm-up `step(0)`
    (tracing, a PDP refresh); timing ends early once `enough` seconds are measured: one step of
    a large model on a CPU is precise enough, and each costs the user seconds before the run."""
    step(0)
    start, timed = time.time(), 0
    while timed < count and (timed == 0 or time.time() - start < enough):
        timed += 1
        step(timed)
    return (time.time() - start) / timed, timed


def seconds_per_step(run, count=3, mix=None):
    """(mean wall time, steps timed) of a private step: for a dry run, whose model, key and
    ledger are never saved."""
    inputs, window = _inputs(run), _Window()
    return mean_seconds(lambda _: _one_step(run, inputs, window, mix), count)


def _validation_due(run):
    every = run.steps_per_epoch * run.config.runtime.eval_every_epochs
    return run.step % every == 0 or run.step == run.total_steps


def train(run, stop=None, mix=None):
    """Trains until the planned (or budgeted) steps are taken; returns the last val metrics
    (empty when no epoch ended). `stop`: a StopRequest ending training between steps; `mix`:
    (sampler, iterator) of --public_mix's public batches."""
    inputs, window, metrics = _inputs(run), _Window(), {}
    pace = Pace(run.step, run.total_steps, run.config.optim.batch_size)
    last_save = time.time()
    first = run.step
    while run.step < run.total_steps and not (stop is not None and stop.requested):
        _one_step(run, inputs, window, mix)
        if run.step == first + 1:  # the first step traces the graphs: not the run's pace
            pace.pause_over(run.step)
        epoch_end = run.step % run.steps_per_epoch == 0 or run.step == run.total_steps
        if run.step % run.config.runtime.log_every == 0 or epoch_end:
            _log(run, window, pace)
            window = _Window()
        if _validation_due(run) and run.chief:
            metrics = _end_of_epoch(run)
            last_save = time.time()
            pace.pause_over(run.step)
        elif time.time() - last_save > 60 * run.config.runtime.checkpoint_minutes:
            save(run)  # long epochs: lose at most a few minutes to a crash
            last_save = time.time()
            pace.pause_over(run.step)
    if stop is not None and stop.requested:
        save(run)
        run.reporter.flush()
        raise Interrupted(stop.signum, run.step)
    return metrics
