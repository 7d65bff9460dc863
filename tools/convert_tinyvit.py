"""Converts a PyTorch TinyViT checkpoint into Keras backbone weights for tfpose_dp.

  python tools/convert_tinyvit.py --checkpoint=tiny_vit_5m_22kto1k_distill.pth \
      --variant=tiny_vit_5m --output=tinyvit_5m.weights.h5
  python -m tfpose_dp.train --init_checkpoint=tinyvit_5m.weights.h5 --trainable=last_stage ...

Reads timm (`stages.*`) or official microsoft/Cream (`layers.*`) names; a checkpoint saved as
{"model": state_dict} is unwrapped. Needs torch (CPU) to read the .pth, not timm.
"""

from absl import app, flags, logging

flags.DEFINE_string("checkpoint", None, "PyTorch .pth state dict.")
flags.DEFINE_string("variant", "tiny_vit_5m", "tiny_vit_5m | tiny_vit_11m | tiny_vit_21m.")
flags.DEFINE_string("output", None, "Output Keras weights file (*.weights.h5).")
flags.DEFINE_list(
    "input_size", ["224", "224"], "H,W to build the backbone at (weights do not depend on it)."
)
flags.mark_flags_as_required(["checkpoint", "output"])
FLAGS = flags.FLAGS


def read_state_dict(path):
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    return {k: v.detach().cpu().numpy() for k, v in state.items() if hasattr(v, "detach")}


def main(argv):
    del argv
    from tfpose_dp.models.tinyvit import build_backbone
    from tfpose_dp.models.tinyvit_convert import load_state_dict

    size = tuple(int(v) for v in FLAGS.input_size)
    backbone = build_backbone(FLAGS.variant, (*size, 3), norm="frozen_bn")
    count = load_state_dict(backbone, read_state_dict(FLAGS.checkpoint))
    backbone.save_weights(FLAGS.output)
    logging.info("converted %d weights of %s into %s", count, FLAGS.variant, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
