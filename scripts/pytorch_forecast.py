"""Load a forecast safetensors export into PyTorch and continue a series, as `forecast forecast` does.

    cargo run --release --example forecast -- export --checkpoint runs/forecast --out model.safetensors
    python3 scripts/pytorch_forecast.py model.safetensors series.csv 100 > torch.json
    cargo run --release --example forecast -- forecast --checkpoint runs/forecast --data series.csv --horizon 100 --json > unroll.json
    python3 scripts/pytorch_forecast.py --compare torch.json unroll.json

Needs torch and safetensors (pip install torch safetensors). Pattern 2 is
o = fc(tanh(feedback(y))), two torch.nn.Linear layers; pattern 1 is torch.nn.RNN (tanh;
nn.LSTM or nn.GRU as the metadata's `cell` says; batch_first) followed by torch.nn.Linear at
every step; both are loaded with strict=True. The
series is standardised with the statistics in the file's metadata; the model reads the last
`warmup` rows (the run's setting), then feeds back its own outputs. One JSON object is printed,
with the forecast in the data's units.
"""
import csv
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch_cells import recurrent_layers


def read_rows(path):
    rows = []
    with open(path, newline="") as f:
        for record in csv.reader(f):
            if not record or record[0].startswith("#"):
                continue
            try:
                rows.append([float(v) for v in record])
            except ValueError:
                if rows:
                    raise
    return rows


class Pattern2(torch.nn.Module):
    def __init__(self, width, hidden, outputs):
        super().__init__()
        self.feedback = torch.nn.Linear(width, hidden)
        self.fc = torch.nn.Linear(hidden, outputs)
        self.width = width

    def forward(self, y):
        # Under the Gaussian NLL the outputs are the means, then the log-variances.
        return self.fc(torch.tanh(self.feedback(y)))[..., : self.width]


class Pattern1(torch.nn.Module):
    def __init__(self, width, hidden, layers, outputs, cell="tanh"):
        super().__init__()
        self.rnn = recurrent_layers(cell, width, hidden, layers)
        self.fc = torch.nn.Linear(hidden, outputs)
        self.width = width

    def forward(self, y, state=None):
        h, state = self.rnn(y, state)
        return self.fc(h)[..., : self.width], state


def main():
    if sys.argv[1] == "--compare":
        ours, theirs = (json.load(open(p)) for p in sys.argv[2:4])
        a, b = torch.tensor(ours["forecast"]), torch.tensor(theirs["forecast"])
        assert a.shape == b.shape, (a.shape, b.shape)
        worst = (a - b).abs().max().item()
        scale = b.abs().max().item()
        print(f"{a.shape[0]} steps agree (largest difference {worst:.2e}, values up to {scale:.1f})")
        sys.exit(0 if worst <= 1e-3 * max(1.0, scale) else 1)
    path, data, horizon = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with safe_open(path, "pt") as f:
        metadata = f.metadata()
    stats = json.loads(metadata["standardization"])
    config = json.loads(metadata["config"])
    mean = torch.tensor(stats["mean"], dtype=torch.float64)
    deviation = torch.tensor(stats["deviation"], dtype=torch.float64)
    width, hidden = len(stats["mean"]), config["model"]["hidden"]
    outputs = 2 * width if config.get("loss") == "gaussian_nll" else width
    rows = torch.tensor(read_rows(data), dtype=torch.float64)
    standard = ((rows - mean) / deviation).float()
    warm = standard[-min(config["warmup"], len(rows)):].unsqueeze(0)
    tensors = load_file(path)
    with torch.no_grad():
        if metadata["pattern"] == "2":
            model = Pattern2(width, hidden, outputs)
            model.load_state_dict(tensors, strict=True)
            y = model(warm[:, -1])
            out = [y]
            for _ in range(horizon - 1):
                y = model(y)
                out.append(y)
        else:
            model = Pattern1(width, hidden, config["model"]["layers"], outputs, metadata.get("cell", "tanh"))
            model.load_state_dict(tensors, strict=True)
            o, state = model(warm)
            y = o[:, -1]
            out = [y]
            for _ in range(horizon - 1):
                o, state = model(y.unsqueeze(1), state)
                y = o[:, -1]
                out.append(y)
    forecast = torch.cat(out).double() * deviation + mean
    print(json.dumps({"columns": stats["columns"], "after_row": len(rows), "forecast": forecast.tolist()}))


if __name__ == "__main__":
    main()
