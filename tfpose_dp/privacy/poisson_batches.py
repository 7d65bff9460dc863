"""Poisson-sampled batches of a Keras user's data: the sampling the accountant assumes.

`model.fit(x, y, batch_size=B)` shuffles and cuts fixed-size batches; DP-SGD's accounting
(privacy/accounting.py) assumes each step takes every example independently with probability
q = B / N. `poisson_batches` gives exactly that as a tf.data.Dataset of (x, y[, w]) batches of
random size (zero included), round(N / B) per iteration (one epoch in expectation), by the same
rule as the trainer's sampler (privacy/sampling.py). Each iteration draws fresh entropy from the
OS, so `fit(..., epochs=E)` takes E independent epochs and nobody who knows the code, the flags
or the seed can tell who was in a batch.

The examples are held in memory (one gather per step): what fits in RAM, as Keras arrays do.
"""

import secrets

import tensorflow as tf

from tfpose_dp.privacy.sampling import PoissonSampler


def _as_tensors(examples):
    """A structure of tensors with a leading example axis, from arrays or a tf.data.Dataset
    of single examples (finite)."""
    if isinstance(examples, tf.data.Dataset):
        if examples.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise ValueError("poisson_batches needs a finite data set: remove .repeat()")
        return examples.batch(2**62).get_single_element()
    return tf.nest.map_structure(tf.convert_to_tensor, examples)


def poisson_batches(examples, expected_batch_size):
    """tf.data.Dataset of Poisson-sampled batches of `examples` (q = expected_batch_size / N).

    Args:
      examples: (x, y) or (x, y, sample_weight) arrays with one row per example (x may be a
        structure), or a finite tf.data.Dataset of single (x, y[, w]) examples.
      expected_batch_size: B; pass the same B to the optimizer (`expected_batch_size`), the
        plan and the PrivacyCallback.

    >>> import numpy as np
    >>> ds = poisson_batches((np.arange(100.0), np.zeros(100)), expected_batch_size=10)
    >>> int(ds.cardinality()), all(int(tf.size(x)) <= 100 for x, _ in ds)
    (10, True)
    """
    data = _as_tensors(examples)
    count = int(tf.shape(tf.nest.flatten(data)[0])[0])
    sampler = PoissonSampler(count, expected_batch_size, physical_batch_size=1, entropy=0)
    steps = sampler.steps_per_epoch()

    def draws():
        # fresh OS entropy per iteration: each epoch's draws are independent of every other's
        sampler.entropy = [secrets.randbits(32) for _ in range(8)]
        for step in range(steps):
            yield sampler.indices(step)

    indices = tf.data.Dataset.from_generator(
        draws, output_signature=tf.TensorSpec([None], tf.int64)
    )
    batches = indices.map(lambda idx: tf.nest.map_structure(lambda t: tf.gather(t, idx), data))
    return batches.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2)
