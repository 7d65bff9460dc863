"""Writes a finished run's pose model as a package preset (`--init_from=preset:NAME`).

  python tools/make_preset.py --model_dir=runs/public --name=public_micro --command="python -m \
      tfpose_dp.train --flagfile=flags/public_pretrain.cfg --model_dir=runs/public"

Keeps the model weights only (the weight average when the run used --ema_decay; no optimizer
slots, ledger or key) and the run's manifest, and writes a README.md with the command that
reproduces it. Refuses a model trained on private data without DP: presets are public.
"""

import json
import os
import shutil
import sys

import tensorflow as tf
from absl import app, flags

from tfpose_dp import presets
from tfpose_dp.runs import checkpoints
from tfpose_dp.runs.restore import checkpoint_dir, load_trained_model

flags.DEFINE_string("model_dir", None, "The finished run.")
flags.DEFINE_string("name", None, "Preset name (a folder under tfpose_dp/presets/).")
flags.DEFINE_string("command", "", "The command that trained the run (goes into README.md).")
flags.DEFINE_bool("public_data", True, "Confirms the run trained on public data only.")
flags.mark_flags_as_required(["model_dir", "name"])
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if not FLAGS.public_data:
        sys.exit("error: a preset ships with the package; it must be trained on public data only")
    model, _, manifest = load_trained_model(FLAGS.model_dir)
    state = checkpoints.read_state(checkpoint_dir(FLAGS.model_dir))
    target = presets.resolve(presets.PREFIX + FLAGS.name)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    tf.train.Checkpoint(model=model).write(os.path.join(target, "ckpt"))
    with open(os.path.join(target, "state.json"), "w") as f:
        json.dump({"step": state["step"], "manifest": manifest.to_json()}, f, indent=1)
    with open(os.path.join(target, "README.md"), "w") as f:
        f.write(
            f"# Preset `{FLAGS.name}`\n\n{manifest.config.method} model trained on "
            f"{manifest.data_description}, {state['step']} steps.\n\nReproduce:\n\n"
            f"```bash\n{FLAGS.command}\npython tools/make_preset.py --model_dir=... "
            f"--name={FLAGS.name}\n```\n"
        )
    size = sum(os.path.getsize(os.path.join(target, n)) for n in os.listdir(target))
    print(f"wrote {target} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    app.run(main)
