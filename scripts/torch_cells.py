"""The recurrence of unroll's `cell` setting as PyTorch's module, for the scripts beside this one."""
import torch


def recurrent_layers(cell, width, hidden, layers, dropout=0.0, bidirectional=False):
    """nn.RNN (tanh), nn.LSTM or nn.GRU (batch_first), as `cell` ("tanh", "lstm", "gru") says."""
    sizes = dict(num_layers=layers, dropout=dropout, batch_first=True, bidirectional=bidirectional)
    if cell == "lstm":
        return torch.nn.LSTM(width, hidden, **sizes)
    if cell == "gru":
        return torch.nn.GRU(width, hidden, **sizes)
    return torch.nn.RNN(width, hidden, nonlinearity="tanh", **sizes)
