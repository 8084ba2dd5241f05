"""Load a seq2seq safetensors export into PyTorch and translate with it.

    python3 scripts/pytorch_seq2seq_load.py runs/seq2seq/model.safetensors [--beam K] < sources.txt

Needs torch and safetensors (pip install torch safetensors). The file's tensors are those of two
torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU modules (the metadata's `cell`: tanh, lstm or gru),
the encoder and the decoder, and the decoder's torch.nn.Linear, loaded with strict=True. An
encoder that reads both ways (the metadata's `bidirectional`) is the module with
bidirectional=True and half the units; each layer's final states, forward then backward,
concatenated, start the decoder's layer. With the summary in every decoder input (the
metadata's `summary_input`), the decoder reads the one-hot previous symbol and the summary's
top layer `h`, concatenated, at every step. Each
line of stdin is a source; each output line is a JSON object with the target (greedy, or beam
search of K hypotheses ranked by log-probability per symbol) and its log-probability, as
`seq2seq translate --json` writes them (characters the model never saw read as its unknown
symbol; the decoder never writes `start` or the unknown symbol).
"""
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch_cells import recurrent_layers

path = sys.argv[1]
width = int(sys.argv[sys.argv.index("--beam") + 1]) if "--beam" in sys.argv else 1
with safe_open(path, "pt") as f:
    meta = f.metadata()
source_vocab = json.loads(meta["source_vocab"])
target_vocab = json.loads(meta["target_vocab"])
end, start = int(meta["end"]), int(meta["start"])
config = json.loads(meta["config"])
H, L, cell = config["model"]["hidden"], config["model"]["layers"], meta["cell"]
S, T = len(source_vocab), len(target_vocab) + 2  # the decoder's ids: the targets', end, start
max_length = config["max_target_length"]
bidirectional = meta.get("bidirectional") == "true"
summary_input = meta.get("summary_input") == "true"


class Seq2Seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = recurrent_layers(
            cell, S, H // 2 if bidirectional else H, L, bidirectional=bidirectional
        )
        self.decoder = recurrent_layers(cell, T + H if summary_input else T, H, L)
        self.fc = torch.nn.Linear(H, T)


model = Seq2Seq()
model.load_state_dict(load_file(path), strict=True)
model.double()
model.eval()

source_index = {s: i for i, s in enumerate(source_vocab)}
unknown_source = source_index["<unk>"]
unknown_target = target_vocab.index("<unk>")


def step(previous, state):
    """The decoder fed `previous` (a list of ids, one per hypothesis) from `state`."""
    x = torch.nn.functional.one_hot(torch.tensor([[p] for p in previous]), T).double()
    if summary_input:  # the source's summary (top layer h), the same for every hypothesis
        x = torch.cat([x, context.expand(len(previous), 1, H)], dim=2)
    out, state = model.decoder(x, state)
    return torch.log_softmax(model.fc(out[:, 0]), dim=1), state


def select(state, rows):
    index = torch.tensor(rows, dtype=torch.long)
    if isinstance(state, tuple):
        return tuple(s[:, index] for s in state)
    return state[:, index]


def beam(state):
    """Beam search as unroll's: the `width` best prefixes by log-probability at every step."""
    live, finished = [([], 0.0)], []
    while live and len(finished) < width:
        log_p, state_next = step([ids[-1] if ids else start for ids, _ in live], state)
        candidates = []
        for i, (ids, lp) in enumerate(live):
            for symbol in range(T):
                if symbol not in (start, unknown_target):
                    candidates.append((i, symbol, lp + float(log_p[i, symbol])))
        candidates.sort(key=lambda c: -c[2])
        kept, at_the_limit = [], set()
        for i, symbol, lp in candidates:
            if len(kept) == width or len(finished) == width:
                break
            ids = live[i][0]
            if symbol == end:
                finished.append((ids, lp, lp / (len(ids) + 1)))
            elif len(ids) == max_length:
                if i not in at_the_limit:
                    at_the_limit.add(i)
                    finished.append((ids, live[i][1], live[i][1] / max(len(ids), 1)))
            else:
                kept.append((i, ids + [symbol], lp))
        state = select(state_next, [i for i, _, _ in kept])
        live = [(ids, lp) for _, ids, lp in kept]
    finished += [(ids, lp, lp / max(len(ids), 1)) for ids, lp in live]
    ids, lp, _ = max(finished, key=lambda f: f[2])
    return ids, lp


with torch.no_grad():
    for number, line in enumerate(sys.stdin, 1):
        text = line.rstrip("\n").rstrip("\r")
        ids = torch.tensor([[source_index.get(c, unknown_source) for c in text]])
        _, state = model.encoder(torch.nn.functional.one_hot(ids, S).double())
        if bidirectional:  # [2L, 1, H/2], layer by layer forward then backward -> [L, 1, H]
            join = lambda s: s.view(L, 2, 1, H // 2).transpose(1, 2).reshape(L, 1, H)
            state = tuple(map(join, state)) if isinstance(state, tuple) else join(state)
        context = (state[0] if isinstance(state, tuple) else state)[-1].view(1, 1, H)
        written, log_probability = beam(state)
        target = "".join(target_vocab[i] for i in written)
        print(json.dumps({"line": number, "target": target, "log_probability": log_probability}))
