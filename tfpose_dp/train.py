"""Train a pose model with differential privacy (DP-SGD or PDP-SGD) or, labelled, without.

  python -m tfpose_dp.train --flagfile=flags/quickstart.cfg --model_dir=/tmp/run1
  python -m tfpose_dp.train --epsilon=0.2 --projection=pdp

Running again on a --model_dir holding a checkpoint resumes it (weights, optimizer,
privacy ledger, sampler and noise step), with the same or a different number of replicas.

  python -m tfpose_dp.train --strategy=mirrored ...                 # every local GPU
  TF_CONFIG='{...}' python -m tfpose_dp.train --strategy=multi_worker ...   # one per machine
"""
import sys

from absl import app, flags, logging

from tfpose_dp import shared_flags
from tfpose_dp.data.annotations import AnnotationError
from tfpose_dp.privacy.accounting import ACCOUNTANTS, PrivacyConfigError
from tfpose_dp.privacy.optimizer import OPTIMIZERS
from tfpose_dp.training.config import ConfigError, TrainConfig
from tfpose_dp.training.datasets import SplitOverlapError

flags.DEFINE_string("model_dir", "/tmp/tfpose_dp_run", "Checkpoints, TensorBoard logs, final metrics.")
flags.DEFINE_float("epsilon", 1.0, "Target epsilon of the whole run.")
flags.DEFINE_float("delta", None, "Target delta; default 1/(10 N). Must be < 1/N.")
flags.DEFINE_enum("accountant", "pld", ACCOUNTANTS, "Accountant for calibration and reporting.")
flags.DEFINE_enum("projection", "none", ["none", "pdp"], "pdp: PDP-SGD projection of the noisy gradient.")
flags.DEFINE_float("l2_norm_clip", 1.0, "Per-example gradient clipping norm C.")
flags.DEFINE_integer("batch_size", 32, "Expected (Poisson) logical batch size B; q = B/N.")
flags.DEFINE_integer("physical_batch_size", 0, "Examples per compiled chunk; 0 = automatic (~B/4).")
flags.DEFINE_float("epochs", 25.0, "Training length in epochs (N/B steps each).")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy: one device, every local GPU (or --cpu_replicas), or the "
                  "workers of TF_CONFIG. Privacy does not depend on it.")
flags.DEFINE_integer("cpu_replicas", 1, "Split the CPU into this many logical devices (to run "
                     "--strategy=mirrored without GPUs, e.g. for tests).")
flags.DEFINE_integer("max_steps", 0, "Stop after this many steps (0 = no cap); eps counts steps taken.")
flags.DEFINE_float("learning_rate", 1e-3, "Learning rate.")
flags.DEFINE_enum("lr_schedule", "constant", ["constant", "cosine"],
                  "cosine: decay to 1% of --learning_rate over the planned steps.")
flags.DEFINE_enum("optimizer", "adam", sorted(OPTIMIZERS), "adam (the paper) or sgd (momentum 0.9).")
flags.DEFINE_float("temperature", 1.0, "SimCC softmax temperature in the KL loss.")
flags.DEFINE_float("ema_decay", 0.0, "Evaluate with an exponential moving average of the weights "
                   "(post-processing, free in privacy); 0 turns it off.")
flags.DEFINE_bool("augment", True, "Training augmentation (scale, rotation, flip, colour).")
flags.DEFINE_float("half_body_prob", 0.0, "Probability of a half-body crop (upper or lower body, "
                   "persons with > 8 visible joints); HRNet/mmpose leave it off for MPII.")
flags.DEFINE_bool("nonprivate", False, "Plain training: the NON-PRIVATE baseline (no DP guarantee).")
flags.DEFINE_enum("trainable", "all", ["all", "last_stage"],
                  "last_stage: final stage + norm layers + head (the paper's fine-tuning).")
flags.DEFINE_string("init_checkpoint", None, "Backbone weights (.weights.h5 from tools/convert_tinyvit.py).")
flags.DEFINE_string("init_from", None, "Start from another run's whole pose model (backbone and head): "
                    "its --model_dir, a ckpt-* folder or a preset folder. Use a model trained on "
                    "public data only (e.g. flags/public_pretrain.cfg): the guarantee does not cover it.")
flags.DEFINE_integer("projection_dim", 100, "PDP: subspace dimension k.")
flags.DEFINE_integer("public_examples", 100, "PDP: number m of public examples.")
flags.DEFINE_enum("public_source", "holdout", ["holdout", "file"],
                  "PDP: hold m examples out of the training split, or read --public_annotations.")
flags.DEFINE_string("public_annotations", None, "PDP: annotation JSON of public persons.")
flags.DEFINE_integer("basis_refresh_steps", 100, "PDP: recompute the subspace every s steps "
                     "(100: ~8% amortised overhead at batch 16, m=100; see README).")
flags.DEFINE_float("projection_start_epoch", 0.0, "PDP: epoch at which projection starts.")
flags.DEFINE_float("simcc_sigma", 0.0, "SimCC label std in bins (0: mmpose's 256x192 value "
                   "scaled to --input_size).")
