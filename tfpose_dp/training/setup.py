"""Builds a run: data, privacy plan, the resumed state, the key, sampler, model, optimizer and
projection, in the order that lets a refused configuration fail before anything is written."""

import dataclasses
import os
from typing import Any, Optional

import numpy as np
import tensorflow as tf
from absl import logging

from tfpose_dp import presets
from tfpose_dp.data.pipeline import eval_dataset
from tfpose_dp.default_start import concrete
from tfpose_dp.models.pose_model import load_backbone_weights, trainable_variables
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.privacy.accounting import PrivacyLedger
from tfpose_dp.privacy.dp_key import DPKey
from tfpose_dp.privacy.optimizer import make_dp_optimizer
from tfpose_dp.privacy.plan import PrivacyPlan
from tfpose_dp.privacy.projection import SubspaceProjection, refresh_bytes
from tfpose_dp.privacy.sampling import PoissonSampler, planned_steps, steps_per_epoch
from tfpose_dp.run_config import ConfigError, RunConfig
from tfpose_dp.runs import checkpoints, restore
from tfpose_dp.runs.layout import private_dir
from tfpose_dp.runs.manifest import Manifest
from tfpose_dp.runs.run_skeleton import resolve_keypoints
from tfpose_dp.training import distribution
from tfpose_dp.training.pdp_basis import PublicBasis, public_batches
from tfpose_dp.training.release_record import ReleaseRecord
from tfpose_dp.training.reporting import Reporter
from tfpose_dp.training.resume import check_restored_step, check_resume
from tfpose_dp.training.run_data import load_run_data, write_load_report
from tfpose_dp.training.run_key import persist_key, run_key
from tfpose_dp.training.run_plan import charge_discarded, run_plan
from tfpose_dp.training.steps import MeanGradient, NonPrivateSteps, PrivateSteps
from tfpose_dp.training.weight_average import WeightAverage


@dataclasses.dataclass
class Run:
    """Everything a training run holds; `step` is the number of steps taken."""

    config: RunConfig  # resolved: norm, delta and init_from as the run actually uses them
    manifest: Manifest
    strategy: Any
    chief: bool
    train: Any
    val: Any
    public: Any
    plan: Optional[PrivacyPlan]
    ledger: PrivacyLedger
    sampler: PoissonSampler
    slice_size: int
    steps_per_epoch: int
    total_steps: int
    model: Any
    codec: SimCCCodec
    variables: list
    optimizer: Any
    steps: Any
    trackables: dict
    reporter: Reporter
    val_ds: Any
    projection: Optional[SubspaceProjection] = None
    basis: Optional[PublicBasis] = None
    average: Optional[WeightAverage] = None
    releases: Optional[ReleaseRecord] = None  # the chief's count of released steps
    step: int = 0
    start_metrics: Optional[dict] = None
    public_stage_metrics: Optional[dict] = None  # after --public_finetune_steps (val, public)
    start: Optional[str] = None  # where the model came from, for the statement


def _resolve(config, state, source, plan):
    """The config as this run uses it: norm, delta and the --init_from path resolved."""
    norm = config.model.norm
    if norm == "auto":  # frozen BN keeps pretrained statistics; from scratch it would not normalise
        norm = (
            Manifest.from_state(state).config.model.norm
            if state
            else source.config.model.norm
            if source
            else "frozen_bn"
            if config.model.init_checkpoint
            else "group"
        )
        logging.info("--norm=auto: using %s", norm)
    return config.replace(
        norm=norm,
        delta=plan.delta if plan else None,
        init_from=_portable(config.model.init_from),
    )


def _portable(path):
    """--init_from as recorded: presets by name, folders by absolute path."""
    if not path or path.startswith(presets.PREFIX):
        return path
    return os.path.abspath(path)


