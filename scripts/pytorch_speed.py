"""PyTorch side of `cargo bench -p unroll-cli --bench speed`: the same configurations, printed alike.

    python3 scripts/pytorch_speed.py [quick] [gpu] [feeding] [gated] [stacks] [bidirectional] [lstm|gru] [--threads N]

Run by hand with a local PyTorch (pip install torch); never a test dependency. A training step is
forward + cross-entropy over all steps + backward + clip_grad_norm_(5) + Adam, on token windows
of a 65-symbol vocabulary, the input being the one-hot previous symbol (unroll's model exactly).
Peak memory is the process's resident peak during one step, less the resident size before it
(on the GPU: CUDA's peak allocation during one step, less the allocation before it). With `gpu`,
the GPU configurations run on CUDA (nn.RNN uses cuDNN there). `--threads N` sets PyTorch's
intra-op threads (default: one per core, as `crates/cli/benches/speed/main.rs`, which takes the same flag).
"""
import os
import sys
import time

import torch

VOCAB = 65
quick = "quick" in sys.argv
on_gpu = "gpu" in sys.argv
budget = 2.0 if quick else 4.0


def gated_cells():
    """The gated cells the command line names (`lstm`, `gru`), or both."""
    return [cell for cell in ["lstm", "gru"] if cell in sys.argv] or ["lstm", "gru"]


def threads():
    if "--threads" not in sys.argv:
        return os.cpu_count() or 1
    at = sys.argv.index("--threads") + 1
    if at >= len(sys.argv) or not sys.argv[at].isdigit() or int(sys.argv[at]) == 0:
        print("error: --threads needs a whole number of threads above 0", file=sys.stderr)
        sys.exit(2)
    return int(sys.argv[at])


torch.set_num_threads(threads())
torch.manual_seed(0)
device = torch.device("cuda" if on_gpu else "cpu")
if on_gpu and not torch.cuda.is_available():
    print("pytorch: no CUDA device found, skipped")
    sys.exit(2)


def synchronize():
    if on_gpu:
        torch.cuda.synchronize()


def memory_mib():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def time_steps(step):
    step()
    synchronize()
    if on_gpu:
        before = torch.cuda.memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
        step()
        synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        before, _ = memory_mib()
        reset_peak()
        step()
        _, peak = memory_mib()
    count, started = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - started < budget:
        step()
        count += 1
    synchronize()
    return 1000 * (time.perf_counter() - started) / count, peak - before


def report(what, tokens, timing):
    ms, added = timing
    rate = tokens / (ms / 1000)
    print(f"{what:58} {rate:>10.0f} tokens/s {ms:>9.2f} ms/step  +{added:>6.1f} MiB", flush=True)
    return rate


def tokens(batch, time_, seed):
    i = torch.arange(batch * time_)
    return ((i * 7919 + seed * 104729) % VOCAB).reshape(batch, time_).to(device)


def trainer(*modules):
    """Adam (2e-3) over the modules' parameters, and the training update for a loss: zero the
    gradients, backward, clip the global norm to 5, step."""
    params = [p for module in modules for p in module.parameters()]
    optimizer = torch.optim.Adam(params, lr=2e-3, eps=1e-8)

    def train(loss):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        optimizer.step()

    return train


def recurrence_training(what, rnn, hidden, batch, window):
    """Pattern 1's training step with `rnn` (one-hot input, then nn.Linear, cross-entropy, clip
    5, Adam), timed and reported."""
    fc = torch.nn.Linear(hidden, VOCAB).to(device)
    train = trainer(rnn, fc)
    x = torch.nn.functional.one_hot(tokens(batch, window, 1), VOCAB).float()
    y = tokens(batch, window, 2).reshape(-1)

    def step():
        out, _ = rnn(x)
        loss = torch.nn.functional.cross_entropy(fc(out).reshape(-1, VOCAB), y)
        train(loss)

    return report(what, batch * window, time_steps(step))


def pattern_1(hidden, batch, window):
    rnn = torch.nn.RNN(VOCAB, hidden, nonlinearity="tanh", batch_first=True).to(device)
    what = f"pattern 1 pytorch nn.RNN H {hidden} batch {batch} window {window}"
    return recurrence_training(what, rnn, hidden, batch, window)


def pattern_2(hidden, batch, window):
    feedback = torch.nn.Linear(VOCAB, hidden).to(device)
    fc = torch.nn.Linear(hidden, VOCAB).to(device)
    train = trainer(feedback, fc)
    previous = torch.nn.functional.one_hot(tokens(batch, window, 1), VOCAB).float()
    y = tokens(batch, window, 2).reshape(-1)

    def step():
        logits = fc(torch.tanh(feedback(previous)))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y)
        train(loss)

    return report(f"pattern 2 pytorch teacher-forced H {hidden} batch {batch} window {window}", batch * window, time_steps(step))


