"""Writes crates/training/tests/fixtures/trajectory.json: PyTorch's run from unroll's start.

    python3 scripts/pytorch_trajectory_fixture.py        (a Python with torch and safetensors)

Runs the training crate's `trajectory` test with UNROLL_TRAJECTORY_DUMP set, so that each case
writes the trainer's initial weights (safetensors, PyTorch's names) and its windows; then trains
PyTorch's nn.RNN/nn.LSTM/nn.GRU (batch_first, the one-hot previous symbol as input) + nn.Linear
from those weights on those windows: the loss averaged over every symbol,
clip_grad_norm_, Adam (PyTorch's defaults, eps 1e-8). It records every iteration's loss and
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
for path in sorted(dump.glob("*.json")):
    name = path.stem
    run = json.loads(path.read_text())
    initial = load_file(str(dump / f"{name}.safetensors"))
    layers = 1 + max(int(k.rsplit("_l", 1)[1]) for k in initial if k.startswith("rnn.weight_ih_l"))
    width = initial["rnn.weight_ih_l0"].shape[1]
    hidden = initial["rnn.weight_hh_l0"].shape[1]
    vocab = initial["fc.weight"].shape[0]
    model = torch.nn.ModuleDict({
        "rnn": recurrent_layers(run["cell"], width, hidden, layers),
        "fc": torch.nn.Linear(hidden, vocab),
    })
    model.load_state_dict(initial, strict=True)
    if run["cell"] == "tanh":
        for k in range(layers):
            getattr(model["rnn"], f"bias_hh_l{k}").requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=run["learning_rate"], eps=1e-8)
    losses, norms = [], []
    shape = (run["batch"], run["window"])
    for inputs, targets in run["batches"]:
        inputs = torch.tensor(inputs).reshape(shape)
        targets = torch.tensor(targets).reshape(shape)
        out, _ = model["rnn"](torch.nn.functional.one_hot(inputs, width).float())
        logits = model["fc"](out)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
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
