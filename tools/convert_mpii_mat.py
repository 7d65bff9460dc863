"""The official MPII .mat -> the HRNet/mmpose JSON that `--data_dir` reads (with head boxes).

  python tools/convert_mpii_mat.py --mat=mpii_human_pose_v1_u12_1.mat --gt_valid=gt_valid.mat \
      --output_dir=/data/mpii/annotations

With --gt_valid (MPII's evaluation file, shipped with HRNet/mmpose) the validation split is
the standard 2,958 persons in that file's order, so `python -m tfpose_dp.evaluate
--annotations=gt_valid.mat` scores the same persons; training keeps every other annotated
person of the training images, minus the images that hold a validation person. Without it, a
seeded --val_fraction of the images is held out.
"""

import json
import os

from absl import app, flags

from tfpose_dp.data.gt_valid import read_gt_valid
from tfpose_dp.data.mpii_mat import read_release, split_by_gt_valid, split_by_image

flags.DEFINE_string("mat", None, "mpii_human_pose_v1_u12_1.mat from the MPII release.")
flags.DEFINE_string("gt_valid", None, "gt_valid.mat: take the standard validation split from it.")
flags.DEFINE_float(
    "val_fraction", 0.1, "Without --gt_valid: fraction of images held out for validation."
)
flags.DEFINE_integer("seed", 0, "Seed of the --val_fraction split.")
flags.DEFINE_string("output_dir", None, "Folder for train.json and valid.json.")
flags.mark_flags_as_required(["mat", "output_dir"])
FLAGS = flags.FLAGS


def main(argv):
    del argv
    persons = read_release(FLAGS.mat)
    if FLAGS.gt_valid:
        train, valid = split_by_gt_valid(persons, *read_gt_valid(FLAGS.gt_valid))
    else:
        train, valid = split_by_image(persons, FLAGS.val_fraction, FLAGS.seed)
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    for name, records in (("train.json", train), ("valid.json", valid)):
        with open(os.path.join(FLAGS.output_dir, name), "w") as f:
            json.dump(records, f)
    print(
        json.dumps(
            {
                "persons": len(persons),
                "train": len(train),
                "valid": len(valid),
                "train_images": len({r["image"] for r in train}),
                "valid_images": len({r["image"] for r in valid}),
                "split": "gt_valid" if FLAGS.gt_valid else f"val_fraction={FLAGS.val_fraction}",
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
