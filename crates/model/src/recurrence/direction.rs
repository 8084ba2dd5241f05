//! Which way a stack runs over time. Backward, each row is read from its own last real step to
//! its first (`g(t)` from `g(t+1)`, Deep Learning §10.3), so that padding never comes first:
//! what a bidirectional layer's second half, or an encoder reading its source backward, needs.

use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use serde::{Deserialize, Serialize};

use crate::input::SequenceInput;

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

/// The time index each position of a row reversed within its own length reads, `[batch,
/// time]`: `length - 1 - t` for the real steps, `t` itself on padding. The permutation is its
/// own inverse, so the same indices put the outputs back in time order.
pub(crate) fn reversal<B: Backend>(
    lengths: Option<&[usize]>,
    [batch, time]: [usize; 2],
    device: &B::Device,
) -> Tensor<B, 2, Int> {
    let indices: Vec<i64> = (0..batch)
        .flat_map(|row| {
            let length = lengths.map_or(time, |lengths| lengths[row]);
            (0..time).map(move |t| if t < length { length - 1 - t } else { t } as i64)
        })
        .collect();
    Tensor::from_data(TensorData::new(indices, [batch, time]), device)
}

/// `input` with each row reversed by `indices` ([`reversal`]).
pub(crate) fn reverse_input<B: Backend>(
    input: SequenceInput<B>,
    indices: &Tensor<B, 2, Int>,
) -> SequenceInput<B> {
    match input {
        SequenceInput::Tokens(ids) => SequenceInput::Tokens(ids.gather(1, indices.clone())),
        SequenceInput::Dense(x) => SequenceInput::Dense(reverse_rows(x, indices)),
    }
}

/// `[batch, time, width]` with each row reversed by `indices` ([`reversal`]).
fn reverse_rows<B: Backend>(x: Tensor<B, 3>, indices: &Tensor<B, 2, Int>) -> Tensor<B, 3> {
    let [batch, time, width] = x.dims();
    let indices = indices
        .clone()
        .reshape([batch, time, 1])
        .expand([batch, time, width]);
    x.gather(1, indices)
}

/// Time-major `[time, batch, width]` with each row reversed by `indices` ([`reversal`]).
pub(crate) fn reverse_time_major<B: Backend>(
    x: Tensor<B, 3>,
    indices: &Tensor<B, 2, Int>,
) -> Tensor<B, 3> {
    let [time, batch, width] = x.dims();
    let indices = indices
        .clone()
        .transpose()
        .reshape([time, batch, 1])
        .expand([time, batch, width]);
    x.gather(0, indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn each_row_turns_within_its_own_length() {
        let device = Default::default();
        let indices = reversal::<NdArray>(Some(&[4, 2, 1]), [3, 4], &device);
        let got: Vec<i64> = indices.into_data().iter::<i64>().collect();
        assert_eq!(got, [3, 2, 1, 0, 1, 0, 2, 3, 0, 1, 2, 3]);
        let whole = reversal::<NdArray>(None, [1, 3], &device);
        assert_eq!(
            whole.into_data().iter::<i64>().collect::<Vec<_>>(),
            [2, 1, 0]
        );
    }
}
