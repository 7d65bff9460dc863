"""The configuration of a run: one typed, nested object.

It is built from the flags in one place (`config_flags.py` defines one flag per field, named
after it), saved whole with every checkpoint as the run's manifest and read back whole by
everything that restores a run. Adding a setting is one field here: its flag, its place in
the manifest and, with `fixed=True`, the refusal to change it on resume follow from it.

Only plain values live here (no TensorFlow), so serving code can read a manifest cheaply.
"""

import dataclasses
from typing import Optional, Tuple

from tfpose_dp.config_setting import setting
from tfpose_dp.public_data_config import PdpConfig

# Choices that other layers own; tests/test_run_config.py checks they agree with them.
MODEL_VARIANTS = ("tiny_vit_5m", "tiny_vit_11m", "tiny_vit_21m", "tiny_vit_micro")
NORMS = ("auto", "frozen_bn", "group")
TRAINABLE = ("all", "last_stage", "norms_bias_head", "head")
OPTIMIZERS = ("adam", "sgd")
ACCOUNTANTS = ("pld", "rdp")
STRATEGIES = ("default", "mirrored", "multi_worker")
DOMAINS = ("public", "private")
KEYPOINT_SETS = ("auto", "mpii16", "coco17", "from_data")
DATA_FORMATS = ("mpii", "coco")
# The settings that fix a model's weights' shapes: a start model (--init_from) must share them.
MODEL_SHAPE_FIELDS = ("model", "input_size", "norm", "split_ratio", "maps_per_joint")


@dataclasses.dataclass
class ModelConfig:
    model: str = setting("tiny_vit_5m", "TinyViT backbone variant.", MODEL_VARIANTS, fixed=True)
    input_size: Tuple[int, int] = setting(
        (128, 96), "Crop size H,W (the shipped presets': 128,96; the paper: 256,192).", fixed=True
    )
    norm: str = setting(
        "auto",
        "frozen_bn: BatchNorm with frozen statistics (pretrained-compatible); "
        "group: GroupNorm (per example, from scratch); auto: the --init_from model's, "
        "frozen_bn with --init_checkpoint, group otherwise.",
        NORMS,
        fixed=True,
    )
    keypoints: str = setting(
        "auto",
        "The joints the model predicts: mpii16 (MPII's 16; trains on COCO's 17 too, mapped), "
        "coco17 (COCO's 17), or from_data (a COCO-format file's own joints, any names and "
        "order: categories[0].keypoints); auto: the --init_from model's if it reads the data, "
        "from_data for a COCO-format file that is not COCO's 17, else mpii16.",
        KEYPOINT_SETS,
        fixed=True,
    )
    flip_pairs: str = setting(
        "",
        "--keypoints=from_data: the left/right joint pairs a horizontal flip swaps, as "
        "name:name,... (default: from the names' left_/right_, l_/r_, L/R sides).",
    )
    oks_sigmas: str = setting(
        "",
        "--keypoints=from_data: OKS sigmas as name=value,... (default: COCO's for COCO's joint "
        "names, 0.079 for the others).",
    )
    skeleton: Optional[dict] = setting(
        None,
        "The data's skeleton with --keypoints=from_data (names, flip pairs, limbs, sigmas), "
        "filled in as the run starts.",
        fixed=True,
        flag=False,
    )
    split_ratio: float = setting(2.0, "SimCC bins per pixel.", fixed=True, above=0)
    maps_per_joint: int = setting(
        1,
        "SimCC head: feature maps per joint (1 = mmpose's SimCCHead; "
        "more helps small inputs whose last-stage map is tiny).",
        fixed=True,
        at_least=1,
    )
    simcc_sigma: float = setting(
        0.0,
        "SimCC label std in bins (0: mmpose's 256x192 value scaled to --input_size).",
        at_least=0,
    )
    trainable: str = setting(
        "all",
        "last_stage: final stage + norm layers + head (the paper's fine-tuning); "
        "norms_bias_head: norm layers, biases and head (DP-BiTFiT); head: the head alone.",
        TRAINABLE,
        fixed=True,
    )
    init_checkpoint: Optional[str] = setting(
        None, "Backbone weights (.weights.h5 from tools/convert_tinyvit.py); the head starts fresh."
    )
    init_from: Optional[str] = setting(
        "auto",
        "Start from another run's whole pose model (backbone and head): its --model_dir, a "
        "ckpt-* folder or preset:NAME (tfpose_dp/presets/*), trained on public data only (the "
        "guarantee does not cover it). auto: preset:public_5m when the run keeps the default "
        "model settings, else random weights; none: random weights.",
        fixed=True,
    )


