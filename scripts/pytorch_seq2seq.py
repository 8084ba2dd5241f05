"""The seq2seq recipe in PyTorch, for a speed and quality comparison run back to back with unroll.

    seq2seq generate --task reverse --pairs 4000 --seed 0 > train.tsv
    seq2seq generate --task reverse --pairs 400 --seed 1 > val.tsv
    python3 scripts/pytorch_seq2seq.py --data train.tsv --val val.tsv --iterations 1500

The model is unroll's: an nn.LSTM (nn.GRU, nn.RNN) encoder reading one-hot sources through
pack_padded_sequence, whose final state starts a decoder of the same shape fed the previous target
symbol (one-hot; `start` first), then an nn.Linear to the target symbols and `end`. Teacher
forcing, the cross-entropy per target step (`end` included) averaged over the batch's real steps,
Adam, global-norm clipping; batches of pairs of similar source length. Prints one JSON object:
training symbols per second (validation not counted), the validation's teacher-forced loss and
its open-loop (greedy) exact match. Needs torch (pip install torch).

`--init FILE` starts the run from unroll's initial weights (a safetensors file under PyTorch's
names, what `seq2seq export` writes of a run's first state), `--batches FILE` trains on unroll's
batches (what `cargo run --release -p unroll-training --example seq2seq_batches` prints for the
same file, seed and batch size); with both the two sides differ in nothing but their
arithmetic. `--losses FILE` writes every iteration's training loss. `--lr-schedule cosine --lr-min
M` decays the rate as unroll's `--lr-schedule cosine --lr-min M` does.
"""
import argparse
import json
import math
import random
import time

import torch
from torch.nn.utils.rnn import pack_padded_sequence
from torch_cells import recurrent_layers

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--val", required=True)
parser.add_argument("--cell", default="lstm")
parser.add_argument("--hidden", type=int, default=64)
parser.add_argument("--layers", type=int, default=1)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--iterations", type=int, default=1500)
parser.add_argument("--lr", type=float, default=5e-3)
parser.add_argument("--clip", type=float, default=5.0)
parser.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant")
parser.add_argument("--lr-min", type=float, default=0.0)
parser.add_argument("--max-target-length", type=int, default=20)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--init")
parser.add_argument("--batches")
parser.add_argument("--losses")
args = parser.parse_args()
torch.manual_seed(args.seed)
random.seed(args.seed)
torch.set_num_threads(args.threads)


def read(path):
    return [line.rstrip("\n").split("\t", 1) for line in open(path, encoding="utf-8") if line.strip()]


train, val = read(args.data), read(args.val)
source_symbols = sorted({c for s, _ in train for c in s})
target_symbols = sorted({c for _, t in train for c in t})
S = len(source_symbols) + 1  # the unknown symbol last
V = len(target_symbols) + 1
END, START, T = V, V + 1, V + 2
source_index = {c: i for i, c in enumerate(source_symbols)}
target_index = {c: i for i, c in enumerate(target_symbols)}


def encode(pairs):
    return [([source_index.get(c, S - 1) for c in s], [target_index.get(c, V - 1) for c in t] + [END])
            for s, t in pairs]


train, val = encode(train), encode(val)


class Seq2Seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = recurrent_layers(args.cell, S, args.hidden, args.layers)
        self.decoder = recurrent_layers(args.cell, T, args.hidden, args.layers)
        self.fc = torch.nn.Linear(args.hidden, T)

    def encode(self, sources):
        lengths = torch.tensor([len(s) for s in sources])
        padded = torch.zeros(len(sources), int(lengths.max()), dtype=torch.long)
        for row, s in enumerate(sources):
            padded[row, : len(s)] = torch.tensor(s)
        x = torch.nn.functional.one_hot(padded, S).float()
        _, state = self.encoder(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return state

    def forward(self, sources, targets):
        state = self.encode(sources)
        steps = max(len(t) for t in targets)
        previous = torch.zeros(len(targets), steps, dtype=torch.long)
        nexts = torch.full((len(targets), steps), -100, dtype=torch.long)
        for row, t in enumerate(targets):
            previous[row, : len(t)] = torch.tensor([START] + t[:-1])
            nexts[row, : len(t)] = torch.tensor(t)
        out, _ = self.decoder(torch.nn.functional.one_hot(previous, T).float(), state)
        logits = self.fc(out)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, T), nexts.reshape(-1), ignore_index=-100)
        return loss, int((nexts != -100).sum())


def batches(pairs, size):
    """Batches of pairs of similar source length, shuffled (unroll's bucketing, roughly)."""
    while True:
        order = list(range(len(pairs)))
        random.shuffle(order)
        pool = size * 50
        chunks = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start:start + pool], key=lambda i: -len(pairs[i][0]))
            chunks += [chunk[k:k + size] for k in range(0, len(chunk), size)]
        random.shuffle(chunks)
        yield from chunks


model = Seq2Seq()
drawn = batches(train, args.batch)
if args.batches:
    with open(args.batches) as file:
        unrolls = json.load(file)
    # The same ids on both sides: each vocabulary's characters in the same order.
    assert unrolls["source_symbols"] == source_symbols, (unrolls["source_symbols"], source_symbols)
    assert unrolls["target_symbols"] == target_symbols, (unrolls["target_symbols"], target_symbols)
    drawn = iter(unrolls["batches"])
if args.init:
    from safetensors.torch import load_file
    model.load_state_dict(load_file(args.init), strict=True)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)


def rate(i):
    """unroll's `--lr-schedule` at iteration i (from 0): its multiple of --lr."""
    if args.lr_schedule == "constant":
        return 1.0
    cosine = (1 + math.cos(math.pi * i / args.iterations)) / 2
    return (args.lr_min + (args.lr - args.lr_min) * cosine) / args.lr


schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
seconds, symbols, losses = 0.0, 0, []
for iteration, indices in zip(range(args.iterations), drawn):
    started = time.perf_counter()
    sources = [train[i][0] for i in indices]
    targets = [train[i][1] for i in indices]
    loss, steps = model(sources, targets)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
    optimizer.step()
    schedule.step()
    seconds += time.perf_counter() - started
    symbols += steps
    if args.losses:
        losses.append(loss.item())
if args.losses:
    with open(args.losses, "w") as file:
        json.dump(losses, file)

model.eval()
with torch.no_grad():
    total, count, exact = 0.0, 0, 0
    for k in range(0, len(val), args.batch):
        chunk = val[k:k + args.batch]
        loss, steps = model([s for s, _ in chunk], [t for _, t in chunk])
        total += float(loss) * steps
        count += steps
        state = model.encode([s for s, _ in chunk])
        previous = torch.full((len(chunk),), START)
        written = [[] for _ in chunk]
        done = [False] * len(chunk)
        for _ in range(args.max_target_length + 1):
            out, state = model.decoder(torch.nn.functional.one_hot(previous[:, None], T).float(), state)
            logits = model.fc(out[:, 0])
            logits[:, START] = logits[:, V - 1] = float("-inf")
            previous = logits.argmax(dim=1)
            for row, symbol in enumerate(previous.tolist()):
                if not done[row]:
                    if symbol == END or len(written[row]) == args.max_target_length:
                        done[row] = True
                    else:
                        written[row].append(symbol)
            if all(done):
                break
        exact += sum(w == t[:-1] for w, (_, t) in zip(written, chunk))
print(json.dumps({
    "symbols_per_second": symbols / seconds,
    "training_seconds": seconds,
    "validation_nats_per_symbol": total / count,
    "exact_match": exact / len(val),
    "torch": torch.__version__,
    "threads": args.threads,
}))