def pattern_2_table(hidden, batch, window):
    """Pattern 2 as unroll trains it: fed tokens alone, the logits are a function of the previous
    symbol, so the [vocab, vocab] table is computed once per step and its rows looked up."""
    feedback = torch.nn.Linear(VOCAB, hidden).to(device)
    fc = torch.nn.Linear(hidden, VOCAB).to(device)
    train = trainer(feedback, fc)
    identity = torch.eye(VOCAB, device=device)
    previous = tokens(batch, window, 1).reshape(-1)
    y = tokens(batch, window, 2).reshape(-1)

    def step():
        table = fc(torch.tanh(feedback(identity)))
        loss = torch.nn.functional.cross_entropy(table[previous], y)
        train(loss)

    return report(f"pattern 2 pytorch per-symbol table H {hidden} batch {batch} window {window}", batch * window, time_steps(step))


def pattern_3(hidden, batch, window):
    rnn = torch.nn.RNN(VOCAB, hidden, nonlinearity="tanh", batch_first=True).to(device)
    fc = torch.nn.Linear(hidden, VOCAB).to(device)
    train = trainer(rnn, fc)
    x = torch.nn.functional.one_hot(tokens(batch, window, 1), VOCAB).float()
    y = tokens(batch, 1, 2).reshape(-1)

    def step():
        _, last = rnn(x)
        loss = torch.nn.functional.cross_entropy(fc(last[-1]), y)
        train(loss)

    return report(f"pattern 3 pytorch nn.RNN H {hidden} batch {batch} window {window}", batch * window, time_steps(step))


def variable_lengths(j, batch):
    """Batch j's row lengths, uniform in 20-200: the same hash as crates/cli/benches/speed/main.rs."""
    return [20 + ((j * batch + r) * 2654435761 % 2**32) % 181 for r in range(batch)]


def pattern_3_packed(hidden, batch):
    """Pattern 3 on eight padded batches of 20-200 tokens in turn, run packed
    (pack_padded_sequence, which sorts the rows itself); tokens are the real, unpadded ones."""
    rnn = torch.nn.RNN(VOCAB, hidden, nonlinearity="tanh", batch_first=True).to(device)
    fc = torch.nn.Linear(hidden, VOCAB).to(device)
    train = trainer(rnn, fc)
    batches = []
    for j in range(8):
        lengths = variable_lengths(j, batch)
        x = torch.nn.functional.one_hot(tokens(batch, max(lengths), 1 + j), VOCAB).float()
        batches.append((x, torch.tensor(lengths)))
    y = tokens(batch, 1, 2).reshape(-1)
    state = {"next": 0}

    def step():
        x, lengths = batches[state["next"] % len(batches)]
        state["next"] += 1
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, last = rnn(packed)
        loss = torch.nn.functional.cross_entropy(fc(last[-1]), y)
        train(loss)

    per_step = sum(int(l.sum()) for _, l in batches) // len(batches)
    return report(f"pattern 3 pytorch packed lengths 20-200 H {hidden} batch {batch}", per_step, time_steps(step))


def feeding_plan(batch, window, strategy):
    """Per row and step, whether the truth is fed: (coins of ε 0.5, or the last half free);
    step 0 always the truth."""
    if strategy == "scheduled sampling":
        truth = torch.rand(batch, window, device=device) < 0.5
    else:
        truth = torch.arange(window, device=device).expand(batch, window) < window - window // 2
    truth[:, 0] = True
    return truth


def pattern_1_feeding(hidden, batch, window, strategy):
    """The hand-written loop a PyTorch user writes: `RNNCell` step by step, a coin per token,
    the own symbol sampled from the softmax of the previous output, no gradient through it."""
    cell = torch.nn.RNNCell(VOCAB, hidden, nonlinearity="tanh").to(device)
    fc = torch.nn.Linear(hidden, VOCAB).to(device)
    train = trainer(cell, fc)
    x = tokens(batch, window, 1)
    y = tokens(batch, window, 2).reshape(-1)

    def step():
        truth = feeding_plan(batch, window, strategy)
        h = torch.zeros(batch, hidden, device=device)
        outputs, fed = [], x[:, 0]
        for t in range(window):
            if t > 0:
                own = torch.multinomial(torch.softmax(outputs[-1].detach(), 1), 1).squeeze(1)
                fed = torch.where(truth[:, t], x[:, t], own)
            h = cell(torch.nn.functional.one_hot(fed, VOCAB).float(), h)
            outputs.append(fc(h))
        logits = torch.stack(outputs, 1)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y)
        train(loss)

    what = f"pattern 1 pytorch {strategy}, RNNCell loop, H {hidden} b {batch} w {window}"
    return report(what, batch * window, time_steps(step))


