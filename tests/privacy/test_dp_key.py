import os
import stat

import pytest

from tfpose_dp.privacy.dp_key import DPKey, DPKeyError


def test_fresh_keys_differ_and_public_seed_keys_repeat():
    assert DPKey.generate().noise_key() != DPKey.generate().noise_key()
    assert DPKey.generate().sampling_entropy() != DPKey.generate().sampling_entropy()
    a, b = DPKey.from_public_seed(3), DPKey.from_public_seed(3)
    assert a.public and not DPKey.generate().public
    assert a.noise_key() == b.noise_key() and a.sampling_entropy() == b.sampling_entropy()
    assert a.noise_key() != DPKey.from_public_seed(4).noise_key()


def test_streams_are_separate_derivations_of_the_key():
    key = DPKey.generate()
    words = key.noise_key()
    assert len(words) == 2 and all(-(2**63) <= w < 2**63 for w in words)
    entropy = key.sampling_entropy()
    assert len(entropy) == 8 and all(0 <= w < 2**32 for w in entropy)
    assert key.fingerprint() not in key._secret.hex()


def test_saved_file_is_owner_only_and_round_trips(tmp_path):
    key = DPKey.generate()
    path = tmp_path / "private" / "dp_key"
    key.save(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert DPKey.load(str(path)).noise_key() == key.noise_key()
    with pytest.raises(FileExistsError):  # never overwrites a run's key
        DPKey.generate().save(str(path))


def test_words_round_trip_for_the_worker_broadcast():
    key = DPKey.generate()
    words = key.to_words()
    assert all(0 <= w < 2**16 for w in words) and len(words) == 16
    assert DPKey.from_words([float(w) for w in words]).noise_key() == key.noise_key()


def test_missing_or_corrupt_key_file_is_a_clear_error(tmp_path):
    with pytest.raises(DPKeyError, match="is missing"):
        DPKey.load(str(tmp_path / "nope"))
    (tmp_path / "bad").write_text("zz")
    with pytest.raises(DPKeyError, match="not a DP key"):
        DPKey.load(str(tmp_path / "bad"))


def test_repr_does_not_show_the_secret():
    key = DPKey.generate()
    assert key._secret.hex() not in repr(key)
