"""Training configuration (filled from absl flags by `tfpose_dp.train`), validated up front
so that bad values fail before anything is written to --model_dir."""
import dataclasses
import os
from typing import Optional, Tuple

from tfpose_dp.data.annotations import TFDS_PREFIX
from tfpose_dp.training.distribution import STRATEGIES
from tfpose_dp.models.norms import NORM_CHOICES
from tfpose_dp.models.pose_model import TRAINABLE_CHOICES
from tfpose_dp.models.tinyvit import VARIANTS
from tfpose_dp.privacy.accounting import ACCOUNTANTS
from tfpose_dp.privacy.optimizer import OPTIMIZERS


class ConfigError(ValueError):
    """A flag value that cannot work; the message names the flag and what to do."""


@dataclasses.dataclass
class TrainConfig:
    model_dir: str
    model: str = "tiny_vit_5m"
    input_size: Tuple[int, int] = (256, 192)
    norm: str = "auto"
    split_ratio: float = 2.0
    maps_per_joint: int = 1
    simcc_sigma: float = 0.0  # label std in bins; 0: scaled from mmpose's 256x192 setting
    trainable: str = "all"
    init_checkpoint: Optional[str] = None
    data_dir: Optional[str] = None
    synthetic_train: int = 4000
    synthetic_val: int = 400
    synthetic_root: Optional[str] = None
    synthetic_domain: str = "public"
    synthetic_seed: int = 0
    init_from: Optional[str] = None  # another run's MODEL_DIR: start from its whole pose model
    seed: int = 0
    epochs: float = 25.0
    batch_size: int = 32
    physical_batch_size: int = 0  # 0: automatic
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    optimizer: str = "adam"
    temperature: float = 1.0
    ema_decay: float = 0.0  # 0: off
    augment: bool = True
    half_body_prob: float = 0.0
    nonprivate: bool = False
    epsilon: float = 1.0
    delta: Optional[float] = None
    l2_norm_clip: float = 1.0
    accountant: str = "pld"
    projection: str = "none"
    projection_dim: int = 100
    public_examples: int = 100
    public_source: str = "holdout"
    public_annotations: Optional[str] = None
    basis_refresh_steps: int = 100
    projection_start_epoch: float = 0.0
    max_basis_gb: float = 6.0
    pdp_diagnostics: bool = False  # NON-PRIVATE: clean-gradient energy in the subspace, private/ only
    log_every: int = 10
    checkpoint_minutes: float = 10.0
    eval_batch_size: int = 64
    max_steps: int = 0  # 0: no cap (a cap stops early; eps covers only steps taken)
    strategy: str = "default"
    cpu_replicas: int = 1
    reproducible_noise: bool = False  # noise and sampling from --seed: NO DP guarantee
    print_private_diagnostics: bool = False

    def effective_physical_batch_size(self, replicas=1):
        """Slots per chunk (all replicas together)."""
        if self.physical_batch_size:
            return self.physical_batch_size
        # Poisson batches vary in size: chunks of ~B/4 waste at most one part-filled chunk.
        size = max(8, min(64, -(-self.batch_size // 4)))
        return -(-size // replicas) * replicas


def _choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"--{name}={value!r} is not one of {sorted(choices)}")


def validate(cfg):
    """Raises ConfigError for a configuration that cannot run."""
    if not cfg.model_dir:
        raise ConfigError("--model_dir is required: where checkpoints and TensorBoard logs go")
    _choice("model", cfg.model, VARIANTS)
    _choice("norm", cfg.norm, NORM_CHOICES + ("auto",))
    _choice("trainable", cfg.trainable, TRAINABLE_CHOICES)
    _choice("optimizer", cfg.optimizer, OPTIMIZERS)
    _choice("accountant", cfg.accountant, ACCOUNTANTS)
    _choice("projection", cfg.projection, ("none", "pdp"))
    _choice("lr_schedule", cfg.lr_schedule, ("constant", "cosine"))
    _choice("public_source", cfg.public_source, ("holdout", "file"))
    if len(cfg.input_size) != 2 or min(cfg.input_size) < 32:
        raise ConfigError(f"--input_size={cfg.input_size} must be H,W with both >= 32, e.g. 256,192")
    if cfg.data_dir and not cfg.data_dir.startswith(TFDS_PREFIX) and not os.path.isdir(cfg.data_dir):
        raise ConfigError(f"--data_dir={cfg.data_dir} does not exist (leave it unset for the built-in data)")
    if cfg.init_checkpoint and not os.path.exists(cfg.init_checkpoint):
        raise ConfigError(f"--init_checkpoint={cfg.init_checkpoint} does not exist")
    if cfg.init_from and cfg.init_checkpoint:
        raise ConfigError("give --init_from (a whole pose model) or --init_checkpoint (a backbone), not both")
    if cfg.init_from and not os.path.exists(cfg.init_from):
        raise ConfigError(f"--init_from={cfg.init_from} does not exist (a training --model_dir or ckpt-* folder)")
    _choice("synthetic_domain", cfg.synthetic_domain, ("public", "private"))
    for name in ("epochs", "learning_rate", "l2_norm_clip", "split_ratio", "temperature"):
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"--{name}={getattr(cfg, name)} must be > 0")
    for name in ("batch_size", "log_every", "eval_batch_size", "projection_dim", "public_examples",
                 "basis_refresh_steps"):
        if not getattr(cfg, name) >= 1:
            raise ConfigError(f"--{name}={getattr(cfg, name)} must be >= 1")
    if not 0.0 <= cfg.ema_decay < 1.0:
        raise ConfigError(f"--ema_decay={cfg.ema_decay} must be in [0, 1) (0 turns averaging off)")
    _choice("strategy", cfg.strategy, STRATEGIES)
    if cfg.cpu_replicas < 1:
        raise ConfigError(f"--cpu_replicas={cfg.cpu_replicas} must be >= 1")
    if not 0.0 <= cfg.half_body_prob <= 1.0:
        raise ConfigError(f"--half_body_prob={cfg.half_body_prob} must be a probability in [0, 1]")
    if not cfg.nonprivate and not cfg.epsilon > 0:
        raise ConfigError(f"--epsilon={cfg.epsilon} must be > 0 (smaller is more private); "
                          "use --nonprivate for the non-private baseline")
    if cfg.nonprivate and cfg.projection != "none":
        raise ConfigError("--projection=pdp projects DP noise; it has no meaning with --nonprivate")
