//! Which way a stack runs over time. Backward, each row is read from its own last real step to
//! its first (`g(t)` from `g(t+1)`, Deep Learning §10.3), so that padding never comes first:
//! what a bidirectional layer's second half, or an encoder reading its source backward, needs.

use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use serde::{Deserialize, Serialize};

use crate::input::{SequenceInput, StepInput};

/// Which way a recurrence runs over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `h(t)` from `h(t-1)`: first step first.
    #[default]
    Forward,
    /// `g(t)` from `g(t+1)`: each row from its own last real step back to its first.
    Backward,
}

/// The turn of every row within its own length: for each row and position, the time index it
/// reads, `length - 1 - t` for the real steps and `t` itself on padding. The permutation is its
/// own inverse, so the same turn puts the outputs back in time order.
#[derive(Debug, Clone)]
pub(crate) struct Reversal {
    /// `[batch][time]`, row-major.
    reads: Vec<usize>,
    batch: usize,
    time: usize,
}

/// The turn of a `[batch, time]` input whose rows have `lengths` (all `time` when `None`).
pub(crate) fn reversal(lengths: Option<&[usize]>, [batch, time]: [usize; 2]) -> Reversal {
    let reads = (0..batch)
        .flat_map(|row| {
            let length = lengths.map_or(time, |lengths| lengths[row]);
            (0..time).map(move |t| if t < length { length - 1 - t } else { t })
        })
        .collect();
    Reversal { reads, batch, time }
}

impl Reversal {
    /// The ids each position reads, `[batch, time]`: for a gather of token ids.
    fn id_indices<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2, Int> {
        let reads = self.reads.iter().map(|&t| t as i64).collect();
        Tensor::from_data(TensorData::new(reads, [self.batch, self.time]), device)
    }

    /// The flattened row each flattened row reads, batch-major (`b · time + t`) or time-major
    /// (`t · batch + b`): one row selection turns a whole tensor, and its gradient is one row
    /// scatter, where a gather over every element costs several times more.
    fn rows<B: Backend>(&self, time_major: bool, device: &B::Device) -> Tensor<B, 1, Int> {
        let (batch, time) = (self.batch, self.time);
        let rows: Vec<i64> = if time_major {
            (0..time)
                .flat_map(|t| (0..batch).map(move |b| (b, t)))
                .map(|(b, t)| (self.reads[b * time + t] * batch + b) as i64)
                .collect()
        } else {
            (0..batch * time)
                .map(|i| ((i / time) * time + self.reads[i]) as i64)
                .collect()
        };
        Tensor::from_data(TensorData::new(rows, [batch * time]), device)
    }
}

/// `input` with each row turned by `reversal`.
pub(crate) fn reverse_input<B: Backend>(
    input: SequenceInput<B>,
    reversal: &Reversal,
) -> SequenceInput<B> {
    match input {
        SequenceInput::Tokens(ids) => {
            let indices = reversal.id_indices::<B>(&ids.device());
            SequenceInput::Tokens(ids.gather(1, indices))
        }
        SequenceInput::Dense(x) => SequenceInput::Dense(reverse_rows(x, reversal)),
    }
}

/// `[batch, time, width]` with each row turned by `reversal`.
fn reverse_rows<B: Backend>(x: Tensor<B, 3>, reversal: &Reversal) -> Tensor<B, 3> {
    let dims = x.dims();
    let rows = reversal.rows::<B>(false, &x.device());
    x.reshape([dims[0] * dims[1], dims[2]])
        .select(0, rows)
        .reshape(dims)
}

impl Reversal {
    /// The turn of time-major rows (`t · batch + b`), `[time · batch]`: row `r` of the turned
    /// rows is row `reads(r)` of the input (and, the turn being its own inverse, the other way
    /// round).
    pub(crate) fn time_major_reads<B: Backend>(&self, device: &B::Device) -> Tensor<B, 1, Int> {
        self.rows::<B>(true, device)
    }
}

/// Time-major rows (`[time · batch]` ids or `[time · batch, width]`) turned by `reads`
/// ([`Reversal::time_major_reads`]): one row selection.
pub(crate) fn turn_rows<B: Backend>(rows: StepInput<B>, reads: Tensor<B, 1, Int>) -> StepInput<B> {
    match rows {
        StepInput::Tokens(ids) => StepInput::Tokens(ids.select(0, reads)),
        StepInput::Dense(x) => StepInput::Dense(x.select(0, reads)),
    }
}

/// Time-major `[time, batch, width]` turned by `reads` ([`Reversal::time_major_reads`]).
pub(crate) fn turn_time_major<B: Backend>(
    x: Tensor<B, 3>,
    reads: Tensor<B, 1, Int>,
) -> Tensor<B, 3> {
    let [time, batch, width] = x.dims();
    x.reshape([time * batch, width])
        .select(0, reads)
        .reshape([time, batch, width])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn each_row_turns_within_its_own_length() {
        let device = Default::default();
        let turn = reversal(Some(&[4, 2, 1]), [3, 4]);
        assert_eq!(turn.reads, [3, 2, 1, 0, 1, 0, 2, 3, 0, 1, 2, 3]);
        assert_eq!(reversal(None, [1, 3]).reads, [2, 1, 0]);
        // The same turn of a batch-major tensor and of its time-major transpose.
        let x = Tensor::<Flex, 1, Int>::arange(0..24, &device)
            .float()
            .reshape([3, 4, 2]);
        let batch_major = reverse_rows(x.clone(), &turn);
        let reads = turn.time_major_reads::<Flex>(&device);
        let time_major = turn_time_major(x.clone().swap_dims(0, 1), reads).swap_dims(0, 1);
        let expected: Vec<f32> = [3, 2, 1, 0, 5, 4, 6, 7, 8, 9, 10, 11]
            .iter()
            .flat_map(|&row| [2.0 * row as f32, 2.0 * row as f32 + 1.0])
            .collect();
        let values = |t: Tensor<Flex, 3>| t.into_data().iter::<f32>().collect::<Vec<_>>();
        assert_eq!(values(batch_major), expected);
        assert_eq!(values(time_major), expected);
    }
}
