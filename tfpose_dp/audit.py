"""Empirical privacy audit of a trained run, next to its proven epsilon.

  python -m tfpose_dp.train ... --audit_canaries=1000 --model_dir=/tmp/run
  python -m tfpose_dp.audit --checkpoint=/tmp/run

1. One-run canary audit (Steinke, Nasr, Jagielski 2023; privacy/audit_bound.py): every canary
   is scored by minus its loss under the final model (black box); the auditor guesses "in" for
   the highest scores and "out" for the lowest and turns the correct guesses into a 95 %
   lower bound on epsilon. The canaries are not people: this part may be shared, and goes to
   TensorBoard as audit/* beside the privacy statement.
2. Membership inference on the run's own data: loss threshold, members (private training
   persons) vs non-members (the validation persons, same distribution): ROC AUC and TPR at
   0.1 % and 1 % FPR. It reads private data without DP: an analysis for the data owner, kept
   under MODEL_DIR/private/.

Writes MODEL_DIR/private/audit.json (both parts) and --output_json if given; prints the
canary part only (stdout is a log like any other), without the count of included canaries.
"""

import json
import os
import sys

import numpy as np
from absl import app, flags, logging

from tfpose_dp import cli_help, config_flags

flags.DEFINE_string("checkpoint", None, "The audited run's --model_dir.")
flags.DEFINE_string(
    "output_json",
    None,
    "Also write the result here (it includes the "
    "membership inference on private data: keep it private).",
)
flags.DEFINE_list(
    "guess_fractions",
    ["0.05", "0.1", "0.2", "0.5", "1.0"],
    "Guesses as fractions of the canaries (half 'in', half 'out'); the best is "
    "reported, each tested at 5 % / their number (Bonferroni).",
)
flags.DEFINE_integer("members", 2000, "Private training persons scored for the membership attack.")
config_flags.define_flags("runtime", only=("eval_batch_size",))
FLAGS = flags.FLAGS


def canary_audit(model, codec, manifest, key, epsilon):
    """The one-run audit: scores, guesses, the epsilon lower bound, and the canaries' MIA."""
    from tfpose_dp.data.canaries import make_canaries
    from tfpose_dp.eval.membership import attack_summary, per_example_losses
    from tfpose_dp.privacy.audit_bound import best_guesses

    d = manifest.config.data
    canaries = make_canaries(d.audit_canaries, d.synthetic_root, d.synthetic_domain)
    coins = key.audit_coins(d.audit_canaries)
    losses = per_example_losses(model, canaries, codec, FLAGS.eval_batch_size)
    counts = sorted({max(2, int(float(f) * len(losses))) for f in FLAGS.guess_fractions})
    delta = (manifest.plan or {}).get("delta") or 1.0 / (10 * manifest.num_private_examples)
    result = best_guesses(list(-losses), list(coins), counts, delta)
    canary_attack = attack_summary(losses[coins == 1], losses[coins == 0])
    return {
        "claimed_epsilon": epsilon,
        "delta": delta,
        "canaries": len(losses),
        "canaries_included": int(coins.sum()),
        **result,
        "canary_auc": canary_attack["auc"],
    }


def data_attack(model, codec, manifest):
    """Loss-threshold membership inference on the run's own private training persons."""
    from tfpose_dp.eval.membership import attack_summary, per_example_losses
    from tfpose_dp.runs.restore import run_split

    (train, _), (val, _) = (run_split(manifest.config, s) for s in ("train", "valid"))
    train = _without_public_holdout(train, manifest.config)
    members = train.subset(np.random.default_rng(0).permutation(len(train))[: FLAGS.members])
    summary = attack_summary(
        per_example_losses(model, members, codec, FLAGS.eval_batch_size),
        per_example_losses(model, val, codec, FLAGS.eval_batch_size),
    )
    return {f"mia_{k}": v for k, v in summary.items()}


def _without_public_holdout(train, config):
    """The private training persons: the held-out public images (PDP/GEP, the public stage,
    --public_mix) were never trained on privately, so they are not members."""
    from tfpose_dp.training.run_data import split_public_set

    pdp = config.pdp
    if not pdp.uses_public_set() or pdp.public_source != "holdout":
        return train
    return split_public_set(train, config)[0]


PUBLIC_FIELDS = (
    "empirical_epsilon_lower_bound",
    "claimed_epsilon",
    "guesses",
    "correct_guesses",
    "canary_auc",
)


def _report(model_dir, result):
    import tensorflow as tf

    from tfpose_dp.runs.layout import ensure_private_dir

    public = {f"audit/{k}": result[k] for k in PUBLIC_FIELDS if result.get(k) is not None}
    writer = tf.summary.create_file_writer(model_dir)
    with writer.as_default(step=result["steps"]):
        for name, value in public.items():
            tf.summary.scalar(name, value)
        tf.summary.text(
            "audit/summary",
            (
                f"One-run canary audit: {result['correct_guesses']} of {result['guesses']} "
                f"membership guesses right over {result['canaries']} canaries: epsilon >= "
                f"{result['empirical_epsilon_lower_bound']:.3f} at 95 % confidence (claimed "
                f"{result['claimed_epsilon']}). A lower bound, not a proof of privacy."
            ),
        )
    writer.flush()
    private = tf.summary.create_file_writer(
        os.path.join(ensure_private_dir(model_dir), "tensorboard")
    )
    with private.as_default(step=result["steps"]):
        for name in ("mia_auc", "mia_tpr_at_1pct_fpr", "mia_tpr_at_0.1pct_fpr"):
            tf.summary.scalar(f"diagnostics_nonprivate/{name}", result[name])
    private.flush()
    with open(os.path.join(ensure_private_dir(model_dir), "audit.json"), "w") as f:
        json.dump(result, f, indent=1)


def main(argv):
    del argv
    from tfpose_dp.privacy.dp_key import DPKey, DPKeyError
    from tfpose_dp.runs import checkpoints
    from tfpose_dp.runs.layout import key_path
    from tfpose_dp.runs.restore import CheckpointNotFound, checkpoint_dir, load_trained_model

    try:
        if not FLAGS.checkpoint:
            raise ValueError("give --checkpoint=MODEL_DIR (a run trained with --audit_canaries)")
        model, codec, manifest = load_trained_model(FLAGS.checkpoint)
        state = checkpoints.read_state(checkpoint_dir(FLAGS.checkpoint))
        config = manifest.config
        if not config.data.audit_canaries:
            raise ValueError(
                f"{FLAGS.checkpoint} was trained without --audit_canaries: nothing to audit"
            )
        key = (
            DPKey.from_public_seed(config.optim.seed)
            if config.privacy.reproducible_noise
            else DPKey.load(key_path(FLAGS.checkpoint))
        )
    except (ValueError, CheckpointNotFound, DPKeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    epsilon = None if config.privacy.nonprivate else state.get("epsilon")
    result = {
        "method": config.method,
        "steps": state["step"],
        **canary_audit(model, codec, manifest, key, epsilon),
        **data_attack(model, codec, manifest),
        "note": "mia_* is computed on private training data without DP: keep it private",
    }
    _report(FLAGS.checkpoint, result)
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w") as f:
            json.dump(result, f, indent=1)
    shared = {k: result[k] for k in ("method", "steps", "canaries", "delta") + PUBLIC_FIELDS}
    logging.info("audit (membership inference on private data: MODEL_DIR/private/audit.json)")
    print(json.dumps(shared))


if __name__ == "__main__":
    app.run(main, flags_parser=cli_help.parse_flags)
