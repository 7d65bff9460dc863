"""Collects finished runs into a table of mean +- sd per (method, epsilon) and a plot.

  python tools/results_table.py --runs='runs/grid/*' --output_md=results.md --output_png=results.png
  python tools/results_table.py --cells_csv=docs/finetune_grid16k.csv \
      --output_png=docs/finetune_grid.png

Reads each run's `final_metrics.json` (written by tfpose_dp.train at the end of training).
Runs of the same pipeline (method, public stage, public mix) and target epsilon are one cell
(one run per seed). The public-only references come first: the starting (public) model and,
when runs had a public stage, the public data alone (that stage's model, one per seed); each
private cell says its gain over the best of them. The plot draws PCKh@0.5 against epsilon (log
axis) with +-1 sd error bars, one line per private pipeline, the references as horizontal lines.
"""

import collections
import glob
import json
import os

import numpy as np
from absl import app, flags

flags.DEFINE_string("runs", "runs/*", "Glob of model dirs.")
flags.DEFINE_string("output_md", "results.md", "Markdown table path.")
flags.DEFINE_string("output_png", "results.png", "Plot path.")
flags.DEFINE_string("title", "", "Plot title.")
flags.DEFINE_string(
    "cells_csv", "", "Plot recorded cells (method,label,epsilon,mean,sd) instead of runs."
)
FLAGS = flags.FLAGS

LABELS = {"pdp": "PDP-SGD", "dpsgd": "DP-SGD", "nonprivate": "non-private", "gep": "GEP"}
PUBLIC_ALONE = "public data alone (non-private, the public set only)"
COLOURS = {
    "pdp": "tab:red",
    "dpsgd": "tab:blue",
    "nonprivate": "tab:green",
    "gep": "tab:purple",
    "start": "tab:gray",
    "public_alone": "tab:orange",
}


def pipeline(row):
    """The cell's method: the release (DP-SGD, PDP, GEP, non-private) and how the public set is
    used besides (a public stage before, a clean public gradient mixed in)."""
    name = row["method"]
    if row.get("public_finetune_steps"):
        name += "+stage"
    if row.get("public_mix", "none") != "none":
        name += f"+mix:{row['public_mix']}"
    return name


def method_label(name):
    base, *extras = name.split("+")
    label = LABELS.get(base, base)
    for extra in extras:
        if extra == "stage":
            label += " after the public stage"
        else:  # mix:constant:0.3 -> "public mix 0.3", mix:cosine -> "public mix cosine"
            label += ", public mix " + extra.split(":")[-1]
    return label


def public_alone(rows):
    """[PCKh@0.5] of the public stage's model, one per seed (the runs of a seed share it)."""
    by_seed = {}
    for r in rows:
        if r.get("public_stage_pckh@0.5") is not None:
            by_seed.setdefault(r.get("seed"), r["public_stage_pckh@0.5"])
    return [by_seed[s] for s in sorted(by_seed, key=str)]


def collect(pattern):
    """Finished runs (final_metrics.json), each with its audit (private/audit.json) if any."""
    rows = []
    for run in sorted(glob.glob(pattern)):
        path = os.path.join(run, "final_metrics.json")
        if os.path.exists(path):
            with open(path) as f:
                row = {"run": run, **json.load(f)}
            audit = os.path.join(run, "private", "audit.json")
            if os.path.exists(audit):
                with open(audit) as f:
                    row["audit"] = json.load(f)
            rows.append(row)
    return rows


def cells(rows):
    """{(method, epsilon target or None): [rows]}, and the starting model's PCKh (or None)."""
    grouped = collections.defaultdict(list)
    for r in rows:
        if r.get("pckh@0.5") is not None:
            grouped[(pipeline(r), r.get("epsilon_target"))].append(r)
    starts = {round(r["start_pckh@0.5"], 6) for r in rows if r.get("start_pckh@0.5") is not None}
    return dict(grouped), (starts.pop() if len(starts) == 1 else None)


def mean_sd(values):
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _audit_cells(group):
    """eps lower bound, MIA AUC and TPR@1%FPR of the audited runs of a cell ('-' without)."""
    audits = [r["audit"] for r in group if "audit" in r]
    if not audits:
        return ["-", "-", "-"]
    return [
        _fmt(mean_sd([a[k] for a in audits]))
        for k in ("empirical_epsilon_lower_bound", "mia_auc", "mia_tpr_at_1pct_fpr")
    ]


def _fmt(mean_and_sd, digits=2):
    mean, sd = mean_and_sd
    return f"{mean:.{digits}f} +- {sd:.{digits}f}"