def pattern_2_with_input(hidden, batch, window, strategy):
    """Pattern 2 with a token input: h = tanh(W y(t-1) + U x(t) + b), o = c + V h; teacher
    forcing in parallel over time, the strategies by a loop over steps."""
    feedback = torch.nn.Linear(VOCAB, hidden).to(device)
    given = torch.nn.Linear(VOCAB, hidden, bias=False).to(device)
    fc = torch.nn.Linear(hidden, VOCAB).to(device)
    train = trainer(feedback, given, fc)
    one_hot = lambda ids: torch.nn.functional.one_hot(ids, VOCAB).float()
    x = one_hot(tokens(batch, window, 3))
    previous = tokens(batch, window, 1)
    y = tokens(batch, window, 2).reshape(-1)

    def step():
        if strategy == "teacher forcing":
            logits = fc(torch.tanh(feedback(one_hot(previous)) + given(x)))
        else:
            truth = feeding_plan(batch, window, strategy)
            projected = given(x)
            outputs, fed = [], previous[:, 0]
            for t in range(window):
                if t > 0:
                    own = torch.multinomial(torch.softmax(outputs[-1].detach(), 1), 1).squeeze(1)
                    fed = torch.where(truth[:, t], previous[:, t], own)
                outputs.append(fc(torch.tanh(feedback(one_hot(fed)) + projected[:, t])))
            logits = torch.stack(outputs, 1)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y)
        train(loss)

    what = f"pattern 2 pytorch {strategy}, H {hidden} b {batch} w {window}"
    return report(what, batch * window, time_steps(step))


def feeding():
    print("== feeding strategies (forward, loss, backward, clip, Adam; H 256, batch 64, window 100)")
    forced = pattern_1(256, 64, 100)
    for strategy in ["scheduled sampling", "curriculum"]:
        rate = pattern_1_feeding(256, 64, 100, strategy)
        print(f"   pattern 1, {strategy}: {rate / forced:.2f}x teacher forcing (nn.RNN)")
    forced = pattern_2_with_input(256, 64, 100, "teacher forcing")
    for strategy in ["scheduled sampling", "curriculum"]:
        rate = pattern_2_with_input(256, 64, 100, strategy)
        print(f"   pattern 2 with input, {strategy}: {rate / forced:.2f}x teacher forcing")


def generation(hidden):
    rnn = torch.nn.RNN(VOCAB, hidden, nonlinearity="tanh", batch_first=True)
    fc = torch.nn.Linear(hidden, VOCAB)
    state = {"h": None, "x": torch.zeros(1, dtype=torch.long)}

    def step():
        with torch.no_grad():
            for _ in range(200):
                x = torch.nn.functional.one_hot(state["x"], VOCAB).float()[:, None, :]
                out, state["h"] = rnn(x, state["h"])
                probabilities = torch.softmax(fc(out[:, -1]), dim=-1)
                state["x"] = torch.multinomial(probabilities, 1)[:, 0]

    return report(f"generation pytorch H {hidden} batch 1 (sampled, 200 per step)", 200, time_steps(step))


def gated_training(cell, layers, hidden, batch, window, dropout=0.0):
    """Pattern 1 with nn.LSTM (oneDNN's fused LSTM on the CPU) or nn.GRU, as unroll's gated cells;
    `dropout` between the layers (the modules are in training mode, so it acts)."""
    kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = kind(VOCAB, hidden, num_layers=layers, dropout=dropout, batch_first=True).to(device)
    what = f"{cell} pytorch nn.{kind.__name__} {layers}L H {hidden} batch {batch} window {window} dropout {dropout}"
    return recurrence_training(what, rnn, hidden, batch, window)


def step_flops(cell, layers, hidden, batch, window):
    """The FLOPs of the products a pattern-1 training step cannot do without, counted as
    crates/cli/benches/speed/gated.rs counts them: per layer the recurrent product, the gradient of h(t-1)
    and of W_hh; above the first layer the input projection and its two gradients (the first
    layer's one-hot input needs no product); the output layer's three products."""
    gates = {"lstm": 4, "gru": 3}[cell]
    product = 2 * hidden * gates * hidden
    per_token = 3 * product * (2 * layers - 1) + 3 * 2 * hidden * VOCAB
    return per_token * batch * window


