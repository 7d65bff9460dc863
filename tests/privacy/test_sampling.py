import numpy as np

from tfpose_dp.privacy.image_units import group_by_image
from tfpose_dp.privacy.sampling import PAD_INDEX, PoissonSampler


def test_batch_sizes_have_binomial_mean_and_variance():
    n, b = 2000, 40
    s = PoissonSampler(n, b, physical_batch_size=16, entropy=3)
    sizes = np.array([len(s.indices(t)) for t in range(3000)])
    q = b / n
    mean_se = np.sqrt(n * q * (1 - q) / len(sizes))
    assert abs(sizes.mean() - n * q) < 4 * mean_se
    assert abs(sizes.var() / (n * q * (1 - q)) - 1.0) < 0.1


def test_each_example_included_with_probability_q():
    s = PoissonSampler(50, 5, physical_batch_size=4, entropy=0)
    counts = np.zeros(50)
    for t in range(4000):
        counts[s.indices(t)] += 1
    freq = counts / 4000
    assert np.all(np.abs(freq - 0.1) < 4 * np.sqrt(0.1 * 0.9 / 4000))


def test_chunks_hold_exactly_the_draw_padded_with_masked_indices():
    s = PoissonSampler(500, 37, physical_batch_size=8, entropy=1)
    for t in range(50):
        idx, chunks = s.indices(t), s.chunks(t)
        assert chunks.shape == (-(-len(idx) // 8), 8)
        real = chunks[chunks != PAD_INDEX]
        np.testing.assert_array_equal(real, idx)
        assert np.all(chunks.reshape(-1)[len(idx) :] == PAD_INDEX)


def test_draw_is_a_function_of_entropy_and_step_only():
    a, b = PoissonSampler(300, 10, 4, entropy=5), PoissonSampler(300, 10, 4, entropy=5)
    np.testing.assert_array_equal(a.indices(17), b.indices(17))
    assert not np.array_equal(a.indices(17), PoissonSampler(300, 10, 4, entropy=6).indices(17))


def test_empty_draw_gives_zero_chunks():
    s = PoissonSampler(1000, 1, physical_batch_size=4, entropy=0)
    empties = [t for t in range(200) if len(s.indices(t)) == 0]
    assert empties, "with q=0.001 some of 200 draws are empty"
    assert s.chunks(empties[0]).shape == (0, 4)


def _units(rng, images, most):
    """Record indices of `images` images holding 1..most persons each, records interleaved."""
    sizes = rng.integers(1, most + 1, images)
    names = rng.permutation(np.repeat(np.arange(images), sizes))
    return group_by_image(names.astype(str), cap=most), names


def test_images_are_drawn_whole_and_never_straddle_a_replica_slice():
    rng = np.random.default_rng(0)
    units, names = _units(rng, 400, 4)
    s = PoissonSampler(400, 30, physical_batch_size=16, entropy=2, units=units, replicas=2)
    for t in range(40):
        chunks, groups = s.layout(t)
        drawn = np.sort(np.concatenate([units[u] for u in s.indices(t)]))
        np.testing.assert_array_equal(np.sort(chunks[chunks != PAD_INDEX]), drawn)
        for chunk, group in zip(chunks, groups):
            for part, tags in zip(chunk.reshape(2, 8), group.reshape(2, 8)):
                real = part != PAD_INDEX
                assert np.all((tags == PAD_INDEX) == ~real)
                for g in np.unique(tags[real]):  # a group is one whole image, starting at g
                    members = part[tags == g]
                    assert part[g] == members[0] and len(set(names[members])) == 1
                    assert len(members) == int((names == names[members[0]]).sum())


def test_single_person_images_give_todays_chunks():
    units = group_by_image(np.arange(500).astype(str), cap=8)
    a = PoissonSampler(500, 37, physical_batch_size=8, entropy=1, units=units)
    b = PoissonSampler(500, 37, physical_batch_size=8, entropy=1)
    for t in range(20):
        np.testing.assert_array_equal(a.chunks(t), b.chunks(t))
        real = a.chunks(t) != PAD_INDEX
        assert np.all(a.layout(t)[1][real] == np.tile(np.arange(8), (len(real), 1))[real])


def test_persons_beyond_a_slice_are_left_out_of_their_image():
    units = group_by_image(np.array(["crowd"] * 7 + ["solo"]), cap=4)
    assert [u.tolist() for u in units] == [[0, 1, 2, 3], [7]]
