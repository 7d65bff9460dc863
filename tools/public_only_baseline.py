"""The bar a private run must clear: the public model fine-tuned non-privately on PDP's own
public people alone, scored on the same validation split as the grid.

For each seed, the public set is the one a PDP run of that seed holds out of the built-in
private training set (`training/datasets.py`: a keyed draw per image); it is written as a
--data_dir (its records as train.json, the grid's val split as valid.json, the images linked)
and fine-tuned with --nonprivate:

  python tools/public_only_baseline.py --public_model=preset:public_micro \
      --output_root=runs/public_only --seeds=0,1,2
"""

import json
import os
import subprocess
import sys

from absl import app, flags

from tfpose_dp.data.annotations import load_split
from tfpose_dp.data.synthetic import ensure_synthetic_dataset
from tfpose_dp.training import datasets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_command import train_argv  # noqa: E402

flags.DEFINE_string("public_model", "preset:public_micro", "The public model (--init_from).")
flags.DEFINE_string("flagfile_base", "flags/finetune.cfg", "The grid's flags (model, data).")
flags.DEFINE_string("output_root", "runs/public_only", "One data dir and model_dir per seed.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "One run per seed (the holdout depends on it).")
flags.DEFINE_integer("synthetic_train", 16000, "The private set the holdout comes from.")
flags.DEFINE_integer("synthetic_val", 400, "The grid's val split.")
flags.DEFINE_integer("public_examples", 100, "m: PDP's public people.")
flags.DEFINE_string(
    "train_args",
    "--batch_size=32 --epochs=80 --augment --eval_every_epochs=20",
    "The non-private fine-tuning on the public people.",
)
flags.DEFINE_bool("write_only", False, "Write the data dirs, train nothing.")
FLAGS = flags.FLAGS


def write_public_data_dir(root, seed, target, public_examples, synthetic_train):
    """`target` with the seed's public people as train and `root`'s val split as valid."""
    records = load_split(root, "train")
    rate = datasets.holdout_rate(public_examples, None, None, synthetic_train)
    _, public = datasets.split_public(
        records, "holdout", public_examples, seed, holdout_fraction=rate
    )
    keep = {(name, cx, cy) for name, cx, cy in public.ids}  # raw (1-based) centres
    with open(os.path.join(root, "annotations", "train.json")) as f:
        people = json.load(f)
    chosen = [
        p
        for p in people
        if (p["image"], int(round(p["center"][0])), int(round(p["center"][1]))) in keep
    ]
    os.makedirs(os.path.join(target, "annotations"), exist_ok=True)
    with open(os.path.join(target, "annotations", "train.json"), "w") as f:
        json.dump(chosen, f)
    with open(os.path.join(root, "annotations", "valid.json")) as f:
        valid = json.load(f)
    with open(os.path.join(target, "annotations", "valid.json"), "w") as f:
        json.dump(valid, f)
    link = os.path.join(target, "images")
    if not os.path.exists(link):
        os.symlink(os.path.join(root, "images"), link)
    return len(chosen)


def main(argv):
    del argv
    root = ensure_synthetic_dataset(FLAGS.synthetic_train, FLAGS.synthetic_val, 0, None, "private")
    for seed in FLAGS.seeds:
        data_dir = os.path.join(FLAGS.output_root, f"data_seed{seed}")
        count = write_public_data_dir(
            root, int(seed), data_dir, FLAGS.public_examples, FLAGS.synthetic_train
        )
        if count != FLAGS.public_examples:
            raise SystemExit(
                f"seed {seed}: {count} public people, expected {FLAGS.public_examples}"
            )
        if FLAGS.write_only:
            continue
        model_dir = os.path.join(FLAGS.output_root, f"public_only_seed{seed}")
        argv = train_argv(
            FLAGS.flagfile_base,
            FLAGS.public_model,
            seed,
            model_dir,
            f"--data_dir={data_dir}",
            "--nonprivate",
            "--public_finetune_steps=0",  # this run IS the public data alone
            *FLAGS.train_args.split(),
        )
        print(" ".join(argv[1:]), flush=True)
        subprocess.run(argv, check=True)
        with open(os.path.join(model_dir, "final_metrics.json")) as f:
            final = json.load(f)
        print(f"seed {seed}: val PCKh@0.5 {final['pckh@0.5']:.2f}", flush=True)


if __name__ == "__main__":
    app.run(main)
