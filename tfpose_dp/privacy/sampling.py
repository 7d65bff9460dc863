"""Poisson sampling of private units (images: privacy/image_units.py), delivered as
fixed-size masked chunks of their records (persons).

Every step, each of the N private units joins the logical batch independently with
probability q = expected_batch_size / N: exactly the subsampling the accountant assumes
(`PoissonSampledDpEvent`). The logical batch has a random size n ~ Binomial(N, q); its
units' records are packed into fixed-size chunks (a unit never straddles a replica's slice),
the last padded with index -1 (mask 0). There is no overflow: a large draw simply takes one
more chunk, and an empty draw takes zero chunks (the step still adds noise). The draw for
step t depends only on (entropy, t), the entropy being derived from the run's secret DP key
(privacy/dp_key.py), so the sampler's whole state is the step counter kept in checkpoints and
nobody without the key can tell who was in a batch.
"""

import numpy as np

from tfpose_dp.privacy.image_units import PAD, pack

PAD_INDEX = PAD


class PoissonSampler:
    """Draws Poisson-sampled logical batches of example indices.

    >>> s = PoissonSampler(num_examples=1000, expected_batch_size=50, physical_batch_size=32,
    ...                    entropy=0)
    >>> s.sampling_rate
    0.05
    >>> chunks = s.chunks(step=0)
    >>> chunks.shape[1], int((chunks >= 0).sum()) == len(s.indices(0))
    (32, True)
    """

    def __init__(
        self,
        num_examples,
        expected_batch_size,
        physical_batch_size,
        entropy,
        units=None,
        replicas=1,
        unit_cap=None,
        unit_salts=None,
    ):
        """`units`: the record indices of each of the `num_examples` units (None: one record
        per unit, unit i = record i). `replicas`: slices per chunk (tf.distribute).
        `unit_cap`: a sampled unit with more records contributes `unit_cap` of them, drawn
        each step from (entropy, step, the unit's salt): `unit_salts`, one number per unit
        from its own key, so the draw depends on no other unit."""
        if units is not None and len(units) != num_examples:
            raise ValueError(f"{len(units)} units given for num_examples={num_examples}")
        if num_examples <= 0:
            raise ValueError("the private training set is empty: there is nothing to sample")
        if not 0 < expected_batch_size <= num_examples:
            raise ValueError(f"--batch_size={expected_batch_size} must be in [1, N={num_examples}]")
        if physical_batch_size <= 0:
            raise ValueError(f"--physical_batch_size={physical_batch_size} must be positive")
        self.num_examples = int(num_examples)
        self.expected_batch_size = int(expected_batch_size)
        self.physical_batch_size = int(physical_batch_size)
        self.units, self.replicas = units, int(replicas)
        self.unit_cap, self.unit_salts = unit_cap, unit_salts
        if unit_cap is not None and (units is None or len(unit_salts) != len(units)):
            raise ValueError("a unit cap needs the units and one salt per unit")
        # DPKey.sampling_entropy() in a run (secret); an int in tests.
        self.entropy = [int(entropy)] if isinstance(entropy, int) else [int(w) for w in entropy]

    @property
    def sampling_rate(self):
        return self.expected_batch_size / self.num_examples

    def indices(self, step):
        """Sorted indices of the units in logical batch `step`."""
        rng = np.random.default_rng([*self.entropy, int(step), 0x5A3])
        return np.flatnonzero(rng.random(self.num_examples) < self.sampling_rate)

    def layout(self, step):
        """(persons, groups), each (num_chunks, physical_batch_size) int64: the record in each
        slot and its group (the slice-local slot of its unit's first record: the clipping
        unit, privacy/clipping.py), PAD_INDEX in padding."""
        idx = self.indices(step)
        members = [self.members(u, step) for u in idx] if self.units is not None else idx[:, None]
        return pack(members, self.physical_batch_size // self.replicas, self.replicas)

    def members(self, unit, step):
        """The records unit `unit` contributes at `step`: all, or `unit_cap` of them."""
        records = self.units[unit]
        if self.unit_cap is None or len(records) <= self.unit_cap:
            return records
        rng = np.random.default_rng([*self.entropy, int(step), self.unit_salts[unit], 0xCA9])
        return np.sort(rng.choice(records, self.unit_cap, replace=False))

    def chunks(self, step):
        """(num_chunks, physical_batch_size) int64 record indices, padded with PAD_INDEX."""
        return self.layout(step)[0]

    def steps_per_epoch(self):
        return steps_per_epoch(self.num_examples, self.expected_batch_size)


def steps_per_epoch(num_examples, expected_batch_size):
    """Steps that process N examples in expectation (1 / q, rounded)."""
    return max(1, round(num_examples / expected_batch_size))


def planned_steps(num_examples, expected_batch_size, epochs):
    """Steps of a run of `epochs` epochs: the trainer's plan and the calculator's."""
    return max(1, round(epochs * steps_per_epoch(num_examples, expected_batch_size)))
