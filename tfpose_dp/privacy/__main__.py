"""Privacy calculator: what a training plan costs, without training.

  python -m tfpose_dp.privacy --num_examples=22246 --batch_size=32 --epochs=25 --epsilon=0.2
  python -m tfpose_dp.privacy --num_examples=22246 --batch_size=32 --epochs=25 \
      --noise_multiplier=1.1

Prints one JSON object: noise_multiplier, epsilon_pld, epsilon_rdp, delta, sampling_rate, steps
and the statement. Steps are round(epochs * round(N / B)), as the trainer plans them (Poisson
sampling, q = B/N). The Python API's `tfpose_dp.privacy.plan` is the same calculation.
"""

import json
import sys

from absl import app, flags

from tfpose_dp.privacy import accounting, calculator
from tfpose_dp.privacy.plan import UNIT_OF_PRIVACY

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
    try:
        result = calculator.plan(
            FLAGS.num_examples,
            FLAGS.batch_size,
            FLAGS.epochs,
            FLAGS.epsilon,
            FLAGS.delta,
            FLAGS.noise_multiplier,
            unit=UNIT_OF_PRIVACY,
        )
    except accounting.PrivacyConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result.to_json()))


if __name__ == "__main__":
    app.run(main)
