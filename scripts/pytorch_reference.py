"""PyTorch reference for the char-rnn recipe: the same model, data split, windows and optimiser.

    python3 scripts/pytorch_reference.py --data ../shared/data/tinyshakespeare.txt --steps 2000
    python3 scripts/pytorch_reference.py --data ../shared/data/tinyshakespeare.txt --cell lstm \
        --layers 2 --hidden 512 --dropout 0.25 --window 128 --minutes 30 --curve-every 120

Run by hand with a local PyTorch (pip install torch); never a test dependency. Prints tokens/s
and ms per training step (forward, cross-entropy over every step, backward, global-norm clip,
Adam), then the validation loss over the last 10 % as one stateful pass. `--cell` picks nn.RNN
(tanh), nn.LSTM or nn.GRU; `--minutes` stops training after that much training time instead of
`--steps`; `--curve-every S` scores the validation split every S seconds of training time (the
clock paused while it scores), printing `minutes M: validation L` lines: the loss against time.
"""
import argparse
import math
import os
import time

import torch
from torch_cells import recurrent_layers

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--hidden", type=int, default=256)
parser.add_argument("--layers", type=int, default=1)
parser.add_argument("--cell", choices=["tanh", "lstm", "gru"], default="tanh")
parser.add_argument("--dropout", type=float, default=0.0)
parser.add_argument("--minutes", type=float, default=None)
parser.add_argument("--curve-every", type=float, default=None)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--window", type=int, default=100)
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--lr", type=float, default=2e-3)
parser.add_argument("--clip", type=float, default=5.0)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
args = parser.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)

text = open(args.data, encoding="utf-8").read()
vocab = sorted(set(text))
index = {c: i for i, c in enumerate(vocab)}
data = torch.tensor([index[c] for c in text])
split = int(len(data) * 0.9)
train, valid = data[:split], data[split:]
V = len(vocab)


class CharRNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # The input is the one-hot previous symbol, as in unroll's pattern 1 (same initialisation).
        self.rnn = recurrent_layers(args.cell, V, args.hidden, args.layers, args.dropout)
        self.fc = torch.nn.Linear(args.hidden, V)

    def forward(self, x, h=None):
        out, h = self.rnn(torch.nn.functional.one_hot(x, V).float(), h)
        return self.fc(out), h


model = CharRNN()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
tokens_per_step = args.batch * args.window
print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads; {args.cell}, hidden {args.hidden}, "
      f"layers {args.layers}, dropout {args.dropout}, batch {args.batch}, window {args.window}, vocab {V}, "
      + (f"{args.minutes} minutes" if args.minutes else f"{args.steps} steps"))


def validation():
    """The last 10 % as one stateful pass, in chunks of 1024."""
    model.eval()
    total, h = 0.0, None
    with torch.no_grad():
        for start in range(0, len(valid) - 1, 1024):
            y = valid[start + 1:start + 1025]
            x = valid[start:start + len(y)]
            logits, h = model(x[None], h)
            total += torch.nn.functional.cross_entropy(logits[0], y, reduction="sum").item()
    model.train()
    return total / (len(valid) - 1)


started = time.perf_counter()
paused = 0.0  # seconds spent scoring the curve, not training
next_point = args.curve_every
step = 0
while True:
    step += 1
    trained = time.perf_counter() - started - paused
    if (args.minutes is None and step > args.steps) or (args.minutes is not None and trained >= 60 * args.minutes):
        step -= 1
        break
    if next_point is not None and trained >= next_point:
        scoring = time.perf_counter()
        print(f"minutes {trained / 60:.2f}: validation {validation():.4f} (step {step - 1})", flush=True)
        paused += time.perf_counter() - scoring
        next_point += args.curve_every
    starts = torch.randint(0, len(train) - args.window - 1, (args.batch,))
    x = torch.stack([train[s:s + args.window] for s in starts])
    y = torch.stack([train[s + 1:s + args.window + 1] for s in starts])
    logits, _ = model(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
    optimizer.step()
    if step % 200 == 0 or step == args.steps:
        elapsed = time.perf_counter() - started - paused
        print(f"step {step}: loss {loss.item():.4f}, {step * tokens_per_step / elapsed:.0f} tokens/s, "
              f"{1000 * elapsed / step:.1f} ms/step", flush=True)
train_seconds = time.perf_counter() - started - paused
nats = validation()
print(f"training {train_seconds:.1f} s; validation {nats:.4f} nats/char, {nats / math.log(2):.4f} bits/char "
      f"over {len(valid) - 1} characters (one stateful pass) (step {step})")
