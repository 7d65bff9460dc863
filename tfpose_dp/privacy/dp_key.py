"""The run's secret DP key: the only source of the randomness that protects privacy.

Gaussian noise and Poisson batch membership must be unpredictable to an attacker who has the
code, the flags and `--seed`. So a new run draws 256 bits from the OS CSPRNG (`secrets`) and
derives both streams from them (stateless in the step, so a resumed run continues the same
sequence); `--seed` keeps everything public (initialisation, augmentation, synthetic data, the
public holdout). The key lives only in `MODEL_DIR/private/dp_key` (mode 0600); logs show a
fingerprint (a hash that reveals nothing of it).

A run rewound to an earlier checkpoint (or restarted after a crash) would re-release steps it
already released; with the same noise, the difference of the two trajectories cancels it. So
the noise and sampling streams also depend on a *generation*, raised on every such restart
(training/release_record.py): the re-run steps get fresh noise and are charged again. Each
start also mixes a fresh nonce from the OS into the streams, so copies of a MODEL_DIR never
share noise.

`DPKey.from_public_seed(seed)` derives the key from a public seed instead: reproducible runs for
tests and debugging, which carry **no** DP guarantee (`key.public` says so).

>>> a, b = DPKey.from_public_seed(0), DPKey.from_public_seed(0)
>>> a.noise_key() == b.noise_key() and a.public
True
>>> DPKey.generate().noise_key() != DPKey.generate().noise_key()
True
>>> b = a.with_generation(1)
>>> b.noise_key() != a.noise_key() and (b.audit_coins(8) == a.audit_coins(8)).all()
True
>>> c = a.with_nonce(bytes(16)), a.with_nonce(bytes(15) + b"1")
>>> c[0].noise_key() != c[1].noise_key() and (c[0].audit_coins(8) == a.audit_coins(8)).all()
True
"""

import hashlib
import os
import secrets
import struct

import numpy as np

KEY_BYTES = 32
_WORD_BITS = 16  # the key travels between workers as 16-bit words (exact in float32)


class DPKeyError(RuntimeError):
    """The run's key file is missing or unreadable; the message says what to do."""


class DPKey:
    """256 secret bits and the streams derived from them."""

    def __init__(self, secret, public=False, generation=0, nonce=b""):
        if len(secret) != KEY_BYTES:
            raise ValueError(f"a DP key has {KEY_BYTES} bytes, got {len(secret)}")
        self._secret = bytes(secret)
        self.public = bool(public)
        self.generation = int(generation)
        self.nonce = bytes(nonce)

    def with_generation(self, generation):
        """The same key with fresh noise and sampling streams (audit coins unchanged: the
        private set must not change on resume)."""
        return DPKey(self._secret, self.public, generation, self.nonce)

    def with_nonce(self, nonce):
        """The same key with the streams of one start (`nonce`: fresh bytes from the OS per
        start, so two starts of one MODEL_DIR, or of two copies of it, never share noise)."""
        return DPKey(self._secret, self.public, self.generation, nonce)

    @classmethod
    def generate(cls):
        """A fresh key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_public_seed(cls, seed):
        """A key anyone can recompute from `seed`: reproducible, NOT private."""
        return cls(
            hashlib.sha256(f"tfpose_dp public seed {int(seed)}".encode()).digest(), public=True
        )

    def _derive(self, purpose):
        return hashlib.sha256(self._secret + purpose.encode()).digest()

    def _stream(self, purpose):
        """A per-step stream: generation 0 without a nonce keeps the original derivation."""
        if self.generation:
            purpose += f" generation {self.generation}"
        if self.nonce:
            purpose += f" start {self.nonce.hex()}"
        return self._derive(purpose)

    def noise_key(self):
        """Two int64 words: the stateless RNG key of the Gaussian noise (privacy/noise.py)."""
        return list(struct.unpack("<qq", self._stream("gaussian noise")[:16]))

    def sampling_entropy(self):
        """Eight uint32 words seeding the Poisson draw of every step (privacy/sampling.py)."""
        return list(struct.unpack("<8I", self._stream("poisson sampling")))

    def audit_coins(self, count):
        """`count` secret fair coins (0/1): which audit canaries join the training set."""
        entropy = list(struct.unpack("<8I", self._derive("audit canary coins")))
        return np.random.default_rng(entropy).integers(0, 2, count)

    def fingerprint(self):
        """A short hash to tell keys apart in logs; reveals nothing about the key."""
        return ("public-seed:" if self.public else "") + self._derive("fingerprint")[:6].hex()

    def to_words(self):
        """The key as 16 integers < 2**16, for a broadcast between workers."""
        return list(struct.unpack(f"<{KEY_BYTES // 2}H", self._secret))

    @classmethod
    def from_words(cls, words, public=False):
        return cls(bytes_from_words(words), public)

    def nonce_words(self, size):
        """The nonce as `size` // 2 integers < 2**16 (zero bytes without one)."""
        padded = self.nonce.ljust(size, b"\0")
        return list(struct.unpack(f"<{size // 2}H", padded))

    def save(self, path):
        """Writes the key to a new file readable by the owner only (mode 0600)."""
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self._secret.hex() + "\n")

    @classmethod
    def load(cls, path):
        try:
            with open(path) as f:
                return cls(bytes.fromhex(f.read().strip()))
        except FileNotFoundError as e:
            raise DPKeyError(
                f"{path} is missing: this run's checkpoints need the secret key they were trained "
                "with to continue the same noise and sampling. Restore the file, or train in a new "
                "--model_dir (a resumed run with a new key would not match its privacy ledger)"
            ) from e
        except ValueError as e:
            raise DPKeyError(f"{path} is not a DP key file ({e}); restore it from a backup") from e

    def __repr__(self):  # never print the secret
        return f"DPKey({self.fingerprint()}, generation {self.generation})"


def bytes_from_words(words):
    """The bytes `DPKey.to_words` / `nonce_words` sent as 16-bit integers."""
    return struct.pack(f"<{len(words)}H", *[int(round(w)) for w in words])
