"""Load a classify safetensors export into PyTorch and predict, as `classify predict` does.

    cargo run --release --example classify -- export --checkpoint runs/classify --out model.safetensors
    python3 scripts/pytorch_classify.py model.safetensors inputs.txt > torch.jsonl
    cargo run --release --example classify -- predict --checkpoint runs/classify --input inputs.txt --json > unroll.jsonl
    python3 scripts/pytorch_classify.py --compare torch.jsonl unroll.jsonl

Needs torch and safetensors (pip install torch safetensors). The file's tensors are those of
torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU (the metadata's `cell`; with bidirectional=True when
its `bidirectional` is true) followed by torch.nn.Linear on the last real step's state (both
directions' final states, concatenated, when bidirectional), loaded with strict=True; sequences
of different lengths run packed (pack_padded_sequence). A per-step labeller (`classify train
--per-step`) applies the same nn.Linear to every step's output instead (both directions' outputs
concatenated, when bidirectional). Each input line is a text (a one-hot symbol per character, or
per byte for byte-mode models) or comma-separated values; one JSON object per line is printed: the
label and its probability, the value, or every character's label and its probability.
"""
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch_cells import recurrent_layers


def compare(ours, theirs):
    """Every line's label agrees and its probability (or value) is within 1e-4."""
    a = [json.loads(l) for l in open(ours)]
    b = [json.loads(l) for l in open(theirs)]
    assert len(a) == len(b), f"{len(a)} lines against {len(b)}"
    worst = 0.0
    for x, y in zip(a, b):
        if "labels" in x:
            assert x["labels"] == y["labels"], (x, y)
            for p, q in zip(x["probabilities"], y["probabilities"]):
                worst = max(worst, abs(p - q))
        elif "label" in x:
            assert x["label"] == y["label"], (x, y)
            worst = max(worst, abs(x["probability"] - y["probability"]))
        else:
            worst = max(worst, abs(x["value"] - y["value"]) / max(1.0, abs(y["value"])))
    assert worst < 1e-4, f"largest difference {worst}"
    print(f"{len(a)} predictions agree (largest difference {worst:.2e})")


if sys.argv[1] == "--compare":
    compare(sys.argv[2], sys.argv[3])
    sys.exit(0)

path, inputs = sys.argv[1], sys.argv[2]
with safe_open(path, "pt") as f:
    meta = f.metadata()
encoding = json.loads(meta["encoding"])
config = json.loads(meta["config"])
H, L = config["model"]["hidden"], config["model"]["layers"]
reads_text = encoding["inputs"]["input"] == "symbols"
if reads_text:
    vocabulary = encoding["inputs"]["vocabulary"]
    if vocabulary["mode"] == "bytes":
        width, encode = 256, lambda line: list(line.encode("latin-1"))
    else:
        index = {s: i for i, s in enumerate(vocabulary["symbols"])}
        # The unknown symbol, when the model has one, takes the id after the last symbol's and
        # stands for every character the vocabulary lacks.
        unknown = len(index) if vocabulary.get("unknown") else None
        width = len(index) + (unknown is not None)
        encode = lambda line: [index.get(c, unknown) if unknown is not None else index[c] for c in line]
else:
    width = 1
per_step = encoding["targets"]["target"] == "step_labels"
classes = encoding["targets"]["target"] == "classes" or per_step
outputs = len(encoding["targets"]["labels"]) if classes else 1
bidirectional = meta.get("bidirectional") == "true"


class Summarizer(torch.nn.Module):
    """Pattern 3: nn.RNN reads the sequence, nn.Linear maps its last real state."""

    def __init__(self):
        super().__init__()
        cell = meta.get("cell", "tanh")
        self.rnn = recurrent_layers(cell, width, H, L, bidirectional=bidirectional)
        self.fc = torch.nn.Linear(2 * H if bidirectional else H, outputs)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        every, h = self.rnn(packed)
        if per_step:
            every, _ = torch.nn.utils.rnn.pad_packed_sequence(every, batch_first=True)
            return self.fc(every)  # [batch, time, labels]: every step's own output
        if isinstance(h, tuple):  # an LSTM's (h_n, c_n)
            h = h[0]
        # Both ways, h_n's last two rows: the top layer forward, then backward.
        return self.fc(torch.cat([h[-2], h[-1]], 1) if bidirectional else h[-1])


model = Summarizer()
model.load_state_dict(load_file(path), strict=True)
# Byte-mode models read every byte as a symbol: latin-1 maps each byte to the char of its value.
text_mode = not (reads_text and vocabulary["mode"] == "bytes")
lines = [l.rstrip("\r\n") for l in open(inputs, encoding="utf-8" if text_mode else "latin-1")]
lines = [l for l in lines if l.strip()]
if reads_text:
    sequences = [torch.nn.functional.one_hot(torch.tensor(encode(l)), width).float() for l in lines]
else:
    sequences = [torch.tensor([float(v) for v in l.split(",")])[:, None] for l in lines]
lengths = torch.tensor([len(s) for s in sequences])
x = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True)
with torch.no_grad():
    o = model(x, lengths).double()
for line, row, n in zip(lines, o, lengths.tolist()):
    if per_step:
        p = torch.softmax(row[:n], 1)
        k = torch.argmax(p, 1)
        labels = "".join(encoding["targets"]["labels"][int(i)] for i in k)
        probabilities = [float(p[t, int(i)]) for t, i in enumerate(k)]
        print(json.dumps({"input": line, "labels": labels, "probabilities": probabilities}))
    elif classes:
        p = torch.softmax(row, 0)
        k = int(torch.argmax(p))
        print(json.dumps({"input": line, "label": encoding["targets"]["labels"][k], "probability": float(p[k])}))
    else:
        t = encoding["targets"]
        print(json.dumps({"input": line, "value": t["mean"] + t["deviation"] * float(row[0])}))