@dataclasses.dataclass
class DataConfig:
    data_dir: Optional[str] = setting(
        None,
        "MPII folder (images/ + annotations/*.json), or tfds:[TFDS data dir] for the tfds_mpii "
        "build. Unset: the built-in synthetic people.",
        fixed=True,
    )
    data_format: str = setting(
        "mpii",
        "Annotations of --data_dir: mpii (HRNet/mmpose JSON) or coco (COCO keypoints JSON: "
        "annotations/person_keypoints_{train,val}2017.json, images in {train,val}2017/).",
        DATA_FORMATS,
        fixed=True,
    )
    train_annotations: Optional[str] = setting(
        None,
        "Training annotation file (COCO keypoints JSON, e.g. a CVAT or Label Studio export, or "
        "MPII's HRNet JSON: told from its content), instead of --data_dir; with "
        "--val_annotations and --image_dir.",
        fixed=True,
    )
    val_annotations: Optional[str] = setting(
        None, "Validation annotation file (other images than --train_annotations)."
    )
    image_dir: Optional[str] = setting(
        None,
        "Image folder of --train_annotations/--val_annotations (default: COCO's "
        "../train2017, ../val2017 or ../images beside an annotations/ folder, else the file's "
        "folder).",
        fixed=True,
    )
    synthetic_train: int = setting(
        16000, "Synthetic training persons (when no --data_dir).", fixed=True, at_least=1
    )
    synthetic_val: int = setting(
        400, "Synthetic validation persons (when no --data_dir).", at_least=1
    )
    synthetic_seed: int = setting(
        0,
        "Which synthetic people (the data; --seed varies the training "
        "randomness over the same data).",
        fixed=True,
    )
    synthetic_domain: str = setting(
        "private",
        "Built-in data: public = front-facing standing people over bright clutter; "
        "private = the same bodies as a clinic camera sees them (side/back views, seated, lying "
        "under "
        "blankets, low contrast, noise): the domain a public model is fine-tuned on.",
        DOMAINS,
        fixed=True,
    )
    synthetic_root: Optional[str] = setting(
        None, "Where the synthetic set is written once (default ~/.cache/tfpose_dp)."
    )
    audit_canaries: int = setting(
        0,
        "Privacy audit (python -m tfpose_dp.audit): add this many canaries (synthetic persons "
        "with random joint labels), each joining the private set with probability 1/2 by a secret "
        "coin. Included canaries are ordinary private records (N counts them).",
        fixed=True,
        at_least=0,
    )
    privacy_unit: str = setting(
        "image",
        "The unit of privacy: image (one image with every person in it), or an annotation "
        "field naming a larger unit, e.g. patient_id or video_id (COCO: the annotation's field, "
        "else its image's; MPII JSON: the record's): all images with the same value are one "
        "unit, sampled together and clipped together to C; N counts units. The built-in "
        "people carry patient_id (4 consecutive images per patient).",
        fixed=True,
    )
    augment: bool = setting(
        False, "Training augmentation (scale, rotation, flip, colour); off wins under DP."
    )

    def annotation_files(self):
        """(train file, val file, image folder) of --train_annotations, or None."""
        if not self.train_annotations:
            return None
        return self.train_annotations, self.val_annotations, self.image_dir

    def own_data(self):
        """Whether the run reads the user's data (a folder or files), not the built-in people."""
        return bool(self.data_dir or self.train_annotations)

    half_body_prob: float = setting(
        0.0,
        "Probability of a half-body crop (upper or lower body, "
        "persons with > 8 visible joints); HRNet/mmpose leave it off for MPII.",
        at_least=0,
    )


@dataclasses.dataclass
class OptimConfig:
    epochs: float = setting(2.0, "Training length in epochs (N/B steps each).", above=0)
    batch_size: int = setting(
        128,
        "Expected (Poisson) logical batch size B, in images (with all their persons; persons "
        "for --nonprivate); q = B/N.",
        fixed=True,
        at_least=1,
    )
    physical_batch_size: int = setting(
        0,
        "Person crops per compiled chunk; 0 = automatic (~B/4). An image keeps at most one "
        "replica's share of them (its first persons).",
        at_least=0,
    )
    learning_rate: Optional[float] = setting(
        None, "Learning rate (default: 3e-4 for PDP/GEP from a start model, else 1e-3).", above=0
    )
    lr_schedule: str = setting(
        "constant",
        "cosine: decay to 1% of --learning_rate over the planned steps.",
        ("constant", "cosine"),
    )
    optimizer: str = setting("adam", "adam or sgd (momentum 0.9).", OPTIMIZERS, fixed=True)
    temperature: float = setting(1.0, "SimCC softmax temperature in the KL loss.", above=0)
    ema_decay: float = setting(
        0.0,
        "Evaluate with an exponential moving average of the weights "
        "(post-processing, free in privacy); 0 turns it off.",
        fixed=True,
        at_least=0,
    )
    max_steps: int = setting(
        0, "Stop after this many steps (0 = no cap); eps counts steps taken.", at_least=0
    )
    seed: int = setting(
        0,
        "Seed of the public randomness: initialisation, augmentation, the PDP "
        "holdout (DP noise and sampling come from a secret key, see "
        "--reproducible_noise).",
        fixed=True,
    )


