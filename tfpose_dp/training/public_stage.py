"""The public data used in full: a non-private fine-tuning stage on the public set before the
private steps (--public_finetune_steps), and the public batches of --public_mix.

Both read the public records and the public seed only: they spend no privacy budget and a
private record cannot reach them (the public set is held out of the training split by image,
or read from its own file). The model the stage ends with is the public-data-alone bar the
private steps must beat; the run reports it beside the starting model and the private result.
"""

import tensorflow as tf
from absl import logging

from tfpose_dp.eval.scores import format_scores
from tfpose_dp.privacy.sampling import PoissonSampler
from tfpose_dp.training import loop
from tfpose_dp.training.steps import NonPrivateSteps
from tfpose_dp.training.stop_request import Interrupted

# Public entropy tags: the stage's and the mix's public batches are different draws.
_STAGE, _MIX = 0x57A6E, 0x31C5


def public_sampler(run, tag):
    """Poisson batches of --public_batch_size public records, drawn from the public seed."""
    return PoissonSampler(  # --public_batch_size <= m: checked by setup.build_run
        len(run.public),
        run.config.pdp.public_batch_size,
        run.sampler.physical_batch_size,
        [run.config.optim.seed, tag],
        replicas=run.strategy.num_replicas_in_sync,
    )


def mix_inputs(run):
    """(sampler, iterator) of --public_mix's public batches, one per private step from the
    current one on (augmented, as the stage's); None without --public_mix."""
    if run.config.pdp.public_mix == "none":
        return None
    sampler = public_sampler(run, _MIX)
    return sampler, loop.chunk_iterator(run, run.public, sampler, run.step, augment=True)


def _stage_steps(run):
    """(sampler, steps, inputs) of the public stage."""
    sampler = public_sampler(run, _STAGE)
    with run.strategy.scope():
        optimizer = tf.keras.optimizers.legacy.Adam(run.config.pdp.public_learning_rate)
        steps = NonPrivateSteps(
            run.model, optimizer, run.variables, run.config.optim.temperature, None, run.strategy
        )
    return sampler, steps, loop.chunk_iterator(run, run.public, sampler, 0, augment=True)


def _stage_step(sampler, steps, inputs, step):
    for chunk in loop.step_chunks(sampler, step, inputs):
        steps.accumulate(chunk)
    return bool(steps.apply())


def stage_seconds_per_step(run, count=3):
    """(mean wall time, steps timed) of up to `count` public stage steps after a warm-up one
    (loop.mean_seconds; for a dry run: the model is changed)."""
    sampler, steps, inputs = _stage_steps(run)
    return loop.mean_seconds(lambda step: _stage_step(sampler, steps, inputs, step), count)


def run_public_stage(run, stop=None):
    """Fine-tunes run.model on the public set for --public_finetune_steps steps (Adam at
    --public_learning_rate, augmented, NON-PRIVATE: public data only); returns the val metrics
    of the result (the chief's; {} on other workers). `stop`: a StopRequest; when set, the
    stage ends between two of its steps with Interrupted, and the next start runs it again
    (nothing private was used or released)."""
    count = run.config.pdp.public_finetune_steps
    sampler, steps, inputs = _stage_steps(run)
    logging.info(
        "Public stage (NON-PRIVATE, public data only): %d steps of ~%d of the %d public "
        "examples, augmented",
        count,
        sampler.expected_batch_size,
        sampler.num_examples,
    )
    for step in range(count):
        if stop is not None and stop.requested:
            where = f"in the public stage at its step {step} (it runs again on the next start)"
            raise Interrupted(stop.signum, run.step, where)
        if not _stage_step(sampler, steps, inputs, step):  # public data: its loss may stop it
            raise loop.TrainingError(
                f"the public stage diverged at step {step + 1}: lower --public_learning_rate"
            )
    if run.average is not None:
        run.average.reset()
    metrics = loop.evaluate(run) if run.chief else {}
    if metrics:
        logging.info(
            "after the public stage (the public data alone): val %s",
            format_scores(loop.val_scores(metrics)),
        )
    return metrics