def _optimizer(config, plan, key, total_steps):
    o = config.optim
    rate = o.learning_rate
    if o.lr_schedule == "cosine":  # decay to 1% over the planned steps (public configuration)
        rate = tf.keras.optimizers.schedules.CosineDecay(o.learning_rate, total_steps, alpha=0.01)
    if plan is None:
        if o.optimizer == "sgd":
            return tf.keras.optimizers.legacy.SGD(rate, momentum=0.9)
        return tf.keras.optimizers.legacy.Adam(rate)
    return make_dp_optimizer(
        o.optimizer, rate, plan.l2_norm_clip, plan.noise_multiplier, o.batch_size, key.noise_key()
    )


def _projection(config, variables, public, optimizer, chunk):
    pdp = config.pdp
    sizes = [int(np.prod(v.shape)) for v in variables]
    gigabytes = (
        refresh_bytes(sum(sizes), pdp.projection_dim, len(public), chunk, max(sizes)) / 2**30
    )
    if gigabytes > pdp.max_basis_gb:
        raise ConfigError(
            f"a PDP refresh holds ~{gigabytes:.2f} GB (the basis, max(k, m) rows, and one "
            f"chunk of public gradients) for {sum(sizes):,} trainable "
            f"parameters (k={pdp.projection_dim}, m={len(public)}), over --max_basis_gb="
            f"{pdp.max_basis_gb:g}: use --trainable=last_stage (the paper's setting), a smaller "
            "--projection_dim/--public_examples, or raise --max_basis_gb if the memory is there"
        )
    projection = SubspaceProjection([v.shape for v in variables], pdp.projection_dim, len(public))
    if pdp.projection == "gep":  # the basis splits each per-example gradient before clipping
        optimizer.use_gep(projection, pdp.gep_residual_clip)
        return projection
    optimizer.gradient_transform = projection
    if pdp.pdp_diagnostics:
        optimizer.clean_gradient_probe = projection.probe
    return projection


def _model_and_steps(config, strategy, plan, public, total_steps, state, key, chunk):
    """Model, optimizer, projection, weight average and compiled steps, under the strategy.
    `chunk`: the public examples whose gradients a PDP refresh computes at once."""
    m = config.model
    with strategy.scope():  # variables mirrored on every replica
        model = restore.build_model(config)
        if m.init_checkpoint and not state:
            load_backbone_weights(model, m.model, m.input_size, m.norm, m.init_checkpoint)
        if m.init_from and not state:
            restore.init_from_run(model, m.init_from, config)
        variables = trainable_variables(model, m.trainable)
        optimizer = _optimizer(config, plan, key, total_steps)
        trackables = {"model": model}
        projection = None
        if public is not None and config.pdp.projection != "none":
            projection = _projection(config, variables, public, optimizer, chunk)
            trackables.update(pdp_basis_blocks=projection.blocks, pdp_active=projection.active)
        average = None
        if config.optim.ema_decay > 0:
            average = WeightAverage(variables, config.optim.ema_decay, optimizer.iterations)
        args = (model, optimizer, variables, config.optim.temperature, average, strategy)
        if plan is None:
            steps = NonPrivateSteps(*args)
        else:
            mix = None
            if config.pdp.public_mix != "none":
                mix = MeanGradient(model, variables, config.optim.temperature, strategy, "public")
            steps = PrivateSteps(*args, clipping=config.privacy.clipping, public_mix=mix)
        trackables["optimizer"] = optimizer
    if average is not None:
        trackables["weight_average"] = average.shadows
    return dict(
        model=model,
        variables=variables,
        optimizer=optimizer,
        projection=projection,
        average=average,
        steps=steps,
        trackables=trackables,
    )


def _existing_state(model_dir):
    ckpt = checkpoints.latest_checkpoint(model_dir) if os.path.isdir(model_dir) else None
    return ckpt, (checkpoints.read_state(ckpt) if ckpt else None)