@dataclasses.dataclass
class PrivacyConfig:
    nonprivate: bool = setting(
        False, "Plain training: the NON-PRIVATE baseline (no DP guarantee).", fixed=True
    )
    epsilon: float = setting(1.0, "Target epsilon of the whole run.", fixed=True)
    delta: Optional[float] = setting(
        None, "Target delta; default 1/(10 N). Must be < 1/N.", fixed=True
    )
    l2_norm_clip: float = setting(1.0, "Per-example gradient clipping norm C.", fixed=True, above=0)
    clipping: str = setting(
        "vmap",
        "How per-example gradients are clipped (same clipped sum, same guarantee): vmap "
        "materialises every example's whole gradient; ghost computes each example's norm "
        "layer by layer (ghost norms for Dense and matmul-form convs) and the clipped sum by "
        "book-keeping. On 2 CPU cores ghost is as fast as vmap and uses more memory (README "
        "'Speed and memory'): measure before choosing it.",
        ("vmap", "ghost"),
    )
    accountant: str = setting(
        "pld", "Accountant for calibration and reporting.", ACCOUNTANTS, fixed=True
    )
    reproducible_noise: bool = setting(
        False,
        "Derive the DP noise and Poisson sampling from --seed instead of a secret key from the "
        "OS: reproducible, for tests and debugging, and WITHOUT a DP guarantee (every output says "
        "so).",
        fixed=True,
    )


@dataclasses.dataclass
class RuntimeConfig:
    model_dir: str = setting(
        "",
        "Checkpoints, TensorBoard logs, final metrics; unset: a new folder runs/<date>-<time> "
        "(printed), so two commands never share one by accident. Give it to resume a run.",
    )
    strategy: str = setting(
        "default",
        "tf.distribute strategy: one device, every local GPU (or "
        "--cpu_replicas), or the workers of TF_CONFIG. Privacy does not depend on "
        "it.",
        STRATEGIES,
    )
    cpu_replicas: int = setting(
        1,
        "Split the CPU into this many logical devices (to run "
        "--strategy=mirrored without GPUs, e.g. for tests).",
        at_least=1,
    )
    log_every: int = setting(10, "Steps between progress lines and privacy summaries.", at_least=1)
    checkpoint_minutes: float = setting(
        10.0, "Also checkpoint when this long has passed since the last checkpoint.", above=0
    )
    eval_batch_size: int = setting(64, "Validation crops per batch.", at_least=1)
    eval_every_epochs: int = setting(
        1,
        "Validate (and checkpoint) every this many epochs; the last step always does. Many "
        "short epochs (a small private set) otherwise spend more time validating than training.",
        at_least=1,
    )
    print_private_diagnostics: bool = setting(
        False,
        "Also print the loss, clip fraction and examples/s of private batches (not DP) to the "
        "log; they are always written to MODEL_DIR/private/.",
    )


SECTIONS = {
    "model": ModelConfig,
    "data": DataConfig,
    "optim": OptimConfig,
    "privacy": PrivacyConfig,
    "pdp": PdpConfig,
    "runtime": RuntimeConfig,
}


@dataclasses.dataclass
class RunConfig:
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    privacy: PrivacyConfig = dataclasses.field(default_factory=PrivacyConfig)
    pdp: PdpConfig = dataclasses.field(default_factory=PdpConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)

    @property
    def method(self):
        """nonprivate, dpsgd or pdp: what the run releases."""
        if self.privacy.nonprivate:
            return "nonprivate"
        return "dpsgd" if self.pdp.projection == "none" else self.pdp.projection

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data):
        """The config saved by `to_json`; fields it lacks (older runs) take their defaults."""
        sections = {}
        for name, section in SECTIONS.items():
            values = dict(data.get(name, {}))
            if "input_size" in values:
                values["input_size"] = tuple(values["input_size"])
            if name == "model":  # runs before --keypoints predicted MPII's 16 joints
                values.setdefault("keypoints", "mpii16")
            known = {f.name for f in dataclasses.fields(section)}
            sections[name] = section(**{k: v for k, v in values.items() if k in known})
        return cls(**sections)

    @classmethod
    def from_flat(cls, values):
        """From {field name: value} (the flags), each field taking its own name."""
        return cls(
            **{
                name: section(
                    **{
                        f.name: values[f.name]
                        for f in dataclasses.fields(section)
                        if f.name in values
                    }
                )
                for name, section in SECTIONS.items()
            }
        )

    def replace(self, **flat):
        """A copy with some fields changed, given by their (unique) names."""
        values = {
            f.name: getattr(getattr(self, name), f.name)
            for name, section in SECTIONS.items()
            for f in dataclasses.fields(section)
        }
        unknown = set(flat) - set(values)
        if unknown:
            raise KeyError(f"no config field {sorted(unknown)}")
        values.update(flat)
        return RunConfig.from_flat(values)


def changed_fixed_fields(saved, now):
    """[(field name, saved value, new value)] of the `fixed` settings (a resumed run must
    repeat them) that differ."""
    out = []
    for section, cls in SECTIONS.items():
        before, after = getattr(saved, section), getattr(now, section)
        for f in dataclasses.fields(cls):
            values = getattr(before, f.name), getattr(after, f.name)
            if f.metadata.get("fixed") and values[0] != values[1]:
                out.append((f.name, *values))
    return out


class ConfigError(ValueError):
    """A setting that cannot work; the message names the flag and what to do."""
