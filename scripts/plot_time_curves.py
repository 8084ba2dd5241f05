"""Validation loss against training minutes: an unroll run and a PyTorch reference, one figure.

    python3 scripts/plot_time_curves.py --unroll runs/lstm-30/metrics.jsonl \
        --pytorch pytorch.log --out docs/lstm-30-minutes.png

`--unroll` is a char-rnn run's `metrics.jsonl` (each record's `seconds` is training time, the
validation not counted); `--pytorch` is what `scripts/pytorch_reference.py --curve-every S`
printed (its `minutes M: validation L (step N)` lines, the clock paused while it scores).
Prints the Markdown tables of the README (each curve at each mark, interpolated between the
validations on either side, with the iteration reached; and the best validation each side had
made by the mark, what its best checkpoint holds) and draws both curves into `--out` (needs matplotlib). Run by hand, never
by a test.
"""
import argparse
import itertools
import json
import re

parser = argparse.ArgumentParser()
parser.add_argument("--unroll", required=True)
parser.add_argument("--pytorch", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--marks", default="5,10,15,20,25,30", help="minutes of the table's columns")
parser.add_argument("--top", type=float, default=3.0, help="the figure's highest loss shown")
args = parser.parse_args()


def unroll_curve(path):
    """(minutes, loss, iteration) of every validation the run recorded."""
    points = []
    with open(path) as lines:
        for line in lines:
            record = json.loads(line)
            validation = record.get("validation")
            if validation is not None:
                points.append((record["seconds"] / 60, validation["nats_per_symbol"], record["iteration"]))
    return points


def pytorch_curve(path):
    """(minutes, loss, step) of every `minutes M: validation L (step N)` line, and of the final
    `training S s; validation L` line (its step, where an older script did not print it,
    estimated from the last `step K: … X ms/step` line)."""
    point = re.compile(r"minutes ([\d.]+): validation ([\d.]+) \(step (\d+)\)")
    final = re.compile(r"training ([\d.]+) s; validation ([\d.]+) nats/char.*?(?:\(step (\d+)\))?$")
    rate = re.compile(r"step \d+: .* ([\d.]+) ms/step")
    points, ms_per_step = [], None
    with open(path) as lines:
        for line in lines:
            if match := point.search(line):
                points.append((float(match[1]), float(match[2]), int(match[3])))
            elif match := rate.search(line):
                ms_per_step = float(match[1])
            elif match := final.search(line.rstrip()):
                seconds = float(match[1])
                step = int(match[3]) if match[3] else round(1000 * seconds / ms_per_step)
                points.append((seconds / 60, float(match[2]), step))
    return points


def at_mark(points, mark):
    """The curve at `mark` minutes, interpolated between the validations on either side (each
    side validates on its own clock: unroll every 50 iterations, PyTorch every minute), with the
    iteration interpolated alike; `None` past the curve's ends."""
    for (m0, v0, i0), (m1, v1, i1) in zip(points, points[1:]):
        if m0 <= mark <= m1:
            share = (mark - m0) / (m1 - m0) if m1 > m0 else 0.0
            return mark, v0 + share * (v1 - v0), round(i0 + share * (i1 - i0))
    return None


def best_by(points, mark):
    """The lowest validation made by `mark` minutes, with its iteration: what a run's best
    checkpoint holds then (char-rnn keeps it in `best/`); `None` before the first."""
    made = [p for p in points if p[0] <= mark]
    return min(made, key=lambda p: p[1]) if made else None


curves = {"unroll": unroll_curve(args.unroll), "PyTorch": pytorch_curve(args.pytorch)}
marks = [float(m) for m in args.marks.split(",")]
for title, read in [("the curve at each mark", at_mark), ("the best validation made by each mark", best_by)]:
    print(f"{title}:\n")
    print("| training minutes | " + " | ".join(f"{m:g}" for m in marks) + " |")
    print("|---" * (len(marks) + 1) + "|")
    for name, points in curves.items():
        cells = []
        for mark in marks:
            point = read(points, mark)
            cells.append("—" if point is None else f"{point[1]:.4f} (it. {point[2]})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()

import matplotlib  # noqa: E402  (only the figure needs it)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
for (name, points), color in zip(curves.items(), ["C0", "C1"]):
    axes.plot([p[0] for p in points], [p[1] for p in points], color=color, label=name)
    best = list(itertools.accumulate((p[1] for p in points), min))
    axes.plot([p[0] for p in points], best, color=color, linestyle="--", linewidth=0.9,
              label=f"{name}, best so far")
axes.set_xlabel("training minutes (validation not counted)")
axes.set_ylabel("validation loss, nats/char")
axes.set_ylim(top=min(args.top, max(p[1] for points in curves.values() for p in points)))
axes.grid(alpha=0.3)
axes.legend()
figure.tight_layout()
figure.savefig(args.out)
print(f"wrote {args.out}")
