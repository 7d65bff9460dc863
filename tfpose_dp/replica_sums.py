"""Replica-local sums: each replica of a tf.distribute run adds its own examples' values to
its copy; reading the variable across replicas sums the copies. The DP optimizer keeps its
clipped-gradient sums in them, the non-private steps their gradient sums."""

import tensorflow as tf


def replica_local_zeros(like, name):
    """One zero ON_READ/SUM variable per tensor of `like`, named `name`_i."""
    return [
        tf.Variable(
            tf.zeros(v.shape, v.dtype),
            trainable=False,
            name=f"{name}_{i}",
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.SUM,
        )
        for i, v in enumerate(like)
    ]
