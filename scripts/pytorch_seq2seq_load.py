"""Load a seq2seq safetensors export into PyTorch and translate with it.

    python3 scripts/pytorch_seq2seq_load.py runs/seq2seq/model.safetensors < sources.txt

Needs torch and safetensors (pip install torch safetensors). The file's tensors are those of two
torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU modules (the metadata's `cell`: tanh, lstm or gru),
the encoder and the decoder, and the decoder's torch.nn.Linear, loaded with strict=True. Each
line of stdin is a source; each output line is a JSON object with the greedy target and its
log-probability, as `seq2seq translate --json` writes them (characters the model never saw read
as its unknown symbol; the decoder never writes `start` or the unknown symbol).
"""
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch_cells import recurrent_layers

path = sys.argv[1]
with safe_open(path, "pt") as f:
    meta = f.metadata()
source_vocab = json.loads(meta["source_vocab"])
target_vocab = json.loads(meta["target_vocab"])
end, start = int(meta["end"]), int(meta["start"])
config = json.loads(meta["config"])
H, L, cell = config["model"]["hidden"], config["model"]["layers"], meta["cell"]
S, T = len(source_vocab), len(target_vocab) + 2  # the decoder's ids: the targets', end, start
max_length = config["max_target_length"]


class Seq2Seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = recurrent_layers(cell, S, H, L)
        self.decoder = recurrent_layers(cell, T, H, L)
        self.fc = torch.nn.Linear(H, T)


model = Seq2Seq()
model.load_state_dict(load_file(path), strict=True)
model.double()
model.eval()

source_index = {s: i for i, s in enumerate(source_vocab)}
unknown_source = source_index["<unk>"]
unknown_target = target_vocab.index("<unk>")
with torch.no_grad():
    for number, line in enumerate(sys.stdin, 1):
        text = line.rstrip("\n").rstrip("\r")
        ids = torch.tensor([[source_index.get(c, unknown_source) for c in text]])
        _, state = model.encoder(torch.nn.functional.one_hot(ids, S).double())
        previous, written, log_probability = start, [], 0.0
        for _ in range(max_length + 1):
            x = torch.nn.functional.one_hot(torch.tensor([[previous]]), T).double()
            out, state = model.decoder(x, state)
            logits = model.fc(out[0, 0])
            log_p = torch.log_softmax(logits, dim=0)
            logits[start] = logits[unknown_target] = float("-inf")
            choice = int(torch.argmax(logits))
            if len(written) == max_length and choice != end:
                break
            log_probability += float(log_p[choice])
            if choice == end:
                break
            written.append(choice)
            previous = choice
        target = "".join(target_vocab[i] for i in written)
        print(json.dumps({"line": number, "target": target, "log_probability": log_probability}))
