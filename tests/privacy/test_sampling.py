import numpy as np

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
