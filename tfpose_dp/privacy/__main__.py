"""Privacy calculator: what a training plan costs, without training.

  python -m tfpose_dp.privacy --num_examples=22246 --batch_size=32 --epochs=25 --epsilon=0.2
  python -m tfpose_dp.privacy --num_examples=22246 --batch_size=32 --epochs=25 \
      --noise_multiplier=1.1

Prints one JSON object: noise_multiplier, epsilon_pld, epsilon_rdp, delta, sampling_rate, steps.
Steps are round(epochs * round(N / B)), as the trainer plans them (Poisson sampling, q = B/N).
"""

import json
import sys

from absl import app, flags

from tfpose_dp.privacy import accounting, sampling
from tfpose_dp.privacy.plan import make_plan

flags.DEFINE_integer("num_examples", None, "Private training examples N.", lower_bound=1)
flags.DEFINE_integer("batch_size", 32, "Expected batch size B.", lower_bound=1)
flags.DEFINE_float("epochs", 25.0, "Epochs (N/B steps each).")
flags.DEFINE_float("epsilon", None, "Target epsilon: calibrate the noise multiplier for it.")
flags.DEFINE_float("noise_multiplier", None, "Given sigma: report the epsilon spent instead.")
flags.DEFINE_float("delta", None, "Delta; default 1/(10 N).")
flags.mark_flag_as_required("num_examples")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    n, b = FLAGS.num_examples, FLAGS.batch_size
    try:
        if (FLAGS.epsilon is None) == (FLAGS.noise_multiplier is None):
            raise accounting.PrivacyConfigError(
                "give exactly one of --epsilon or --noise_multiplier"
            )
        steps = sampling.planned_steps(n, min(b, n), FLAGS.epochs)
        plan = make_plan(
            n, b, steps, FLAGS.epsilon, FLAGS.delta, noise_multiplier=FLAGS.noise_multiplier
        )
        event = [(plan.sampling_rate, plan.noise_multiplier, steps)]
        result = {
            "noise_multiplier": plan.noise_multiplier,
            "epsilon_pld": accounting.epsilon_spent(event, plan.delta, "pld", FLAGS.epsilon or 1.0),
            "epsilon_rdp": accounting.epsilon_spent(event, plan.delta, "rdp"),
            "delta": plan.delta,
            "sampling_rate": plan.sampling_rate,
            "steps": steps,
            "num_examples": n,
            "batch_size": b,
            "epochs": FLAGS.epochs,
            "sampling": "poisson",
        }
    except accounting.PrivacyConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
