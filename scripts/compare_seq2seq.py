"""seq2seq against PyTorch, back to back on this machine: speed and open-loop exact match.

    cargo build --release --example seq2seq
    python3 scripts/compare_seq2seq.py --tasks reverse,addition --seeds 1,2,3 --hidden 64 --iterations 1500

For each task, the built-in task's pairs are written once (`seq2seq generate --task T --pairs
4000 --seed 0` for training (`--pairs N` for another count), `--pairs 400 --seed 1` for validation; addition with
`--max-length 3`), then for each seed unroll (`seq2seq train --data --val ... --json`) and
`scripts/pytorch_seq2seq.py` train the same recipe (an LSTM encoder and decoder, batch 32, Adam,
clipping 5, teacher forcing) one after the other. Prints one line a run and a table: exact match
on the validation pairs decoded open loop (greedy), and the training seconds (validation not
counted: unroll's from its metrics, PyTorch's from its own clock). Needs torch (`PYTHON` names
the interpreter that has it; default: this one). Run by hand, never by a test.

`--same-start` adds a third run a seed: PyTorch from unroll's initial weights on unroll's batches
(`cargo build --release -p unroll-training --example seq2seq_batches` first), so that what
separates it from unroll's run is the arithmetic alone; it also prints, for the two runs on the
same batches, how many iterations their training losses agree within 1e-4 from the start, and
their median losses over the last half.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("--tasks", default="reverse,addition")
parser.add_argument("--seeds", default="1,2,3")
parser.add_argument("--hidden", type=int, default=64)
parser.add_argument("--iterations", type=int, default=1500)
parser.add_argument("--pairs", type=int, default=4000, help="training pairs each task generates")
parser.add_argument("--lr", type=float, default=5e-3)
parser.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant")
parser.add_argument("--lr-min", type=float, default=0.0)
parser.add_argument("--binary", default="target/release/examples/seq2seq")
parser.add_argument("--same-start", action="store_true")
args = parser.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.path.join(root, args.binary)
python = os.environ.get("PYTHON", sys.executable)
seeds = [int(s) for s in args.seeds.split(",")]
# The learning-rate schedule, the same words on both sides.
schedule = ["--lr-schedule", args.lr_schedule] + (["--lr-min", str(args.lr_min)] if args.lr_schedule == "cosine" else [])


def generate(task, pairs, seed, path):
    extra = ["--max-length", "3"] if task == "addition" else []
    with open(path, "w") as out:
        subprocess.run([binary, "generate", "--task", task, "--pairs", str(pairs), "--seed", str(seed)] + extra,
                       stdout=out, check=True)


def unroll(train, val, seed, out):
    command = [binary, "train", "--data", train, "--val", val, "--hidden", str(args.hidden),
               "--iterations", str(args.iterations), "--lr", str(args.lr), *schedule, "--max-target-length", "20",
               "--eval-every", str(args.iterations), "--seed", str(seed), "--out", out, "--json"]
    report = json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)
    with open(os.path.join(out, "metrics.jsonl")) as lines:
        seconds = [json.loads(line)["seconds"] for line in lines][-1]
    return report["validation"]["exact_match"], seconds


def pytorch(train, val, seed, extra=()):
    command = [python, os.path.join(root, "scripts", "pytorch_seq2seq.py"), "--data", train, "--val", val,
               "--hidden", str(args.hidden), "--iterations", str(args.iterations), "--lr", str(args.lr),
               *schedule, "--max-target-length", "20", "--seed", str(seed), *extra]
    report = json.loads(subprocess.run(command, capture_output=True, check=True, text=True,
                                       cwd=os.path.join(root, "scripts")).stdout)
    return report["exact_match"], report["training_seconds"]


def from_unrolls_start(train, val, seed, scratch, run):
    """PyTorch from unroll's initial weights on unroll's batches; and how its losses follow unroll's."""
    probe = os.path.join(scratch, "probe")
    subprocess.run([binary, "train", "--data", train, "--val", val, "--hidden", str(args.hidden),
                    "--iterations", "1", "--lr", "1e-30", "--max-target-length", "20", "--eval-every", "1",
                    "--seed", str(seed), "--out", probe, "--force", "--json"], capture_output=True, check=True)
    initial = os.path.join(scratch, "initial.safetensors")
    subprocess.run([binary, "export", "--checkpoint", probe, "--out", initial, "--force"],
                   capture_output=True, check=True)
    drawn = os.path.join(scratch, "batches.json")
    with open(drawn, "w") as out:
        subprocess.run([os.path.join(root, "target/release/examples/seq2seq_batches"), train, str(seed),
                        str(args.iterations), "32"], stdout=out, check=True)
    losses = os.path.join(scratch, "losses.json")
    exact, _ = pytorch(train, val, seed, ["--init", initial, "--batches", drawn, "--losses", losses])
    with open(losses) as file:
        theirs = json.load(file)
    with open(os.path.join(run, "metrics.jsonl")) as lines:
        ours = {m["iteration"]: m["loss"] for m in map(json.loads, lines) if "loss" in m}
    apart = next((i for i in sorted(ours) if abs(ours[i] - theirs[i - 1]) > 1e-4), None)
    late = [i for i in sorted(ours) if i > args.iterations // 2]
    medians = (statistics.median(ours[i] for i in late), statistics.median(theirs[i - 1] for i in late))
    return exact, apart, medians


results = {}
with tempfile.TemporaryDirectory() as scratch:
    for task in args.tasks.split(","):
        train, val = os.path.join(scratch, f"{task}-train.tsv"), os.path.join(scratch, f"{task}-val.tsv")
        generate(task, args.pairs, 0, train)
        generate(task, 400, 1, val)
        for seed in seeds:
            run = os.path.join(scratch, f"{task}-{seed}")
            ours = unroll(train, val, seed, run)
            theirs = pytorch(train, val, seed)
            same = from_unrolls_start(train, val, seed, scratch, run) if args.same_start else None
            results[(task, seed)] = (ours, theirs, same)
            print(f"{task} seed {seed}: unroll {ours[0]:.3f} in {ours[1]:.2f} s, "
                  f"PyTorch {theirs[0]:.3f} in {theirs[1]:.2f} s", flush=True)
            if same:
                exact, apart, (our_median, their_median) = same
                print(f"    PyTorch from unroll's start, on its batches: {exact:.3f}; losses apart by more "
                      f"than 1e-4 from iteration {apart}; median loss over the last half "
                      f"{our_median:.5f} (unroll) and {their_median:.5f}", flush=True)

print(f"\nhidden {args.hidden}, {args.iterations} iterations, {args.pairs} training pairs, lr {args.lr} {' '.join(schedule[1:])}, seeds {args.seeds}")
print("| task | unroll, exact match | PyTorch, exact match | unroll's training, s | PyTorch's, s | PyTorch's s / unroll's |")
print("|---|---|---|---|---|---|")
for task in args.tasks.split(","):
    rows = [results[(task, seed)] for seed in seeds]
    ours, theirs = [r[0][0] for r in rows], [r[1][0] for r in rows]
    our_time, their_time = [r[0][1] for r in rows], [r[1][1] for r in rows]
    listed = lambda xs: " / ".join(f"{x:.3f}" for x in xs) + f" (mean {statistics.mean(xs):.3f})"
    print(f"| {task} | {listed(ours)} | {listed(theirs)} | {min(our_time):.2f}–{max(our_time):.2f} | "
          f"{min(their_time):.2f}–{max(their_time):.2f} | {sum(their_time) / sum(our_time):.2f}x |")
if args.same_start:
    print("\n| task | unroll, exact match | PyTorch from unroll's start and batches |\n|---|---|---|")
    for task in args.tasks.split(","):
        rows = [results[(task, seed)] for seed in seeds]
        listed = lambda xs: " / ".join(f"{x:.3f}" for x in xs) + f" (mean {statistics.mean(xs):.3f})"
        print(f"| {task} | {listed([r[0][0] for r in rows])} | {listed([r[2][0] for r in rows])} |")
