"""Load a char-rnn safetensors export into PyTorch and score its validation loss.

    python3 scripts/pytorch_load.py runs/shakespeare/model.safetensors input.txt

Needs torch and safetensors (pip install torch safetensors). Pattern 1 only: the file's tensors
are those of torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU (the metadata's `cell`: tanh, lstm or
gru) followed by torch.nn.Linear, loaded with strict=True.
"""
import json
import math
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch_cells import recurrent_layers

path, data = sys.argv[1], sys.argv[2]
with safe_open(path, "pt") as f:
    meta = f.metadata()
vocab = json.loads(meta["vocab"])
config = json.loads(meta["config"])
V, H, L = len(vocab), config["model"]["hidden"], config["model"]["layers"]
cell = meta.get("cell", "tanh")  # exports before the gated cells had only tanh


class CharRNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = recurrent_layers(cell, V, H, L)
        self.fc = torch.nn.Linear(H, V)

    def forward(self, x, h=None):
        out, h = self.rnn(torch.nn.functional.one_hot(x, V).float(), h)
        return self.fc(out), h


model = CharRNN()
model.load_state_dict(load_file(path), strict=True)

text = open(data, encoding="utf-8").read()
index = {s: i for i, s in enumerate(vocab)}
unknown = index.get("<unk>")  # the unknown symbol, where the model has one, reads any other char
ids = torch.tensor([index.get(c, unknown) if unknown is not None else index[c]
                    for c in text[int(len(text) * 0.9):]])  # the last 10 %
total, h = 0.0, None
with torch.no_grad():
    for start in range(0, len(ids) - 1, 1024):  # one stateful pass, in chunks
        x, y = ids[start:start + 1024], ids[start + 1:start + 1025]
        x = x[: len(y)]
        logits, h = model(x[None], h)
        total += torch.nn.functional.cross_entropy(logits[0], y, reduction="sum").item()
nats = total / (len(ids) - 1)
print(f"{cell}: validation loss {nats:.4f} nats/char, {nats / math.log(2):.4f} bits/char, over {len(ids) - 1} characters")