def gated():
    """The same sizes as crates/cli/benches/speed/gated.rs."""
    global budget
    print("== gated cells, pattern 1 training (forward, loss, backward, clip, Adam)")
    sizes = [(1, 256, 64, 100)] if quick else [(1, 256, 64, 100), (2, 256, 64, 100), (2, 512, 64, 128)]
    for cell in gated_cells():
        for size in sizes:
            rate = gated_training(cell, *size)
            flops = step_flops(cell, *size)
            print(f"    {flops / 1e9:.1f} GFLOP a step in products: {rate / (size[2] * size[3]) * flops / 1e9:.0f} GFLOP/s")
    print("\n== LSTM training memory against the window (1L H 256, batch 64)")
    budget_saved, budget = budget, 0.001
    for window in [64, 1024] if quick else [64, 128, 256, 512, 1024]:
        gated_training("lstm", 1, 256, 64, window)
    budget = budget_saved
    print()


def stacks():
    """The stacks of crates/cli/benches/speed/gated.rs's STACKS: two layers with dropout 0.25, and
    three layers."""
    print("== stacked gated cells: dropout 0.25 between two layers, three layers")
    for cell in gated_cells():
        for size, dropout in [((2, 256, 64, 100), 0.25), ((2, 512, 64, 128), 0.25),
                              ((3, 256, 64, 100), 0.0), ((3, 512, 64, 128), 0.0)]:
            rate = gated_training(cell, *size, dropout)
            flops = step_flops(cell, *size)
            print(f"    {flops / 1e9:.1f} GFLOP a step in products: {rate / (size[2] * size[3]) * flops / 1e9:.0f} GFLOP/s")
    print()


def bidirectional_training(cell, layers, hidden, batch, window):
    """Pattern 1 both ways: nn.LSTM/nn.GRU(bidirectional=True), nn.Linear(2H, V) at every step,
    as crates/cli/benches/speed/bidirectional.rs (every row fills the window: packing would not
    change the work)."""
    kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = kind(VOCAB, hidden, num_layers=layers, batch_first=True, bidirectional=True).to(device)
    fc = torch.nn.Linear(2 * hidden, VOCAB).to(device)
    x, y = tokens(batch, window, 1), tokens(batch, window, 2)
    train = trainer(rnn, fc)

    def step():
        out, _ = rnn(torch.nn.functional.one_hot(x, VOCAB).float())
        train(torch.nn.functional.cross_entropy(fc(out).reshape(-1, VOCAB), y.reshape(-1)))

    what = f"{cell} pytorch both ways {layers}L H {hidden} batch {batch} window {window}"
    return report(what, batch * window, time_steps(step))


def bidirectional_flops(cell, layers, hidden, batch, window):
    """As crates/cli/benches/speed/bidirectional.rs counts them."""
    gates = {"lstm": 4, "gru": 3}[cell]
    recurrent = 3 * 2 * hidden * gates * hidden
    wide_input = 3 * 2 * (2 * hidden) * gates * hidden
    per_direction = layers * recurrent + (layers - 1) * wide_input
    return (2 * per_direction + 3 * 2 * (2 * hidden) * VOCAB) * batch * window


def bidirectional():
    print("== both directions, pattern 1 training (forward, loss, backward, clip, Adam)")
    sizes = [(1, 256, 64, 100)] if quick else [(1, 256, 64, 100), (2, 256, 64, 100)]
    for cell in gated_cells():
        for size in sizes:
            rate = bidirectional_training(cell, *size)
            flops = bidirectional_flops(cell, *size)
            print(f"    {flops / 1e9:.1f} GFLOP a step in products: {rate / (size[2] * size[3]) * flops / 1e9:.0f} GFLOP/s")
    print()


if on_gpu:
    print(f"pytorch {torch.__version__} on {torch.cuda.get_device_name()}, f32, vocabulary {VOCAB}, one layer\n")
    for size in [(256, 64, 100), (1024, 256, 128)]:
        pattern_1(*size)
        pattern_2(*size)
    sys.exit(0)
print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads, f32, vocabulary {VOCAB}, one layer\n")
# A group named on the command line runs alone.
for group in (feeding, gated, stacks, bidirectional):
    if group.__name__ in sys.argv:
        group()
        sys.exit(0)
print("== pattern 1 training (forward, loss, backward, clip, Adam)")
for size in [(256, 64, 100)] if quick else [(128, 32, 64), (256, 64, 100), (512, 64, 128)]:
    pattern_1(*size)
print("\n== pattern 2 teacher-forced training")
for window in [64, 512] if quick else [64, 128, 256, 512]:
    pattern_2(256, 64, window)
for window in [64, 512] if quick else [64, 128, 256, 512]:
    pattern_2_table(256, 64, window)
print("\n== pattern 3 training (one label per window, from the last state)")
pattern_3(256, 64, 100)
pattern_3_packed(256, 64)
print("\n== pattern 1 training memory against the window (H 256, batch 64)")
budget_saved, budget = budget, 0.001
for window in [64, 1024] if quick else [64, 128, 256, 512, 1024]:
    pattern_1(256, 64, window)
budget = budget_saved
print()
feeding()
gated()
print("\n== generation")
generation(256)