def build_run(config, dry_run=False):
    """A Run ready to train (resumed when MODEL_DIR holds a checkpoint). `dry_run`: writes
    nothing and draws a throwaway key in memory (steps taken on it are for timing only)."""
    config = concrete(config)  # --init_from=auto and the auto stage made concrete, said once
    r, o = config.runtime, config.optim
    strategy = distribution.make_strategy(r.strategy, r.cpu_replicas)
    chief, replicas = distribution.is_chief(strategy), strategy.num_replicas_in_sync
    tf.keras.utils.set_random_seed(o.seed)  # public randomness only: init, augmentation
    ckpt, state = _existing_state(r.model_dir)
    key = record = None  # secret randomness, in memory until the configuration is accepted
    discarded = []  # released steps the starting checkpoint lacks (release_record.py)
    if dry_run:
        key = DPKey.generate()
    elif not config.privacy.nonprivate or config.data.audit_canaries:
        key, record, discarded = run_key(
            r.model_dir,
            o.seed,
            config.privacy.reproducible_noise,
            strategy,
            chief,
            resuming=state is not None,
            ledger_steps=PrivacyLedger.from_json(state["ledger"]).steps if state else 0,
            in_checkpoint=state.get("releases") if state else None,
        )
    source = restore.read_manifest(config.model.init_from) if config.model.init_from else None
    config, skeleton_note = resolve_keypoints(config, source.config if source else None)
    if skeleton_note:
        logging.info("%s", skeleton_note)
    physical = _physical_batch_size(config, replicas)
    slice_size = distribution.replica_slice_size(physical, replicas)
    # the privacy unit: one image, all its persons; the image checks are cached in private/
    check_cache = private_dir(r.model_dir) if chief and not dry_run else None
    data = load_run_data(config, key, slice_size, check_cache)
    n = data.num_units
    if not 0 < o.batch_size <= n:
        raise ConfigError(
            f"--batch_size={o.batch_size} must be in [1, N={n}] (the private "
            f"{'examples' if data.units is None else 'images'})"
        )
    _check_public_batch(config, data.public)
    total_steps = planned_steps(n, o.batch_size, o.epochs)
    plan = run_plan(config, n, total_steps, state, dry_run)
    config = _resolve(config, state, source, plan)
    if state:
        check_resume(Manifest.from_state(state), config, n, r.model_dir)
    if source is not None:
        restore.check_compatible(source.config, config, config.model.init_from)
        restore.check_public_start(source, config, config.model.init_from)
    if key is not None and not dry_run:
        persist_key(r.model_dir, key, record, chief)
    if chief and not dry_run:
        write_load_report(r.model_dir, data)
        data.check_cache.save()
    # The non-private baseline draws its batches from the seed: nothing to protect.
    sampler = PoissonSampler(
        n,
        o.batch_size,
        physical,
        key.sampling_entropy() if plan is not None else o.seed,
        units=data.units,
        replicas=replicas,
        unit_cap=slice_size if data.unit_salts is not None else None,
        unit_salts=data.unit_salts,
    )
    built = _model_and_steps(config, strategy, plan, data.public, total_steps, state, key, physical)
    codec = restore.model_codec(config)
    run = Run(
        config=config,
        manifest=Manifest(
            config,
            n,
            data.description,
            plan.to_json() if plan else None,
            restore.start_record(source, config.model.init_from) if source else None,
            config.pdp.public_set_source(config.data.own_data()),
        ),
        strategy=strategy,
        chief=chief,
        train=data.train,
        val=data.val,
        public=data.public,
        plan=plan,
        ledger=PrivacyLedger(plan.delta if plan else 0.0),
        sampler=sampler,
        slice_size=slice_size,
        steps_per_epoch=steps_per_epoch(n, o.batch_size),
        total_steps=min(total_steps, o.max_steps or total_steps),
        codec=codec,
        reporter=None,
        val_ds=eval_dataset(data.val, config.model.input_size, codec, r.eval_batch_size),
        **built,
    )
    if state:
        _restore(run, ckpt, state)
    if plan is not None:
        run.releases = record
        run.total_steps = charge_discarded(
            plan, run.ledger, discarded, run.step, total_steps, run.total_steps
        )
    _finish(run, source, dry_run)
    return run


