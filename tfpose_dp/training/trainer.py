"""The trainer: composes data, model and privacy (none of which imports another).

Per logical step t: the Poisson sampler's draw for t arrives as k fixed-size masked chunks;
each chunk's clipped per-example gradient sum is accumulated; noise is added once; the
optional PDP projection post-processes the noisy mean; the optimizer applies it; the
ledger records one PoissonSampled-Gaussian event.
"""
import os
import time

import numpy as np
import tensorflow as tf
from absl import logging

from tfpose_dp.data.augmentation import AugmentConfig
from tfpose_dp.data.pipeline import eval_dataset, training_dataset
from tfpose_dp.eval.overlay import crop_to_uint8, draw_skeleton
from tfpose_dp.eval.predictions import evaluate_pckh, mean_pose_pckh
from tfpose_dp.models.pose_model import build_pose_model, load_backbone_weights, trainable_variables
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.privacy.accounting import PrivacyLedger
from tfpose_dp.privacy.optimizer import make_dp_optimizer
from tfpose_dp.privacy.projection import SubspaceProjection, basis_bytes
from tfpose_dp.privacy import sampling
from tfpose_dp.privacy.sampling import PoissonSampler, planned_steps
from tfpose_dp.training import checkpointing, datasets, distribution, restore_model, run_files
from tfpose_dp.training.config import ConfigError, validate
from tfpose_dp.training.pdp_basis import PublicBasis
from tfpose_dp.training.privacy_plan import NOT_COVERED, make_plan
from tfpose_dp.training.reporting import Reporter, log_json, progress_line
from tfpose_dp.training.resume import check_restored_step, check_resume
from tfpose_dp.training.stop_request import Interrupted
from tfpose_dp.training.steps import NonPrivateSteps, PrivateSteps
from tfpose_dp.training.weight_average import WeightAverage


class TrainingError(RuntimeError):
    """Training cannot continue (e.g. a non-finite loss); the last checkpoint is kept."""


def _learning_rate(cfg, planned_steps):
    if cfg.lr_schedule == "constant":
        return cfg.learning_rate
    # Cosine decay to 1% over the planned steps (public: depends only on the configuration).
    return tf.keras.optimizers.schedules.CosineDecay(cfg.learning_rate, planned_steps, alpha=0.01)


def _plain_optimizer(name, learning_rate):
    if name == "sgd":
        return tf.keras.optimizers.legacy.SGD(learning_rate, momentum=0.9)
    return tf.keras.optimizers.legacy.Adam(learning_rate)


def _budget_steps(plan, total_steps):
    """Largest step count <= total_steps whose epsilon stays within the target."""
    if plan is None or plan.epsilon_after(total_steps) <= plan.epsilon * (1 + 1e-6):
        return total_steps
    lo, hi = 0, total_steps
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if plan.epsilon_after(mid) <= plan.epsilon * (1 + 1e-6):
            lo = mid
        else:
            hi = mid - 1
    logging.warning("the privacy budget eps=%g allows %d of the %d planned steps: training stops there",
                    plan.epsilon, lo, total_steps)
    return lo


def _settings(cfg, n, plan, norm, data_desc):
    """The run settings saved with every checkpoint; a resume must repeat most of them."""
    return {"num_private_examples": n, "batch_size": cfg.batch_size, "nonprivate": cfg.nonprivate,
            "model": cfg.model, "input_size": list(cfg.input_size), "seed": cfg.seed,
            "noise_multiplier": plan.noise_multiplier if plan else None,
            "delta": plan.delta if plan else None, "epsilon_target": plan.epsilon if plan else None,
            "accountant": cfg.accountant if plan else None,
            "l2_norm_clip": cfg.l2_norm_clip if plan else None, "projection": cfg.projection,
            "optimizer": cfg.optimizer, "reproducible_noise": cfg.reproducible_noise,
            "method": "nonprivate" if cfg.nonprivate else ("pdp" if cfg.projection == "pdp" else "dpsgd"),
            "norm": norm, "split_ratio": cfg.split_ratio, "data_dir": cfg.data_dir,
            "synthetic": [cfg.synthetic_train, cfg.synthetic_val, cfg.synthetic_seed],
            "synthetic_domain": cfg.synthetic_domain, "data_description": data_desc,
            "init_from": os.path.abspath(cfg.init_from) if cfg.init_from else None,
            "maps_per_joint": cfg.maps_per_joint, "trainable": cfg.trainable,
            "ema_decay": cfg.ema_decay}