flags.DEFINE_float("max_basis_gb", 6.0, "PDP: refuse a basis + public gradients larger than this.")
flags.DEFINE_bool("pdp_diagnostics", False, "PDP: log the share of the clean clipped private gradient's "
                  "energy inside the public subspace, the share of the noise's, and both signal-to-"
                  "noise ratios. NON-PRIVATE (reads private gradients without DP): written under "
                  "MODEL_DIR/private/ only.")
flags.DEFINE_float("checkpoint_minutes", 10.0,
                   "Also checkpoint when this long has passed since the last checkpoint.")
flags.DEFINE_integer("log_every", 10, "Steps between progress lines and privacy summaries.")
flags.DEFINE_bool("reproducible_noise", False, "Derive the DP noise and Poisson sampling from --seed "
                  "instead of a secret key from the OS: reproducible, for tests and debugging, and "
                  "WITHOUT a DP guarantee (every output says so).")
flags.DEFINE_bool("print_private_diagnostics", False, "Also print the loss, clip fraction and "
                  "examples/s of private batches (not DP) to the log; they are always written to "
                  "MODEL_DIR/private/.")

FLAGS = flags.FLAGS


def config_from_flags():
    return TrainConfig(
        model_dir=FLAGS.model_dir, model=FLAGS.model, input_size=shared_flags.input_size(),
        norm=FLAGS.norm, split_ratio=FLAGS.split_ratio, maps_per_joint=FLAGS.maps_per_joint, trainable=FLAGS.trainable,
        init_checkpoint=FLAGS.init_checkpoint, data_dir=FLAGS.data_dir,
        synthetic_train=FLAGS.synthetic_train, synthetic_val=FLAGS.synthetic_val,
        synthetic_root=FLAGS.synthetic_root, synthetic_domain=FLAGS.synthetic_domain,
        synthetic_seed=FLAGS.synthetic_seed,
        init_from=FLAGS.init_from, seed=FLAGS.seed,
        epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, physical_batch_size=FLAGS.physical_batch_size,
        learning_rate=FLAGS.learning_rate, lr_schedule=FLAGS.lr_schedule, optimizer=FLAGS.optimizer,
        temperature=FLAGS.temperature, simcc_sigma=FLAGS.simcc_sigma, ema_decay=FLAGS.ema_decay,
        augment=FLAGS.augment, half_body_prob=FLAGS.half_body_prob, nonprivate=FLAGS.nonprivate, epsilon=FLAGS.epsilon, delta=FLAGS.delta,
        l2_norm_clip=FLAGS.l2_norm_clip, accountant=FLAGS.accountant, projection=FLAGS.projection,
        projection_dim=FLAGS.projection_dim, public_examples=FLAGS.public_examples,
        public_source=FLAGS.public_source, public_annotations=FLAGS.public_annotations,
        basis_refresh_steps=FLAGS.basis_refresh_steps,
        projection_start_epoch=FLAGS.projection_start_epoch, max_basis_gb=FLAGS.max_basis_gb,
        pdp_diagnostics=FLAGS.pdp_diagnostics,
        log_every=FLAGS.log_every, checkpoint_minutes=FLAGS.checkpoint_minutes,
        max_steps=FLAGS.max_steps, strategy=FLAGS.strategy, cpu_replicas=FLAGS.cpu_replicas,
        reproducible_noise=FLAGS.reproducible_noise,
        print_private_diagnostics=FLAGS.print_private_diagnostics)


def main(argv):
    del argv
    from tfpose_dp.training.stop_request import Interrupted, StopRequest
    stop = StopRequest().install()  # SIGTERM / Ctrl-C: finish the step, checkpoint, exit
    from tfpose_dp.training import trainer  # heavy imports after flag parsing
    from tfpose_dp.training.distribution import DistributionError, split_cpu
    from tfpose_dp.training.restore_model import CheckpointNotFound, IncompatibleModel
    from tfpose_dp.privacy.dp_key import DPKeyError
    try:
        split_cpu(FLAGS.cpu_replicas)  # before anything starts TensorFlow's runtime
        final = trainer.run(config_from_flags(), stop)
    except Interrupted as e:
        logging.warning("%s", e)
        print(f"interrupted: {e}", file=sys.stderr)
        sys.exit(128 + e.signum)
    except (ConfigError, PrivacyConfigError, AnnotationError, SplitOverlapError,
            flags.ValidationError, trainer.TrainingError, DistributionError, CheckpointNotFound,
            IncompatibleModel, DPKeyError) as e:
        logging.error("%s", e)
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if not final.get("chief", True):
        logging.info("Done (worker, not the chief): %d steps", final["steps"])
    elif final["private"] and not final["dp_guarantee"]:
        logging.warning("Done: %d steps, val PCKh@0.5 %.2f. NO DP GUARANTEE: --reproducible_noise "
                        "derived the noise from the public seed", final["steps"], final["pckh@0.5"])
    elif final["private"]:
        logging.info("Done: %d steps, (%.4f, %.3g)-DP (target eps %g), val PCKh@0.5 %.2f",
                     final["steps"], final["epsilon"], final["delta"], final["epsilon_target"],
                     final["pckh@0.5"])
    else:
        logging.info("Done (NON-PRIVATE baseline): %d steps, val PCKh@0.5 %.2f",
                     final["steps"], final["pckh@0.5"])


if __name__ == "__main__":
    app.run(main)
