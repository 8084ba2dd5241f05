"""Write the fixture the gated cells are tested against: PyTorch's own numbers.

    python3 scripts/pytorch_cell_fixture.py > crates/model/tests/fixtures/gated_cells.json

For torch.nn.LSTM and torch.nn.GRU (one layer, and two, batch_first, float64) with seeded weights,
inputs and initial states: the weights in PyTorch's layout, the outputs at every step, the final
states, and the gradient of a fixed weighted sum of outputs and final states with respect to every
weight, the input and the initial states. Needs torch; the tests read the committed JSON and never
need PyTorch.
"""
import json

import torch

torch.manual_seed(2026)
BATCH, TIME, INPUT, HIDDEN = 2, 5, 3, 4


def case(kind, layers=1):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    rnn = cls(INPUT, HIDDEN, num_layers=layers, batch_first=True).double()
    x = torch.randn(BATCH, TIME, INPUT, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(layers, BATCH, HIDDEN, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(layers, BATCH, HIDDEN, dtype=torch.float64, requires_grad=True)
    w_out = torch.randn(BATCH, TIME, HIDDEN, dtype=torch.float64)
    w_h = torch.randn(layers, BATCH, HIDDEN, dtype=torch.float64)
    w_c = torch.randn(layers, BATCH, HIDDEN, dtype=torch.float64)
    if kind == "lstm":
        out, (hn, cn) = rnn(x, (h0, c0))
        loss = (out * w_out).sum() + (hn * w_h).sum() + (cn * w_c).sum()
    else:
        out, hn = rnn(x, h0)
        cn = None
        loss = (out * w_out).sum() + (hn * w_h).sum()
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    result = {
        "layers": layers,
        "batch": BATCH,
        "time": TIME,
        "input": INPUT,
        "hidden": HIDDEN,
        "x": flat(x),
        "h0": flat(h0),
        "output_weights": flat(w_out),
        "final_weights": flat(w_h),
        "outputs": flat(out),
        "h_n": flat(hn),
        "loss": loss.item(),
        "grad_x": flat(x.grad),
        "grad_h0": flat(h0.grad),
    }
    for name, p in rnn.named_parameters():
        result[name] = flat(p)
        result["grad_" + name] = flat(p.grad)
    if kind == "lstm":
        result.update(
            {
                "c0": flat(c0),
                "cell_weights": flat(w_c),
                "c_n": flat(cn),
                "grad_c0": flat(c0.grad),
            }
        )
    return result


cases = {"lstm": case("lstm"), "gru": case("gru"), "lstm_2_layers": case("lstm", 2), "gru_2_layers": case("gru", 2)}
print(json.dumps({"torch": torch.__version__, **cases}, indent=1))