def markdown(rows):
    grouped, start = cells(rows)
    audited = any("audit" in r for r in rows)
    head = [
        "method",
        "eps (target)",
        "eps spent",
        "runs (seeds)",
        "PCKh@0.5 mean +- sd",
        "PCKh@0.1 mean +- sd",
        "gain over the best public-only",
    ]
    if audited:
        head += ["audit eps lower bound (95 %)", "MIA AUC", "MIA TPR@1%FPR"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    bar = []
    if start is not None:
        bar.append(start)
        lines.append(
            "| starting model (no fine-tuning) | - | - | 1 | "
            + f"{start:.2f} |"
            + " - |" * (len(head) - 5)
        )
    alone = public_alone(rows)
    if alone:
        bar.append(mean_sd(alone)[0])
        lines.append(
            f"| {PUBLIC_ALONE} | - | - | {len(alone)} | {_fmt(mean_sd(alone))} |"
            + " - |" * (len(head) - 5)
        )
    for method, eps in sorted(grouped, key=lambda k: (k[0] != "nonprivate", k[1] or 0.0, k[0])):
        group = grouped[(method, eps)]
        cells_ = [
            method_label(method),
            "-" if eps is None else f"{eps:g}",
            "-" if eps is None else f"{max(r['epsilon'] for r in group):.3f}",
            f"{len(group)} ({','.join(str(r.get('seed', '?')) for r in group)})",
            _fmt(mean_sd([r["pckh@0.5"] for r in group])),
            _fmt(mean_sd([r["pckh@0.1"] for r in group])),
            f"{mean_sd([r['pckh@0.5'] for r in group])[0] - max(bar):+.2f}" if bar else "-",
        ]
        if audited:
            cells_ += _audit_cells(group)
        lines.append("| " + " | ".join(cells_) + " |")
    return "\n".join(lines) + "\n"


def plot(rows, path, title=""):
    """The plot of finished runs (see `draw`)."""
    grouped, start = cells(rows)
    lines = collections.defaultdict(list)
    for method, eps in grouped:
        if eps is not None:
            lines[method].append((eps, *mean_sd([r["pckh@0.5"] for r in grouped[(method, eps)]])))
    references = []
    if ("nonprivate", None) in grouped:
        scores = [r["pckh@0.5"] for r in grouped[("nonprivate", None)]]
        references.append(("nonprivate", "non-private fine-tuning", *mean_sd(scores)))
    if start is not None:
        references.append(("start", "public model, no fine-tuning", start, 0.0))
    if public_alone(rows):
        references.append(("public_alone", PUBLIC_ALONE, *mean_sd(public_alone(rows))))
    draw(lines, references, path, title)


def read_cells(path):
    """Cells recorded as mean and sd (docs/finetune_grid16k.csv: the grid whose runs are not
    kept): (lines, references) for `draw`. A row without epsilon is a reference line."""
    import csv

    lines, references = collections.defaultdict(list), []
    with open(path) as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            mean, sd = float(row["mean"]), float(row["sd"] or 0.0)
            if row["epsilon"]:
                lines[row["method"]].append((float(row["epsilon"]), mean, sd))
            else:
                references.append((row["method"], row["label"], mean, sd))
    return lines, references


DODGE = 1.04  # horizontal offset factor between the lines on the log epsilon axis


def dodged(eps, index, count):
    """Line `index` of `count` drawn a little to the side of its eps (a factor on the log
    axis, the lines centred on it), so that tied methods do not hide each other."""
    return [e * DODGE ** (index - (count - 1) / 2) for e in eps]


def draw(lines, references, path, title=""):
    """PCKh@0.5 against epsilon (log axis), +-1 sd bars, one line per pipeline ({method:
    [(eps, mean, sd)]}); references [(key, label, mean, sd)] as horizontal lines and bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.0, 4.2), dpi=120)
    methods = sorted(lines)
    for i, method in enumerate(methods):
        eps, mean, sd = zip(*sorted(lines[method]))
        eps = dodged(eps, i, len(methods))
        colour = COLOURS.get(method.split("+")[0])
        style = "-" if "+stage" in method else ":"
        ax.errorbar(
            eps,
            mean,
            yerr=sd,
            marker="o",
            capsize=4,
            color=colour,
            linestyle=style,
            label=method_label(method),
        )
    for key, label, mean, sd in references:
        ax.axhline(mean, color=COLOURS[key], linestyle="--", label=label)
        if sd:
            ax.axhspan(mean - sd, mean + sd, color=COLOURS[key], alpha=0.15)
    ax.set_xscale("log")
    ticks = sorted({eps for points in lines.values() for eps, _, _ in points})
    ax.set_xticks(ticks, [f"{eps:g}" for eps in ticks])
    ax.set_xlabel("epsilon (log scale)")
    ax.set_ylabel("val PCKh@0.5 (mean +- sd over seeds)")
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv):
    del argv
    if FLAGS.cells_csv:
        draw(*read_cells(FLAGS.cells_csv), FLAGS.output_png, FLAGS.title)
        return
    rows = collect(FLAGS.runs)
    if not rows:
        raise SystemExit(f"no finished runs (final_metrics.json) match --runs={FLAGS.runs}")
    table = markdown(rows)
    with open(FLAGS.output_md, "w") as f:
        f.write(table)
    plot(rows, FLAGS.output_png, FLAGS.title)
    print(table)


if __name__ == "__main__":
    app.run(main)
