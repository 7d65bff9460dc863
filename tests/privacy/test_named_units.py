"""A unit the user names (issue 47.9): all records of one patient are sampled together and
clipped together to C, so one patient in five images moves a step's clipped sum by at most C;
a unit larger than a slice contributes a capped draw of its records that depends on no other
unit."""

import numpy as np
import tensorflow as tf

from tfpose_dp.privacy import clipping
from tfpose_dp.privacy.image_units import group_by_image
from tfpose_dp.privacy.sampling import PoissonSampler

C = 1.0


def _clipped_sum(sampler, step, grads):
    total = np.zeros(grads.shape[1])
    for persons, groups in zip(*sampler.layout(step)):
        mask = (persons >= 0).astype(np.float32)
        g = [tf.constant(grads[np.maximum(persons, 0)] * mask[:, None], tf.float32)]
        sums, _ = clipping.clipped_sum(g, C, tf.constant(mask), tf.constant(groups))
        total += sums[0].numpy()
    return total


def test_one_patient_in_five_images_moves_the_clipped_sum_by_at_most_C():
    rng = np.random.default_rng(0)
    keys = np.array(["p0"] * 5 + [f"p{i}" for i in range(1, 40)])
    grads = rng.normal(size=(len(keys), 6)) * 10  # every record far above C
    units = group_by_image(keys)
    assert [len(u) for u in units[:2]] == [5, 1]
    zeroed = [np.zeros(0, np.int64)] + units[1:]  # the patient replaced by an empty unit
    kwargs = dict(expected_batch_size=20, physical_batch_size=8, entropy=[7, 7])
    present, absent = 0, 0
    for step in range(12):
        with_patient = PoissonSampler(len(units), units=units, **kwargs)
        without = PoissonSampler(len(units), units=zeroed, **kwargs)
        distance = np.linalg.norm(
            _clipped_sum(with_patient, step, grads) - _clipped_sum(without, step, grads)
        )
        assert distance <= C * (1 + 1e-5)
        sampled = 0 in with_patient.indices(step)
        present += sampled and distance > 0.99 * C  # its five images clipped as one
        absent += not sampled and distance < 1e-4
    assert present and absent and present + absent == 12


def test_singleton_units_are_the_image_unit():
    names = np.array([f"{i:03d}.jpg" for i in range(30)])
    keys = np.array([f"patient_id={i}" for i in range(30)])
    by_key, by_image = group_by_image(keys), group_by_image(names, cap=8)
    assert [u.tolist() for u in by_key] == [u.tolist() for u in by_image]


def test_a_capped_unit_draws_its_records_per_step_from_its_own_salt():
    units = [np.arange(6), np.array([6]), np.arange(7, 10)]
    sampler = PoissonSampler(3, 3, 4, entropy=[1], units=units, unit_cap=2, unit_salts=[11, 12, 13])
    draws = {tuple(sampler.members(0, step)) for step in range(20)}
    assert all(len(d) == 2 and set(d) <= set(range(6)) for d in draws) and len(draws) > 3
    assert sampler.members(1, 0).tolist() == [6]  # under the cap: all of it
    other = PoissonSampler(  # another unit changed: unit 0's draws do not move
        3,
        3,
        4,
        entropy=[1],
        units=units[:2] + [np.arange(7, 12)],
        unit_cap=2,
        unit_salts=[11, 12, 99],
    )
    assert all((sampler.members(0, t) == other.members(0, t)).all() for t in range(20))
    for step in range(5):
        persons, groups = sampler.layout(step)
        assert (persons >= 0).sum(axis=1).max() <= 4
