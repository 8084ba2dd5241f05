"""Write the fixture the encoder-decoder is tested against: PyTorch's own numbers.

    /path/to/python-with-torch scripts/pytorch_seq2seq_fixture.py \
        > crates/model/tests/fixtures/encoder_decoder.json

For an nn.LSTM (and an nn.GRU) encoder reading padded sources of different lengths through
pack_padded_sequence, whose final state (h_n, and c_n for the LSTM, every layer) starts an
nn.LSTM (nn.GRU) decoder fed the previous target symbol, then an nn.Linear to the target
vocabulary: two layers, batch_first, float64, seeded weights. Symbols enter both networks as
one-hot vectors (unroll's token input). Written: the weights in PyTorch's layout, the ids and
lengths, the per-step cross-entropy of every target step (zero past each row's target length),
and the gradient of their sum with respect to every weight. Needs torch; the tests read the
committed JSON and never need PyTorch.

The cases `lstm_summary` and `gru_summary` feed the summary to every decoder step as well: the
decoder's input is the one-hot previous symbol and the encoder's top layer's final h,
concatenated (its weight_ih_l0 reads TARGET_VOCAB + HIDDEN features).
"""
import json

import torch
from torch.nn.utils.rnn import pack_padded_sequence

torch.manual_seed(2027)
BATCH, SOURCE_TIME, TARGET_TIME = 3, 6, 5
SOURCE_VOCAB, TARGET_VOCAB, HIDDEN, LAYERS = 5, 4, 3, 2
SOURCE_LENGTHS = [6, 2, 4]
TARGET_LENGTHS = [3, 5, 1]


def case(kind, summary_input=False):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    decoder_input = TARGET_VOCAB + HIDDEN if summary_input else TARGET_VOCAB
    encoder = cls(SOURCE_VOCAB, HIDDEN, num_layers=LAYERS, batch_first=True).double()
    decoder = cls(decoder_input, HIDDEN, num_layers=LAYERS, batch_first=True).double()
    fc = torch.nn.Linear(HIDDEN, TARGET_VOCAB).double()
    source = torch.randint(0, SOURCE_VOCAB, (BATCH, SOURCE_TIME))
    previous = torch.randint(0, TARGET_VOCAB, (BATCH, TARGET_TIME))
    targets = torch.randint(0, TARGET_VOCAB, (BATCH, TARGET_TIME))
    one_hot = lambda ids, n: torch.nn.functional.one_hot(ids, n).double()
    packed = pack_padded_sequence(
        one_hot(source, SOURCE_VOCAB), SOURCE_LENGTHS, batch_first=True, enforce_sorted=False
    )
    _, summary = encoder(packed)
    inputs = one_hot(previous, TARGET_VOCAB)
    if summary_input:
        top = (summary[0] if kind == "lstm" else summary)[-1]
        inputs = torch.cat([inputs, top[:, None, :].expand(BATCH, TARGET_TIME, HIDDEN)], dim=2)
    out, _ = decoder(inputs, summary)
    logits = fc(out)
    losses = torch.nn.functional.cross_entropy(
        logits.reshape(-1, TARGET_VOCAB), targets.reshape(-1), reduction="none"
    ).reshape(BATCH, TARGET_TIME)
    mask = torch.tensor(
        [[float(t < length) for t in range(TARGET_TIME)] for length in TARGET_LENGTHS],
        dtype=torch.float64,
    )
    losses = losses * mask
    losses.sum().backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    part = lambda rnn, vocab: {
        "batch": BATCH,
        "input": vocab,
        "hidden": HIDDEN,
        "layers": LAYERS,
        **{name: flat(p) for name, p in rnn.named_parameters()},
        **{"grad_" + name: flat(p.grad) for name, p in rnn.named_parameters()},
    }
    return {
        "source": source.reshape(-1).tolist(),
        "previous": previous.reshape(-1).tolist(),
        "targets": targets.reshape(-1).tolist(),
        "source_lengths": SOURCE_LENGTHS,
        "target_lengths": TARGET_LENGTHS,
        "source_time": SOURCE_TIME,
        "target_time": TARGET_TIME,
        "encoder": {**part(encoder, SOURCE_VOCAB), "time": SOURCE_TIME},
        "decoder": {**part(decoder, decoder_input), "time": TARGET_TIME},
        "fc.weight": flat(fc.weight),
        "fc.bias": flat(fc.bias),
        "grad_fc.weight": flat(fc.weight.grad),
        "grad_fc.bias": flat(fc.bias.grad),
        "losses": flat(losses),
    }


cases = {"lstm": case("lstm"), "gru": case("gru")}
cases.update(lstm_summary=case("lstm", True), gru_summary=case("gru", True))
print(json.dumps({"torch": torch.__version__, **cases}, indent=1))
