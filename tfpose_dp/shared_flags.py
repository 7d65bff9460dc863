"""Flags shared by the apps (train, evaluate, export, predict): model and data."""
from absl import flags

from tfpose_dp.models.norms import NORM_CHOICES
from tfpose_dp.models.tinyvit import VARIANTS

flags.DEFINE_enum("model", "tiny_vit_5m", sorted(VARIANTS), "TinyViT backbone variant.")
flags.DEFINE_list("input_size", ["256", "192"], "Crop size H,W (the paper: 256,192).")
flags.DEFINE_enum("norm", "auto", NORM_CHOICES + ("auto",),
                  "frozen_bn: BatchNorm with frozen statistics (pretrained-compatible); "
                  "group: GroupNorm (per-example, for training from scratch); "
                  "auto: frozen_bn with --init_checkpoint, group without.")
flags.DEFINE_float("split_ratio", 2.0, "SimCC bins per pixel.")
flags.DEFINE_integer("maps_per_joint", 1, "SimCC head: feature maps per joint (1 = mmpose's "
                     "SimCCHead; more helps small inputs whose last-stage map is tiny).")
flags.DEFINE_string("data_dir", None, "MPII folder (images/ + annotations/*.json), or tfds:[TFDS data "
                    "dir] for the tfds_mpii build. Unset: the built-in synthetic people.")
flags.DEFINE_integer("synthetic_train", 4000, "Synthetic training persons (when no --data_dir).")
flags.DEFINE_integer("synthetic_val", 400, "Synthetic validation persons (when no --data_dir).")
flags.DEFINE_enum("synthetic_domain", "public", ["public", "private"],
                  "Built-in data: public = front-facing standing people over bright clutter; private = "
                  "the same bodies as a clinic camera sees them (side/back views, seated, lying under "
                  "blankets, low contrast, noise): the domain a public model is fine-tuned on.")
flags.DEFINE_integer("synthetic_seed", 0, "Which synthetic people (the data; --seed varies the "
                     "training randomness over the same data).")
flags.DEFINE_string("synthetic_root", None, "Where the synthetic set is written once "
                    "(default ~/.cache/tfpose_dp).")
flags.DEFINE_integer("seed", 0, "Seed of the public randomness: initialisation, augmentation, the PDP "
                     "holdout (DP noise and sampling come from a secret key, see --reproducible_noise).")

FLAGS = flags.FLAGS


def input_size():
    try:
        size = tuple(int(v) for v in FLAGS.input_size)
    except ValueError as e:
        raise flags.ValidationError(f"--input_size={FLAGS.input_size} must be two integers H,W") from e
    if len(size) != 2:
        raise flags.ValidationError(f"--input_size={FLAGS.input_size} must be two integers H,W")
    return size
