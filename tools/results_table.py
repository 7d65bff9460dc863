"""Collects finished runs into a Markdown table and a PCKh-vs-epsilon plot.

  python tools/results_table.py --runs='runs/*' --output_md=results.md --output_png=results.png

Reads each run's `final_metrics.json` (written by tfpose_dp.train at the end of training).
"""
import glob
import json
import os

from absl import app, flags
from PIL import Image, ImageDraw

flags.DEFINE_string("runs", "runs/*", "Glob of model dirs.")
flags.DEFINE_string("output_md", "results.md", "Markdown table path.")
flags.DEFINE_string("output_png", "results.png", "Plot path.")
FLAGS = flags.FLAGS

PAPER = {"pdp": {0.2: 78.48}, "dpsgd": {0.2: 63.85}, "nonprivate": {None: 89.36}}
COLOURS = {"pdp": (200, 40, 40), "dpsgd": (40, 80, 200), "nonprivate": (40, 150, 40)}


def collect(pattern):
    rows = []
    for run in sorted(glob.glob(pattern)):
        path = os.path.join(run, "final_metrics.json")
        if os.path.exists(path):
            with open(path) as f:
                rows.append({"run": run, **json.load(f)})
    return rows


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def markdown(rows):
    lines = ["| run | method | eps (target) | eps spent | delta | sigma | PCKh@0.5 | PCKh@0.1 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["method"], r.get("epsilon_target") or 1e9)):
        lines.append(
            f"| {os.path.basename(r['run'])} | {r['method']} | {_fmt(r.get('epsilon_target'), 'g')} | "
            f"{_fmt(r.get('epsilon'), '.3f')} | {_fmt(r.get('delta'), '.2g')} | "
            f"{_fmt(r.get('noise_multiplier'), '.3f')} | {_fmt(r.get('pckh@0.5'), '.2f')} | "
            f"{_fmt(r.get('pckh@0.1'), '.2f')} |")
    return "\n".join(lines) + "\n"


def plot(rows, path, size=(640, 420), margin=60):
    """PCKh@0.5 vs epsilon per method; the non-private baseline as a horizontal line."""
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    w, h = size
    private = [r for r in rows if r.get("epsilon_target")]
    max_eps = max([r["epsilon_target"] for r in private] + [1.0])
    to_xy = lambda eps, p: (margin + (w - 2 * margin) * eps / max_eps,  # noqa: E731
                            h - margin - (h - 2 * margin) * p / 100.0)
    d.line([margin, h - margin, w - margin, h - margin], fill="black")
    d.line([margin, margin, margin, h - margin], fill="black")
    for p in range(0, 101, 20):
        x, y = to_xy(0, p)
        d.text((x - 30, y - 6), f"{p}", fill="black")
    for i in range(5):
        eps = max_eps * i / 4
        x, y = to_xy(eps, 0)
        d.text((x - 10, y + 8), f"{eps:.2g}", fill="black")
    d.text((w / 2 - 40, h - 25), "epsilon", fill="black")
    d.text((5, 5), "PCKh@0.5", fill="black")
    for legend_row, method in enumerate(("pdp", "dpsgd", "nonprivate")):
        colour = COLOURS[method]
        d.text((w - 150, margin + 15 * legend_row), method, fill=colour)
        if method == "nonprivate":
            for r in rows:
                if r["method"] == method and r.get("pckh@0.5") is not None:
                    y = to_xy(0, r["pckh@0.5"])[1]
                    d.line([margin, y, w - margin, y], fill=colour)
            continue
        pts = sorted((r["epsilon_target"], r["pckh@0.5"]) for r in private
                     if r["method"] == method and r.get("pckh@0.5") is not None)
        xy = [to_xy(e, p) for e, p in pts]
        if len(xy) > 1:
            d.line(xy, fill=colour, width=2)
        for x, y in xy:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
    img.save(path)


def main(argv):
    del argv
    rows = collect(FLAGS.runs)
    if not rows:
        raise SystemExit(f"no finished runs (final_metrics.json) match --runs={FLAGS.runs}")
    table = markdown(rows)
    with open(FLAGS.output_md, "w") as f:
        f.write(table)
    plot(rows, FLAGS.output_png)
    print(table)


if __name__ == "__main__":
    app.run(main)
