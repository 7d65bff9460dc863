"""Runs the fine-tuning grid from one public model and tabulates it (mean +- sd over seeds).

  python tools/finetune_grid.py --public_model=runs/public --output_root=runs/grid

Cells: non-private fine-tuning, and each private method at each epsilon, one run per seed;
every run is `python -m tfpose_dp.train --flagfile=F --init_from=PUBLIC --seed=S ...` with the
method's own extra flags (each method is tuned on its own, on seeds the grid does not use).
Finished runs are skipped, so the command can be re-run after an interruption (an interrupted
run resumes from its last checkpoint, its log appended to). The exact
command of every run goes to OUTPUT_ROOT/commands.txt; the table and the plot to
OUTPUT_ROOT/results.md and results.png (tools/results_table.py).
"""

import os
import shlex
import subprocess
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_table  # noqa: E402
from train_command import train_argv  # noqa: E402

flags.DEFINE_string("public_model", None, "The public model every run starts from (--init_from).")
flags.DEFINE_string("flagfile_base", "flags/finetune.cfg", "Flags shared by every run.")
flags.DEFINE_string("output_root", "runs/grid", "One model_dir per run below this folder.")
flags.DEFINE_list(
    "methods",
    ["nonprivate", "dpsgd", "pdp"],
    "nonprivate, dpsgd, pdp, gep; dpsgd_stage, pdp_stage, gep_stage: the same after a public "
    "stage (--stage_args), which also reports the public data alone.",
)
flags.DEFINE_string(
    "stage_args",
    "--public_finetune_steps=250",
    "Flags of the *_stage methods' public stage (the same for each).",
)
flags.DEFINE_list("epsilons", ["0.2", "1", "8"], "Target epsilons of the private methods.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "One run per seed and cell.")
flags.DEFINE_string("nonprivate_args", "", "Extra flags of the non-private runs.")
flags.DEFINE_string("dpsgd_args", "", "Extra flags of the DP-SGD runs.")
flags.DEFINE_string("pdp_args", "", "Extra flags of the PDP-SGD runs.")
flags.DEFINE_string("gep_args", "", "Extra flags of the GEP runs.")
flags.DEFINE_string("dpsgd_stage_args", "", "Extra flags of the DP-SGD runs after a public stage.")
flags.DEFINE_string("pdp_stage_args", "", "Extra flags of the PDP-SGD runs after a public stage.")
flags.DEFINE_string("gep_stage_args", "", "Extra flags of the GEP runs after a public stage.")
flags.DEFINE_bool("dry_run", False, "Print the commands only.")
flags.mark_flag_as_required("public_model")
FLAGS = flags.FLAGS

# Each method sets what it is whatever the flagfile says (a flagfile may hold a winning
# pipeline): plain methods leave the public set to PDP/GEP's basis (no stage, no mix);
# *_stage methods add --stage_args and keep the flagfile's --public_mix unless their own
# extra flags set one.
METHOD_FLAGS = {
    "nonprivate": ["--nonprivate", "--projection=none"],
    "dpsgd": ["--projection=none"],
    "pdp": ["--projection=pdp"],
    "gep": ["--projection=gep"],
}
PLAIN = ["--public_finetune_steps=0", "--public_mix=none"]


def run_commands():
    """[(model_dir, argv)] of every run of the grid."""
    out = []
    for method in FLAGS.methods:
        extra = shlex.split(getattr(FLAGS, f"{method}_args"))
        base, staged = method.removesuffix("_stage"), method.endswith("_stage")
        method_flags = METHOD_FLAGS[base] + ([] if staged else PLAIN)
        if staged:
            extra = shlex.split(FLAGS.stage_args) + extra  # the flagfile's mix unless set
        for eps in [None] if method == "nonprivate" else FLAGS.epsilons:
            for seed in FLAGS.seeds:
                name = f"{method}_seed{seed}" if eps is None else f"{method}_eps{eps}_seed{seed}"
                model_dir = os.path.join(FLAGS.output_root, name)
                argv = train_argv(
                    FLAGS.flagfile_base,
                    FLAGS.public_model,
                    seed,
                    model_dir,
                    *method_flags,
                    *([f"--epsilon={eps}"] if eps else []),
                    *extra,
                )
                out.append((model_dir, argv))
    return out


def main(argv):
    del argv
    os.makedirs(FLAGS.output_root, exist_ok=True)
    commands = run_commands()
    with open(os.path.join(FLAGS.output_root, "commands.txt"), "w") as f:
        f.writelines("python " + shlex.join(a[1:]) + "\n" for _, a in commands)
    for model_dir, argv in commands:
        if os.path.exists(os.path.join(model_dir, "final_metrics.json")):
            print(f"done already: {model_dir}")
            continue
        print(shlex.join(argv), flush=True)
        if FLAGS.dry_run:
            continue
        # Append: an interrupted cell resumes from its checkpoint and keeps its first log.
        with open(model_dir + ".log", "a") as log:
            log.write(f"# {shlex.join(argv)}\n")  # where each (re)start begins
            log.flush()
            result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            print(f"FAILED ({result.returncode}): {model_dir}; see {model_dir}.log", flush=True)
    rows = results_table.collect(os.path.join(FLAGS.output_root, "*"))
    if rows:
        table = results_table.markdown(rows)
        with open(os.path.join(FLAGS.output_root, "results.md"), "w") as f:
            f.write(table)
        results_table.plot(rows, os.path.join(FLAGS.output_root, "results.png"))
        print(table)


if __name__ == "__main__":
    app.run(main)
