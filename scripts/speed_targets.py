"""Issue 32's and 35's speed targets, row by row, from rounds of `scripts/compare_speed.sh`.

    python3 scripts/speed_targets.py UNROLL_OUTPUT PYTORCH_OUTPUT [UNROLL_OUTPUT PYTORCH_OUTPUT ...]

Reads what `cargo bench -p unroll-cli --bench speed -- MODE` and `scripts/pytorch_speed.py MODE`
printed in one round on one host and prints, for each row both sides ran, the two rates, their
ratio, the rate of the same products timed alone on this host (unroll's line "the same products
alone", the host's ceiling) and the target: the lesser of R times PyTorch's rate and 85 % of the
products alone, R being 1.3 for one layer and for both directions and 1.25 for the stacks. Rates
are GFLOP/s of the step's products (both sides count the same FLOPs). Given several rounds (a pair
of files each, in order), it prints each round's table, then every row's range over the rounds and
in how many its target was met.
"""
import re
import sys

ROW = re.compile(r"^(\w+) \S+ .*?(?P<size>\d+L H \d+ batch \d+ window \d+(?: dropout \S+)?)\s+(?P<tokens>\d+) tokens/s")
RATE = re.compile(r"GFLOP a step in products: (\d+) GFLOP/s")
ALONE = re.compile(r"the same products alone on this host: (\d+) GFLOP/s")


def rows(path):
    """{(cell, both ways, size): {tokens, rate, alone}} in the order printed."""
    found, current = {}, None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            row = ROW.match(line)
            if row:
                size = row["size"].replace(" dropout 0.0", " dropout 0")
                current = (row[1], "both ways" in line, size)
                found[current] = {"tokens": int(row["tokens"])}
            elif current and (rate := RATE.search(line)):
                found[current]["rate"] = int(rate[1])
            elif current and (alone := ALONE.search(line)):
                found[current]["alone"] = int(alone[1])
    return found


def verdicts(ours, theirs):
    """[(name, unroll row, PyTorch row, ratio, target, met)] for the rows both sides ran."""
    found = []
    for key, mine in ours.items():
        other = theirs.get(key)
        if other is None or "rate" not in mine or "rate" not in other or "alone" not in mine:
            continue
        cell, both, size = key
        factor = 1.3 if both or size.startswith("1L ") else 1.25
        target = min(factor * other["rate"], 0.85 * mine["alone"])
        name = f"{cell} {'both ways ' if both else ''}{size}"
        found.append((name, mine, other, mine["rate"] / other["rate"], target, mine["rate"] >= target))
    return found


def main():
    files = sys.argv[1:]
    if not files or len(files) % 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    rounds = [verdicts(rows(files[k]), rows(files[k + 1])) for k in range(0, len(files), 2)]
    for number, found in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f"round {number}")
        print(f"{'row':52} {'unroll':>14} {'PyTorch':>14} {'ratio':>6} {'alone':>6} {'target':>7}  met")
        for name, mine, other, ratio, target, met in found:
            print(
                f"{name:52} {mine['tokens']:>7} ({mine['rate']:>3}) {other['tokens']:>7} ({other['rate']:>3})"
                f" {ratio:>5.2f}x {mine['alone']:>6} {target:>7.0f}  "
                f"{'yes' if met else 'no (%.1f %%)' % (100 * mine['rate'] / target)}"
            )
    if len(rounds) > 1:
        print(f"\nover {len(rounds)} rounds")
        print(f"{'row':52} {'ratio':>13} {'share of target':>17}  met")
        names = [name for name, *_ in rounds[0]]
        for name in names:
            seen = [v for found in rounds for v in found if v[0] == name]
            ratios = [v[3] for v in seen]
            shares = [100 * v[1]["rate"] / v[4] for v in seen]
            met = sum(v[5] for v in seen)
            print(
                f"{name:52} {min(ratios):>5.2f}-{max(ratios):.2f}x {min(shares):>8.0f}-{max(shares):.0f} %"
                f"  {met} of {len(seen)}"
            )


main()