def _check_public_batch(config, public):
    pdp = config.pdp
    if pdp.uses_public_batches() and pdp.public_batch_size > len(public):
        raise ConfigError(
            f"--public_batch_size={pdp.public_batch_size} exceeds the {len(public)} public "
            "examples: lower it or raise --public_examples"
        )


def _physical_batch_size(config, replicas):
    """Slots per chunk (all replicas together): --physical_batch_size, or ~B/4 rounded up to a
    multiple of the replicas (Poisson batches vary in size: at most one part-filled chunk)."""
    if config.optim.physical_batch_size:
        return config.optim.physical_batch_size
    size = max(8, min(64, -(-config.optim.batch_size // 4)))
    return -(-size // replicas) * replicas


def _restore(run, ckpt, state):
    checkpoints.restore(ckpt, run.trackables)
    if run.projection is not None:
        _restore_older_basis(run.projection, ckpt)
    run.ledger = PrivacyLedger.from_json(state["ledger"])
    run.step = state["step"]
    run.start_metrics = state.get("start_metrics")
    run.public_stage_metrics = state.get("public_stage_metrics")
    check_restored_step(
        ckpt,
        run.step,
        int(run.optimizer.iterations.numpy()),
        run.ledger.trained_steps if run.plan is not None else None,
    )
    # A non-private run records eps = inf: it says NON-PRIVATE, as its progress lines do.
    spent = (
        "NON-PRIVATE" if run.plan is None else f"eps spent so far {state.get('epsilon', 0.0):.4f}"
    )
    logging.info("Resuming from %s at step %d (%s)", ckpt, run.step, spent)


def _restore_older_basis(projection, ckpt):
    """A checkpoint written before the basis was held per variable has one (p, k) `pdp_basis`:
    it is read into the blocks (the same basis, so a resumed run continues unchanged)."""
    prefix = checkpoints.checkpoint_prefix(ckpt)
    names = dict(tf.train.list_variables(prefix))
    key = "pdp_basis/.ATTRIBUTES/VARIABLE_VALUE"
    if key in names and not any(n.startswith("pdp_basis_blocks") for n in names):
        active = tf.train.load_variable(prefix, "pdp_active/.ATTRIBUTES/VARIABLE_VALUE")
        projection.set_basis(tf.train.load_variable(prefix, key))
        projection.active.assign(bool(active))


def _finish(run, source, dry_run=False):
    """Reporter, PDP basis and the description of where the model started."""
    config = run.config
    planned = planned_steps(
        run.manifest.num_private_examples, config.optim.batch_size, config.optim.epochs
    )
    if run.plan is not None and run.plan.budget_steps(planned) < planned:
        logging.warning(
            "the privacy budget eps=%g allows %d of the %d planned steps: training stops there",
            run.plan.epsilon,
            run.plan.budget_steps(planned),
            planned,
        )
    if not dry_run:
        os.makedirs(config.runtime.model_dir, exist_ok=True)
    run.reporter = Reporter(
        config.runtime.model_dir,
        enabled=run.chief and not dry_run,
        print_private=config.runtime.print_private_diagnostics or run.plan is None,
    )
    if run.projection is not None:
        run.basis = PublicBasis(
            run.steps.per_example_gradients,  # the private step's: same chunk shape
            public_batches(run.public, run.codec, run.sampler.physical_batch_size),
            run.variables,
            run.projection,
            clip=config.privacy.l2_norm_clip if config.pdp.clip_public_gradients else None,
            previous_share=config.pdp.pdp_diagnostics,
        )
    if source is not None:
        run.start = (
            f"initialised from the model of {config.model.init_from} ({source.config.method}, "
            f"{source.data_description}); it must be public (trained on public data only)"
        )