def run(cfg, stop=None):
    """Trains (or resumes) according to `cfg`; returns the final metrics dict.

    `stop`: a StopRequest whose flag (set by SIGTERM/Ctrl-C) ends training between steps.
    """
    validate(cfg)
    distribution.split_cpu(cfg.cpu_replicas)
    strategy = distribution.make_strategy(cfg.strategy, cfg.cpu_replicas)
    chief = distribution.is_chief(strategy)
    replicas = strategy.num_replicas_in_sync
    tf.keras.utils.set_random_seed(cfg.seed)  # public randomness only: init, augmentation
    train, val, data_desc = datasets.load_train_val(cfg.data_dir, cfg.synthetic_train, cfg.synthetic_val,
                                                    cfg.synthetic_seed, cfg.synthetic_root,
                                                    cfg.synthetic_domain)
    public = None
    if cfg.projection == "pdp":
        train, public = datasets.split_public(train, cfg.public_source, cfg.public_examples,
                                              cfg.seed, cfg.public_annotations)
    n = len(train)
    if not 0 < cfg.batch_size <= n:
        raise ConfigError(f"--batch_size={cfg.batch_size} must be in [1, N={n}] (the private examples)")
    steps_per_epoch = sampling.steps_per_epoch(n, cfg.batch_size)
    total_steps = planned_steps(n, cfg.batch_size, cfg.epochs)
    learning_rate = _learning_rate(cfg, total_steps)
    plan = None
    if not cfg.nonprivate:
        plan = make_plan(n, cfg.batch_size, total_steps, cfg.epsilon, cfg.delta, cfg.l2_norm_clip,
                         cfg.accountant)
        logging.info("Calibrated noise multiplier sigma=%.4f for eps=%g, delta=%.3g over %d steps "
                     "(q=%.5f, N=%d private examples)", plan.noise_multiplier, plan.epsilon,
                     plan.delta, total_steps, plan.sampling_rate, n)
    ckpt_dir = checkpointing.latest_checkpoint(cfg.model_dir) if os.path.isdir(cfg.model_dir) else None
    state = checkpointing.read_state(ckpt_dir) if ckpt_dir else None
    if plan is not None and state:
        plan.noise_multiplier = state["config"]["noise_multiplier"]  # the ledger continues with the same sigma
    total_steps = min(_budget_steps(plan, total_steps), cfg.max_steps or total_steps)

    source = None  # the run --init_from starts from
    if cfg.init_from:
        source = checkpointing.read_state(restore_model.checkpoint_dir(cfg.init_from))["config"]
    norm = cfg.norm
    if norm == "auto":  # frozen BN keeps pretrained statistics; from scratch it would not normalise
        norm = (state["config"]["norm"] if state else source["norm"] if source else
                "frozen_bn" if cfg.init_checkpoint else "group")
        logging.info("--norm=auto: using %s (%s)", norm, "the --init_from model's" if source else
                     "pretrained backbone" if norm == "frozen_bn" else "training from scratch")
    settings = _settings(cfg, n, plan, norm, data_desc)
    start = None
    if source is not None:
        start = (f"initialised from the model of {settings['init_from']} ({source.get('method')}, "
                 f"{source.get('data_description') or source.get('data_dir') or 'built-in data'}); "
                 "it must be public (trained on public data only)")
    if state:
        check_resume(state["config"], settings, cfg.model_dir)
    if source is not None:
        restore_model.check_compatible(source, settings, cfg.init_from)
    key = None  # only now, so that a refused configuration writes nothing
    if not cfg.nonprivate:
        key = run_files.run_key(cfg.model_dir, cfg.seed, cfg.reproducible_noise, chief)
        if not cfg.reproducible_noise:
            key = distribution.broadcast_key(strategy, key, chief)
    # Without a key (the non-private baseline) batches are drawn from the seed: nothing to protect.
    sampler = PoissonSampler(n, cfg.batch_size, cfg.effective_physical_batch_size(replicas),
                             key.sampling_entropy() if key else cfg.seed)
    slice_size = distribution.replica_slice_size(sampler.physical_batch_size, replicas)
    with strategy.scope():  # variables mirrored on every replica
        model = build_pose_model(cfg.model, cfg.input_size, norm, cfg.split_ratio,
                                 maps_per_joint=cfg.maps_per_joint)
        if cfg.init_checkpoint and not state:
            load_backbone_weights(model, cfg.model, cfg.input_size, norm, cfg.init_checkpoint)
        if cfg.init_from and not state:
            restore_model.init_from_run(model, cfg.init_from, settings)
        variables = trainable_variables(model, cfg.trainable)
        codec = SimCCCodec(cfg.input_size, cfg.split_ratio, cfg.simcc_sigma or None)
        trackables = {"model": model}
        projection = None
        average = None  # set below when --ema_decay > 0
        if cfg.nonprivate:
            optimizer = _plain_optimizer(cfg.optimizer, learning_rate)
            steps_class = NonPrivateSteps
        else:
            optimizer = make_dp_optimizer(cfg.optimizer, learning_rate, plan.l2_norm_clip,
                                          plan.noise_multiplier, cfg.batch_size, key.noise_key())
            if public is not None:
                num_params = int(sum(np.prod(v.shape) for v in variables))
                gigabytes = (basis_bytes(num_params, cfg.projection_dim)
                             + basis_bytes(num_params, len(public))) / 2**30
                if gigabytes > cfg.max_basis_gb:
                    raise ConfigError(
                        f"PDP needs ~{gigabytes:.1f} GB for the basis and public gradients of "
                        f"{num_params:,} trainable parameters (k={cfg.projection_dim}, m={len(public)}), "
                        f"over --max_basis_gb={cfg.max_basis_gb:g}: use --trainable=last_stage (the paper's "
                        "setting), a smaller --projection_dim/--public_examples, or raise --max_basis_gb")
                projection = SubspaceProjection(num_params, cfg.projection_dim)
                optimizer.gradient_transform = projection
                if cfg.pdp_diagnostics:
                    optimizer.clean_gradient_probe = projection.probe
                trackables["pdp_basis"] = projection.basis
                trackables["pdp_active"] = projection.active
            steps_class = PrivateSteps
        if cfg.ema_decay > 0:
            average = WeightAverage(variables, cfg.ema_decay, optimizer.iterations)
        steps = steps_class(model, optimizer, variables, cfg.temperature, average, strategy)
        trackables["optimizer"] = optimizer
    if average is not None:
        trackables["weight_average"] = average.shadows
    ledger = PrivacyLedger(plan.delta if plan else 0.0)
    step = 0
    if state:
        checkpointing.restore(ckpt_dir, trackables)
        ledger = PrivacyLedger.from_json(state["ledger"])
        step = state["step"]
        check_restored_step(ckpt_dir, step, int(optimizer.iterations.numpy()),
                            ledger.steps if plan is not None else None)
        logging.info("Resuming from %s at step %d (eps spent so far %.4f)", ckpt_dir, step,
                     state.get("epsilon", 0.0))
    os.makedirs(cfg.model_dir, exist_ok=True)
    reporter = Reporter(cfg.model_dir, enabled=chief,
                        print_private=cfg.print_private_diagnostics or cfg.nonprivate)
    basis = None
    if projection is not None:
        basis = PublicBasis(model, public, variables, projection, cfg, codec)
    method = settings["method"]
    if step == 0 and plan is not None:
        statement = plan.statement(0, 0.0, cfg.projection, cfg.reproducible_noise, start)
        reporter.text(0, "privacy/statement_start", statement)
        logging.info("Privacy statement: %s", statement)
    if chief and not cfg.nonprivate:
        logging.info("Private diagnostics (loss, clip fraction, examples/s of private batches; not DP) "
                     "go to %s only%s", run_files.private_dir(cfg.model_dir),
                     "" if cfg.print_private_diagnostics else " (--print_private_diagnostics prints them)")
    run_info = {"method": method, "data": data_desc, "model": cfg.model,
                "input_size": list(cfg.input_size), "num_private_examples": n,
                "steps_per_epoch": steps_per_epoch, "total_steps": total_steps, "seed": cfg.seed,
                "init_from": settings["init_from"]}
    logging.info("Run: %s", run_info)
    logging.info("Devices: %s; each replica takes %d of every %d-slot chunk%s", distribution.describe(strategy),
                 slice_size, sampler.physical_batch_size, "" if chief else " (not the chief: writes nothing)")

    def save(epsilon):
        if not chief:  # the chief writes the (single) checkpoint of the mirrored state
            return
        checkpointing.save(cfg.model_dir, trackables, {
            "step": step, "ledger": ledger.to_json(), "epsilon": epsilon, "config": settings,
            "start_metrics": start_metrics})

    def current_epsilon():
        return ledger.epsilon(plan.accountant, plan.epsilon) if plan else float("inf")

    val_ds = eval_dataset(val, cfg.input_size, codec, cfg.eval_batch_size)

    def evaluate():
        """val/pckh metrics of the current (or, with --ema_decay, averaged) weights."""
        if average is None:
            table = evaluate_pckh(model, val_ds, codec)
        else:
            with average.swapped():
                table = evaluate_pckh(model, val_ds, codec)
        return {"val/pckh@0.5": table["Mean"], "val/pckh@0.1": table["Mean@0.1"]}

    def val_overlays(count=4):
        batch = next(iter(val_ds))
        out = model(batch["image"][:count], training=False)
        kp, scores = codec.decode(out["simcc_x"], out["simcc_y"])
        return [np.asarray(draw_skeleton(crop_to_uint8(img), k, s))
                for img, k, s in zip(batch["image"][:count].numpy(), kp.numpy(), scores.numpy())]

    augment = AugmentConfig(half_body_prob=cfg.half_body_prob) if cfg.augment else None

    def replica_inputs(context):
        per_pipeline = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * per_pipeline
        return training_dataset(train, sampler, cfg.input_size, codec, step, augment, cfg.seed,
                                slice_size, tuple(range(first, first + per_pipeline)))

    it = iter(strategy.distribute_datasets_from_function(replica_inputs))
    window = {"loss": 0.0, "clipped": 0.0, "count": 0.0, "t0": time.time()}
    metrics = {}
    start_metrics = state.get("start_metrics") if state else None
    if cfg.init_from and not state and chief:  # what fine-tuning is measured against
        start_metrics = evaluate()
        reporter.scalars(0, start_metrics)
        logging.info("starting model (--init_from): val PCKh@0.5 %.2f, PCKh@0.1 %.2f",
                     start_metrics["val/pckh@0.5"], start_metrics["val/pckh@0.1"])
    pdp_start = round(cfg.projection_start_epoch * steps_per_epoch)
    last_save = time.time()
    while step < total_steps:
        if stop is not None and stop.requested:
            break
        if basis is not None and step >= pdp_start and (step - pdp_start) % cfg.basis_refresh_steps == 0:
            seconds = basis.refresh()
            reporter.scalars(step, {"pdp/refresh_seconds": seconds, "pdp/k": basis.rank,
                                    "pdp/m": len(public)})
        for _ in range(len(sampler.chunks(step))):
            loss_sum, clipped, count = steps.accumulate(next(it))
            window["loss"] += float(loss_sum)
            window["clipped"] += float(clipped)
            window["count"] += float(count)
        # One unit, never split by a signal (the handler only sets a flag read above):
        # record the event, release the update, count the step.
        if plan is not None:
            ledger.record_steps(plan.sampling_rate, plan.noise_multiplier)
        steps.apply()
        step += 1
        if not np.isfinite(window["loss"]):
            raise TrainingError(
                f"the training loss became non-finite at step {step}: lower --learning_rate or "
                f"--l2_norm_clip; the last checkpoint in {cfg.model_dir} is kept")
        epoch_end = step % steps_per_epoch == 0 or step == total_steps
        if step % cfg.log_every == 0 or epoch_end:
            count = max(window["count"], 1.0)
            eps = current_epsilon()
            logging.info(progress_line(step, total_steps, steps_per_epoch, eps,
                                       plan.epsilon if plan else 0, plan is not None))
            reporter.privacy(step, plan, eps, ledger.steps)
            diag = {"diagnostics_nonprivate/loss": window["loss"] / count,
                    "diagnostics_nonprivate/examples_per_s":
                        window["count"] / max(time.time() - window["t0"], 1e-9)}
            if plan is not None:
                diag["diagnostics_nonprivate/clip_fraction"] = window["clipped"] / count
            if projection is not None and cfg.pdp_diagnostics:
                diag.update({f"diagnostics_nonprivate/pdp_{name}": float(getattr(projection, name).numpy())
                             for name in ("clean_energy", "noise_energy", "subspace_snr", "full_snr")})
            reporter.private_diagnostics(step, diag)
            if projection is not None:
                reporter.scalars(step, {"pdp/captured_energy": float(projection.captured_energy.numpy())})
            window = {"loss": 0.0, "clipped": 0.0, "count": 0.0, "t0": time.time()}
        if epoch_end and chief:
            metrics = evaluate()
            reporter.scalars(step, metrics)
            reporter.images(step, "val/predicted_skeletons", val_overlays())
            logging.info("step %d: val PCKh@0.5 %.2f, PCKh@0.1 %.2f", step,
                         metrics["val/pckh@0.5"], metrics["val/pckh@0.1"])
            save(current_epsilon())
            reporter.flush()
            last_save = time.time()
        elif time.time() - last_save > 60 * cfg.checkpoint_minutes:
            save(current_epsilon())  # long epochs: lose at most a few minutes to a crash
            last_save = time.time()
    if stop is not None and stop.requested:
        save(current_epsilon())
        reporter.flush()
        raise Interrupted(stop.signum, step)
    if not chief:
        return {"method": method, "steps": step, "chief": False, **run_info}
    if not metrics:  # resumed a finished run: report its final model
        metrics = evaluate()
    eps = current_epsilon()
    statement = None
    if plan is not None:
        statement = plan.statement(step, eps, cfg.projection, cfg.reproducible_noise, start)
        reporter.text(step, "privacy/statement_end", statement)
        logging.info("Privacy statement: %s", statement)
    baseline = mean_pose_pckh(val, val, cfg.input_size)
    logging.info("val PCKh@0.5 %.2f vs %.2f for the val split's own mean pose (a model that ignores "
                 "the image)", metrics["val/pckh@0.5"], baseline["Mean"])
    if start_metrics:
        logging.info("val PCKh@0.5 %.2f after fine-tuning vs %.2f for the starting model (%+.2f)",
                     metrics["val/pckh@0.5"], start_metrics["val/pckh@0.5"],
                     metrics["val/pckh@0.5"] - start_metrics["val/pckh@0.5"])
    final = {"method": method, "epsilon": eps if plan else None, "epsilon_target": plan.epsilon if plan else None,
             "delta": plan.delta if plan else None, "noise_multiplier": plan.noise_multiplier if plan else None,
             "steps": step, "pckh@0.5": metrics.get("val/pckh@0.5"), "pckh@0.1": metrics.get("val/pckh@0.1"),
             "mean_pose_pckh@0.5": baseline["Mean"],
             "start_pckh@0.5": start_metrics["val/pckh@0.5"] if start_metrics else None,
             "private": plan is not None,
             "dp_guarantee": plan is not None and not cfg.reproducible_noise,
             "noise_source": None if plan is None else (
                 "public seed (--reproducible_noise): NO DP guarantee" if cfg.reproducible_noise
                 else "secret per-run key (OS CSPRNG)"),
             "unit_of_privacy": "one person record" if plan is not None else None,
             "not_covered": NOT_COVERED if plan is not None else None,
             "privacy_statement": statement, **run_info}
    reporter.hparams({"method": method, "epsilon_target": final["epsilon_target"] or 0.0,
                      "batch_size": cfg.batch_size, "learning_rate": cfg.learning_rate,
                      "l2_norm_clip": cfg.l2_norm_clip, "model": cfg.model,
                      "projection_dim": cfg.projection_dim if projection is not None else 0})
    reporter.scalars(step, {"final/pckh@0.5": final["pckh@0.5"] or 0.0})
    reporter.flush()
    log_json(os.path.join(cfg.model_dir, "final_metrics.json"), final)
    return final
