"""The `python -m tfpose_dp.train` argv of one run started by a tool (the fine-tuning grid,
the public-only baseline): the shared flagfile, the public start, the seed and the run's
folder, then the run's own flags."""

import sys


def train_argv(flagfile, public_model, seed, model_dir, *flags):
    return [
        sys.executable,
        "-m",
        "tfpose_dp.train",
        f"--flagfile={flagfile}",
        f"--init_from={public_model}",
        f"--seed={seed}",
        f"--model_dir={model_dir}",
        *flags,
    ]
