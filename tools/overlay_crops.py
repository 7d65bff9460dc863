"""Writes a PNG grid of training crops with their target skeletons, to check the pipeline by eye.

  python tools/overlay_crops.py --data_dir=/data/mpii --output=/tmp/crops.png
  python tools/overlay_crops.py --data_dir=/data/clinic --data_format=coco \
      --keypoints=from_data --output=/tmp/coco_crops.png        # COCO keypoints, any skeleton
  python tools/overlay_crops.py --output=/tmp/crops.png          # built-in synthetic people

Dots: visible right-side joints yellow, left and centre joints green, invisible joints blue.
"""

import tensorflow as tf
from absl import app, flags
from PIL import Image, ImageDraw

from tfpose_dp.category_skeleton import canonical_name, category_skeleton
from tfpose_dp.data.annotations import find_image_dir, load_any_file, load_split, read_json
from tfpose_dp.data.augmentation import AugmentConfig
from tfpose_dp.data.coco_keypoints import find_coco_split
from tfpose_dp.data.pipeline import make_example_fn
from tfpose_dp.data.synthetic import ensure_synthetic_dataset
from tfpose_dp.eval.overlay import crop_to_uint8
from tfpose_dp.models.simcc import SimCCCodec
from tfpose_dp.skeleton import get_skeleton

flags.DEFINE_string("data_dir", None, "MPII or COCO folder; default: the built-in synthetic set.")
flags.DEFINE_enum("data_format", "mpii", ["mpii", "coco"], "Format of --data_dir's splits.")
flags.DEFINE_enum(
    "keypoints",
    "mpii16",
    ["mpii16", "coco17", "from_data"],
    "The joints to draw (from_data: a COCO-format file's own).",
)
flags.DEFINE_string(
    "split_file", None, "Annotation file inside --data_dir (default: the train split)."
)
flags.DEFINE_list("input_size", ["256", "192"], "H,W.")
flags.DEFINE_integer("count", 8, "Crops to draw.")
flags.DEFINE_bool("augment", True, "Apply training augmentation.")
flags.DEFINE_float("half_body_prob", 0.0, "Probability of a half-body crop (with --augment).")
flags.DEFINE_integer("scale", 2, "Upscaling of each tile.")
flags.DEFINE_string("output", "crops.png", "PNG path.")
FLAGS = flags.FLAGS


def draw_tile(example, codec, scale):
    tile = Image.fromarray(crop_to_uint8(example["image"].numpy()))
    tile = tile.resize((tile.width * scale, tile.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(tile)
    kp, _ = codec.decode(
        tf.math.log(example["target_x"] + 1e-9), tf.math.log(example["target_y"] + 1e-9)
    )
    kp = kp.numpy() * scale
    weight = example["target_weight"].numpy()
    limbs, names = codec.skeleton.limbs, codec.skeleton.joint_names
    right = {k for k, n in enumerate(names) if canonical_name(n).startswith("right_")}
    for a, b in limbs:
        if weight[a] > 0 and weight[b] > 0:
            draw.line([tuple(kp[a]), tuple(kp[b])], fill=(255, 0, 0), width=2)
    for k, (x, y) in enumerate(kp):
        colour = (0, 0, 255) if weight[k] == 0 else ((255, 255, 0) if k in right else (0, 255, 0))
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
    return tile


def main(argv):
    del argv
    size = tuple(int(v) for v in FLAGS.input_size)
    root = FLAGS.data_dir or ensure_synthetic_dataset(4000, 400, 0)
    if FLAGS.split_file:
        path = f"{root}/{FLAGS.split_file}"
    elif FLAGS.data_format == "coco":
        path = find_coco_split(root, "train")[0]
    skeleton = get_skeleton("mpii16" if FLAGS.keypoints == "from_data" else FLAGS.keypoints)
    if FLAGS.keypoints == "from_data" and FLAGS.data_format == "coco":
        skeleton = category_skeleton(read_json(path)["categories"][0], path)
    if FLAGS.split_file:
        records = load_any_file(path, find_image_dir(root), skeleton)
    else:
        records = load_split(root, "train", FLAGS.data_format, skeleton)
    codec = SimCCCodec(size, skeleton=skeleton)
    fn = make_example_fn(
        records,
        size,
        codec,
        AugmentConfig(half_body_prob=FLAGS.half_body_prob) if FLAGS.augment else None,
        seed=0,
    )
    tiles = [
        draw_tile(
            fn(tf.constant(i % len(records), tf.int64), tf.constant(i, tf.int64)),
            codec,
            FLAGS.scale,
        )
        for i in range(FLAGS.count)
    ]
    cols = min(4, len(tiles))
    rows = -(-len(tiles) // cols)
    grid = Image.new("RGB", (cols * tiles[0].width, rows * tiles[0].height))
    for i, tile in enumerate(tiles):
        grid.paste(tile, ((i % cols) * tile.width, (i // cols) * tile.height))
    grid.save(FLAGS.output)
    print(FLAGS.output)


if __name__ == "__main__":
    app.run(main)
