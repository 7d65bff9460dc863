"""Which devices train: TensorFlow's distribution strategies, and what each replica sees.

  default       one device (the single-device program)
  mirrored      every local GPU, or --cpu_replicas logical CPUs (MirroredStrategy)
  multi_worker  the machines of TF_CONFIG (MultiWorkerMirroredStrategy)

A TPU would plug in as TPUStrategy here and a cluster launcher only has to set TF_CONFIG per
process; nothing else in the trainer changes. Privacy does not depend on the replica count:
the Poisson draw is global (same on every worker, a function of (seed, step)); every chunk
of `physical_batch_size` slots is cut into one contiguous slice per replica, so each drawn
example is processed by exactly one replica; the clipped sums are all-reduced and noise is
added once to the global sum (privacy/optimizer.py).
"""

import functools
import json
import math
import os
import struct

import tensorflow as tf
from absl import logging

from tfpose_dp.privacy.dp_key import KEY_BYTES, DPKey, bytes_from_words
from tfpose_dp.training.release_record import NONCE_BYTES

STRATEGIES = ("default", "mirrored", "multi_worker")


class DistributionError(ValueError):
    """The requested devices or replica layout cannot be used; the message says what to change."""


def split_cpu(replicas):
    """Splits the CPU into `replicas` logical devices (before TensorFlow starts its runtime)."""
    if replicas <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * replicas
        )
    except RuntimeError as e:
        if len(tf.config.list_logical_devices("CPU")) != replicas:
            raise DistributionError(
                f"--cpu_replicas={replicas}: TensorFlow was already initialised "
                f"with {len(tf.config.list_logical_devices('CPU'))} CPU device(s)"
            ) from e


@functools.cache
def make_strategy(name, cpu_replicas=1):
    """One strategy object per process and setting: two MirroredStrategy objects in one process
    would reuse the same collective instance keys."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")][
            : max(1, cpu_replicas)
        ]
        logging.info("MirroredStrategy over %s", devices)
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise DistributionError(
                "--strategy=multi_worker needs TF_CONFIG (cluster and this task) in the "
                "environment of every worker process; see the README"
            )
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.AUTO
        )
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise DistributionError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")


def is_chief(strategy):
    """True on the one process that writes checkpoints, TensorBoard and final metrics."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def replica_slice_size(physical_batch_size, replicas):
    """Slots of each chunk one replica processes; the chunk must split evenly."""
    if physical_batch_size % replicas:
        raise DistributionError(
            f"--physical_batch_size={physical_batch_size} must be a multiple of the {replicas} "
            "replicas (each replica takes an equal slice of every chunk), e.g. "
            f"{replicas * max(1, physical_batch_size // replicas)}"
        )
    return physical_batch_size // replicas


def describe(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = json.dumps(resolver.cluster_spec().as_dict()) if resolver is not None else "local"
    replicas = strategy.num_replicas_in_sync
    return f"{type(strategy).__name__} with {replicas} replica(s), cluster {cluster}"


def broadcast_key(strategy, key, chief, discarded=()):
    """The chief's DP key (with its generation and start nonce) and its discarded steps as
    [q, sigma, steps] segments on every worker of a multi-worker run (other strategies: `key,
    discarded` themselves).

    Every replica all-gathers one row [is_chief, generation, 16 key words, 8 nonce words, the
    segments]; every entry is an integer < 2**16 (q and sigma as the four 16-bit words of their
    float64), so float32 carries them exactly and every worker computes the same budget. The
    key never touches the file system of other workers.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return key, discarded
    if len(discarded) > _MAX_SEGMENTS:
        raise DistributionError(
            f"{len(discarded)} (q, sigma) segments of discarded steps: more than the "
            f"{_MAX_SEGMENTS} a multi-worker start carries; finish the restart on one worker"
        )
    words = [0] * _ROW
    if chief:
        words = [1, key.generation] + key.to_words() + key.nonce_words(NONCE_BYTES)
        for segment in discarded:
            words += _segment_words(segment)
        words += [0] * (_ROW - len(words))
    row = tf.constant([[float(w) for w in words]], tf.float32)

    @tf.function
    def gather():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_gather(row, axis=0))

    rows = strategy.experimental_local_results(gather())[0].numpy()
    chief_rows = rows[rows[:, 0] == 1.0]
    if not len(chief_rows):
        raise DistributionError("no chief took part in the DP key broadcast; check TF_CONFIG")
    words = [int(round(w)) for w in chief_rows[0]]
    key_end = 2 + KEY_BYTES // 2
    nonce = bytes_from_words(words[key_end : key_end + NONCE_BYTES // 2])
    key = DPKey.from_words(words[2:key_end]).with_generation(words[1])
    segments = []
    for at in range(key_end + NONCE_BYTES // 2, _ROW, _SEGMENT_WORDS):
        q, sigma, steps = struct.unpack("<ddI", bytes_from_words(words[at : at + _SEGMENT_WORDS]))
        if steps:
            segments.append(
                [None if math.isnan(q) else q, None if math.isnan(sigma) else sigma, steps]
            )
    return key.with_nonce(nonce if any(nonce) else b""), segments


_MAX_SEGMENTS = 8
_SEGMENT_WORDS = 10  # q and sigma as float64 (4 words each), steps as uint32 (2 words)
_ROW = 2 + (KEY_BYTES + NONCE_BYTES) // 2 + _MAX_SEGMENTS * _SEGMENT_WORDS


def _segment_words(segment):
    q, sigma, steps = (math.nan if v is None else v for v in segment)
    return list(struct.unpack(f"<{_SEGMENT_WORDS}H", struct.pack("<ddI", q, sigma, int(steps))))
