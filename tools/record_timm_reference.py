"""Records timm's TinyViT as the converter's parity reference, so the suite checks parity
without torch (a light install): tests/fixtures/timm_tinyvit_micro.npz.

  pip install -e ".[convert]"   # torch + timm, for this tool only
  python tools/record_timm_reference.py

What it holds: a timm `TinyVit` with tiny_vit_micro's dims (the same code as 5M/11M/21M at a
fraction of the weights), every float tensor random (BN statistics included, so no mapping
hides) and rounded to float16 (half the file; torch computes with the rounded values); two
inputs (64x48 and 96x96: padding in both) with timm's `forward_features` outputs; and the
parameter counts of timm's tiny_vit_{5m,11m,21m}_224 without their classifier head.
"""

import os

import numpy as np
from absl import app, flags

flags.DEFINE_string(
    "output",
    os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "timm_tinyvit_micro.npz"),
    "Where the reference is written.",
)
FLAGS = flags.FLAGS
SIZES = ((64, 48), (96, 96))


def _random_micro(timm, torch):
    from tfpose_dp.models.tinyvit import VARIANTS

    cfg = VARIANTS["tiny_vit_micro"]
    torch.manual_seed(0)
    model = timm.models.tiny_vit.TinyVit(
        num_classes=0,
        embed_dims=cfg["dims"],
        depths=cfg["depths"],
        num_heads=cfg["heads"],
        window_sizes=cfg["windows"],
    )
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.dtype.is_floating_point:
                value = (
                    torch.rand_like(t) + 0.5
                    if name.endswith("running_var")
                    else 0.2 * torch.randn_like(t)
                )
                t.copy_(value.half().float())
    return model.eval()


def main(argv):
    del argv
    import timm
    import torch

    model = _random_micro(timm, torch)
    out = {
        f"state/{k}": v.numpy().astype(np.float16)
        for k, v in model.state_dict().items()
        if v.dtype.is_floating_point
    }
    rng = np.random.default_rng(1)
    for h, w in SIZES:
        x = rng.normal(size=(2, h, w, 3)).astype(np.float32)
        with torch.no_grad():
            y = model.forward_features(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        out[f"input/{h}x{w}"], out[f"output/{h}x{w}"] = x, y.numpy()
    for variant in ("tiny_vit_5m", "tiny_vit_11m", "tiny_vit_21m"):
        ref = timm.create_model(f"{variant}_224", pretrained=False, num_classes=0)
        out[f"count/{variant}"] = np.int64(
            sum(p.numel() for n, p in ref.named_parameters() if not n.startswith("head."))
        )
    np.savez_compressed(FLAGS.output, **out)
    print(f"{FLAGS.output}: {os.path.getsize(FLAGS.output) / 1e6:.2f} MB, timm {timm.__version__}")


if __name__ == "__main__":
    app.run(main)
