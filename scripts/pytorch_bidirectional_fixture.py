"""Write the fixture the bidirectional stacks are tested against: PyTorch's own numbers.

    python3 scripts/pytorch_bidirectional_fixture.py > crates/model/tests/fixtures/bidirectional.json

For torch.nn.RNN (tanh), torch.nn.LSTM and torch.nn.GRU with bidirectional=True, two layers,
batch_first, float64, seeded weights and inputs, and padded rows of different lengths run as a
packed sequence (each row's backward direction starting at its own last real step): the weights
in PyTorch's layout (`weight_ih_l0`, `weight_ih_l0_reverse`, …), the outputs at every real step
(zero on padding, as `pad_packed_sequence` gives them), the final states `h_n` (and `c_n`), and
the gradient of a fixed weighted sum of the real outputs and the final states with respect to
every weight and the input. Zero initial states. Needs torch; the tests read the committed JSON
and never need PyTorch.
"""
import json

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(2027)
BATCH, TIME, INPUT, HIDDEN, LAYERS = 3, 5, 3, 4, 2
# Unsorted, with a row of one step: the backward direction of each starts at its own end.
LENGTHS = [3, 5, 1]


def case(kind):
    cls = {"tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    rnn = cls(INPUT, HIDDEN, num_layers=LAYERS, batch_first=True, bidirectional=True).double()
    x = torch.randn(BATCH, TIME, INPUT, dtype=torch.float64, requires_grad=True)
    w_out = torch.randn(BATCH, TIME, 2 * HIDDEN, dtype=torch.float64)
    w_h = torch.randn(2 * LAYERS, BATCH, HIDDEN, dtype=torch.float64)
    w_c = torch.randn(2 * LAYERS, BATCH, HIDDEN, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
    if kind == "lstm":
        out, (hn, cn) = rnn(packed)
    else:
        out, hn = rnn(packed)
        cn = None
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=TIME)
    loss = (out * w_out).sum() + (hn * w_h).sum()
    if cn is not None:
        loss = loss + (cn * w_c).sum()
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    result = {
        "cell": kind,
        "layers": LAYERS,
        "batch": BATCH,
        "time": TIME,
        "input": INPUT,
        "hidden": HIDDEN,
        "lengths": LENGTHS,
        "x": flat(x),
        "output_weights": flat(w_out),
        "final_weights": flat(w_h),
        "outputs": flat(out),
        "h_n": flat(hn),
        "loss": loss.item(),
        "grad_x": flat(x.grad),
    }
    for name, p in rnn.named_parameters():
        result[name] = flat(p)
        result["grad_" + name] = flat(p.grad)
    if cn is not None:
        result.update({"cell_weights": flat(w_c), "c_n": flat(cn)})
    return result


cases = {kind: case(kind) for kind in ["tanh", "lstm", "gru"]}
print(json.dumps({"torch": torch.__version__, **cases}, indent=1))
