"""Writes crates/training/tests/fixtures/trajectory.json: PyTorch's runs from unroll's starts.

    python3 scripts/pytorch_trajectory_fixture.py        (a Python with torch and safetensors)

Runs the training crate's `trajectory` test with UNROLL_TRAJECTORY_DUMP set, so that each case
writes the trainer's initial weights (safetensors, PyTorch's names) and its batches; then trains
PyTorch's modules from those weights on those batches: for a language model nn.RNN/nn.LSTM/nn.GRU
(batch_first, the one-hot previous symbol as input) + nn.Linear, the loss averaged over every
symbol; for seq2seq an encoder over packed one-hot sources whose final state starts a decoder
fed `start` and the target, + nn.Linear, the loss averaged over the real target steps; both
with clip_grad_norm_ and Adam (PyTorch's defaults, eps 1e-8). It records every iteration's loss and
gradient norm (before clipping) and the weights after the last iteration. unroll's tanh cell has
one bias (the textbook's b), exported as bias_ih with bias_hh zeros: PyTorch's bias_hh is held
at zero here.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from torch_cells import recurrent_layers  # noqa: E402

root = pathlib.Path(__file__).resolve().parent.parent
dump = pathlib.Path(tempfile.mkdtemp(prefix="unroll-trajectory-"))
# The test fails against a stale fixture; what it dumps before comparing is what is needed.
subprocess.run(["cargo", "test", "--release", "-p", "unroll-training", "--test", "trajectory"],
               cwd=root, env={**os.environ, "UNROLL_TRAJECTORY_DUMP": str(dump)})
if not list(dump.glob("*.json")):
    sys.exit(f"the test wrote nothing to {dump}: does it build?")
torch.set_num_threads(1)
cases = []
def one_hot(ids, width):
    return torch.nn.functional.one_hot(torch.tensor(ids), width).float()


def language(run, initial):
    """A language model: the windows' one-hot previous symbols through the stack, then fc."""
    layers = 1 + max(int(k.rsplit("_l", 1)[1]) for k in initial if k.startswith("rnn.weight_ih_l"))
    width, hidden = initial["rnn.weight_ih_l0"].shape[1], initial["rnn.weight_hh_l0"].shape[1]
    model = torch.nn.ModuleDict({
        "rnn": recurrent_layers(run["cell"], width, hidden, layers),
        "fc": torch.nn.Linear(hidden, initial["fc.weight"].shape[0]),
    })
    shape = (run["batch"], run["window"])

    def loss(batch):
        inputs, targets = batch
        out, _ = model["rnn"](one_hot(inputs, width).reshape(*shape, width))
        logits = model["fc"](out)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 torch.tensor(targets))
    return model, loss, [f"rnn.bias_hh_l{k}" for k in range(layers)]


def seq2seq(run, initial):
    """An encoder over packed one-hot sources whose final state starts the decoder, fed `start`
    then the target's symbols; the cross-entropy of every real target step (`end` included),
    averaged over them."""
    layers = 1 + max(int(k.rsplit("_l", 1)[1]) for k in initial if k.startswith("encoder.weight_ih_l"))
    hidden = initial["encoder.weight_hh_l0"].shape[1]
    source_width = initial["encoder.weight_ih_l0"].shape[1]
    target_width = initial["decoder.weight_ih_l0"].shape[1]
    model = torch.nn.ModuleDict({
        "encoder": recurrent_layers(run["cell"], source_width, hidden, layers),
        "decoder": recurrent_layers(run["cell"], target_width, hidden, layers),
        "fc": torch.nn.Linear(hidden, initial["fc.weight"].shape[0]),
    })

    def loss(batch):
        sources, targets = batch
        lengths = torch.tensor([len(s) for s in sources])
        padded = torch.zeros(len(sources), int(lengths.max()), dtype=torch.long)
        for row, s in enumerate(sources):
            padded[row, :len(s)] = torch.tensor(s)
        packed = pack_padded_sequence(one_hot(padded.tolist(), source_width), lengths,
                                      batch_first=True, enforce_sorted=False)
        _, state = model["encoder"](packed)
        steps = max(len(t) for t in targets)
        previous = torch.zeros(len(targets), steps, dtype=torch.long)
        nexts = torch.full((len(targets), steps), -100, dtype=torch.long)
        for row, t in enumerate(targets):
            previous[row, :len(t)] = torch.tensor([run["start"]] + t[:-1])
            nexts[row, :len(t)] = torch.tensor(t)
        out, _ = model["decoder"](one_hot(previous.tolist(), target_width), state)
        logits = model["fc"](out)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 nexts.reshape(-1), ignore_index=-100)
    prefixes = ("encoder", "decoder")
    return model, loss, [f"{p}.bias_hh_l{k}" for p in prefixes for k in range(layers)]


for path in sorted(dump.glob("*.json")):
    name = path.stem
    run = json.loads(path.read_text())
    initial = load_file(str(dump / f"{name}.safetensors"))
    model, loss_of, second_biases = {"language": language, "seq2seq": seq2seq}[run["task"]](run, initial)
    model.load_state_dict(initial, strict=True)
    if run["cell"] == "tanh":
        for parameter_name, parameter in model.named_parameters():
            if parameter_name in second_biases:
                parameter.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=run["learning_rate"], eps=1e-8)
    losses, norms = [], []
    for batch in run["batches"]:
        loss = loss_of(batch)
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(parameters, run["clip"])
        optimizer.step()
        losses.append(loss.item())
        norms.append(norm.item())
    # Nine significant digits give back every f32 exactly.
    flat = {k: [float(f"{x:.9g}") for x in v.flatten().tolist()] for k, v in model.state_dict().items()}
    cases.append({"name": name, "losses": losses, "gradient_norms": norms, "trained": flat})
    clipped = sum(n > run["clip"] for n in norms)
    print(f"{name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}, {clipped} of {len(norms)} clipped")
out = root / "crates/training/tests/fixtures/trajectory.json"
out.write_text(json.dumps(cases, separators=(",", ":")) + "\n")
print(f"wrote {out}")
