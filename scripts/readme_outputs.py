"""Checks that the README's quoted outputs are what today's programs print.

The README quotes what the no-argument runs end with (char-rnn, classify, forecast, seq2seq).
A change that only reorders a sum moves those figures (BENCHMARKS.md, "The seq2seq study,
rerun"), and nothing else would notice: this runs each program as a new user would, in a
fresh directory, and names every quoted line the program no longer prints. Lines that hold a
time or a rate (they vary by host) and `...` are not compared.

    cargo build --release --examples
    python3 scripts/readme_outputs.py            # exits 1 if a quoted line is not printed
    python3 scripts/readme_outputs.py --only forecast
"""

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Each program, and a line that only its quoted block holds: that is how its block is found.
PROGRAMS = {
    "char-rnn": "the built-in corpus's true entropy",
    "classify": "chance is 50 %",
    "forecast": "teacher forcing        curriculum",
    "seq2seq": "strategy             nats/symbol",
}

# A line that reports a time or a rate differs from host to host.
TIMED = re.compile(r"\d s\b|\d s \(|symbols/s|steps/s|seconds")


def quoted_blocks(readme):
    """Every ```text block of the README, as its lines."""
    return re.findall(r"```text\n(.*?)```", readme, flags=re.S)


def block_of(program, blocks):
    marker = PROGRAMS[program]
    found = [b for b in blocks if marker in b]
    if len(found) != 1:
        sys.exit(f"{program}: {len(found)} quoted blocks hold {marker!r}, expected one")
    return [line.rstrip() for line in found[0].splitlines()]


def run(program, binaries):
    with tempfile.TemporaryDirectory() as directory:
        result = subprocess.run(
            [str(binaries / program)],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        sys.exit(f"{program} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return {line.rstrip() for line in (result.stdout + result.stderr).splitlines()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--binaries",
        type=pathlib.Path,
        default=ROOT / "target" / "release" / "examples",
        help="where the programs are (default: target/release/examples)",
    )
    parser.add_argument("--only", action="append", choices=sorted(PROGRAMS))
    args = parser.parse_args()
    blocks = quoted_blocks((ROOT / "README.md").read_text())
    missing = 0
    for program in args.only or PROGRAMS:
        printed = run(program, args.binaries)
        compared = [
            line
            for line in block_of(program, blocks)
            if line.strip() not in ("", "...") and not TIMED.search(line)
        ]
        absent = [line for line in compared if line not in printed]
        missing += len(absent)
        print(f"{program}: {len(compared) - len(absent)} of {len(compared)} quoted lines printed")
        for line in absent:
            print(f"  not printed: {line}")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
