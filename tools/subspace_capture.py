"""How much of the clipped mean private gradient a public subspace holds, at a given model.

  python tools/subspace_capture.py --model_dir=preset:public_micro --ks=10,20,50,100 --ms=100,500

Computes per-example gradients of m public persons (a holdout of the private domain's training
split, or the public domain's people) and of 512 other private persons at the model, builds the
top-k eigenbasis of the public second moment (raw and with each public gradient clipped to C,
as --clip_public_gradients does) and prints the share of the clipped mean private gradient's
energy inside it. A NON-PRIVATE analysis (it reads private gradients without DP): for the data
owner choosing k and m, like --pdp_diagnostics during training.
"""

import json

import numpy as np
import tensorflow as tf
from absl import app, flags

from tfpose_dp.data.annotations import load_split
from tfpose_dp.data.pipeline import eval_dataset
from tfpose_dp.data.synthetic import ensure_synthetic_dataset
from tfpose_dp.privacy.clipping import flatten_per_example, per_example_gradients
from tfpose_dp.privacy.eigenbasis import top_eigenbasis
from tfpose_dp.runs.restore import load_trained_model
from tfpose_dp.training.steps import make_per_example_loss_fn

flags.DEFINE_string("model_dir", "preset:public_micro", "The model the gradients are taken at.")
flags.DEFINE_list("ks", ["10", "20", "50", "100"], "Subspace dimensions.")
flags.DEFINE_list("ms", ["100", "500"], "Public set sizes.")
flags.DEFINE_float(
    "clip", 1.0, "C: per-example clip norm of the private (and clipped public) gradients."
)
flags.DEFINE_integer("private", 512, "Private persons whose clipped mean gradient is measured.")
flags.DEFINE_integer("synthetic_train", 16000, "Size of the private synthetic training split.")
FLAGS = flags.FLAGS
_INPUTS = ("image", "target_x", "target_y", "target_weight")


def main(argv):
    del argv
    model, codec, _ = load_trained_model(FLAGS.model_dir)
    loss_fn = make_per_example_loss_fn(model)

    @tf.function
    def grads(batch):
        _, g = per_example_gradients(
            loss_fn, {k: batch[k] for k in _INPUTS}, model.trainable_variables
        )
        return flatten_per_example(g)

    def flat(records):
        return np.concatenate(
            [
                grads(b).numpy()[b["mask"].numpy() > 0]
                for b in eval_dataset(records, codec.input_size, codec, 32)
            ]
        )

    private = load_split(
        ensure_synthetic_dataset(FLAGS.synthetic_train, 400, 0, None, "private"), "train"
    )
    public_domain = load_split(
        ensure_synthetic_dataset(FLAGS.synthetic_train, 400, 0, None, "public"), "train"
    )
    order, m_max = np.random.default_rng(5).permutation(len(private)), max(int(m) for m in FLAGS.ms)
    holdout = flat(private.subset(order[:m_max]))
    other = flat(
        public_domain.subset(np.random.default_rng(6).permutation(len(public_domain))[:m_max])
    )
    g = flat(private.subset(order[m_max : m_max + FLAGS.private]))
    clip = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True) / FLAGS.clip, 1.0)  # noqa: E731
    mean = clip(g).mean(0)

    def captured(public, k):
        v = top_eigenbasis(public.astype(np.float32), k).numpy()
        return float(np.sum((v.T @ mean) ** 2) / np.sum(mean**2))

    rows = []
    for m in (int(v) for v in FLAGS.ms):
        for k in (int(v) for v in FLAGS.ks):
            rows.append(
                {
                    "m": m,
                    "k": k,
                    "holdout_raw": captured(holdout[:m], k),
                    "holdout_clipped": captured(clip(holdout[:m]), k),
                    "public_domain_clipped": captured(clip(other[:m]), k),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    public_mean = clip(holdout).mean(0)
    print(
        json.dumps(
            {
                "num_params": int(g.shape[1]),
                "median_private_grad_norm": float(np.median(np.linalg.norm(g, axis=1))),
                "cosine_public_private_clipped_mean": float(
                    public_mean @ mean / np.linalg.norm(public_mean) / np.linalg.norm(mean)
                ),
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
