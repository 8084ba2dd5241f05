//! A batch of sequences as the network reads it: padded inputs, lengths and targets
//! (the batches themselves are drawn by [`crate::buckets`]).

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::SequenceInput;

use super::encoding::{Inputs, Samples, Targets};

/// A batch as the network reads it.
pub struct BatchTensors<B: Backend> {
    /// `[batch, time]` ids or `[batch, time, 1]` values, padded with zeros to the longest.
    pub input: SequenceInput<B>,
    /// Each sequence's length.
    pub lengths: Vec<usize>,
    /// The targets: class ids `[batch]`, standardised values `[batch, 1]`, or per-step labels.
    pub targets: BatchTargets<B>,
    /// Real (unpadded) steps in the batch.
    pub steps: usize,
}

/// A batch's targets.
pub enum BatchTargets<B: Backend> {
    /// Class ids, `[batch]`.
    Classes(Tensor<B, 1, Int>),
    /// Standardised values, `[batch, 1]`.
    Values(Tensor<B, 2>),
    /// The labels of the real steps (per-step labelling).
    Steps {
        /// Where each real step stands in the batch-major outputs, `row · time + t`, `[steps]`.
        positions: Tensor<B, 1, Int>,
        /// Its label's class id, `[steps]`.
        classes: Tensor<B, 1, Int>,
    },
}

/// The tensors of the samples `indices`, padded to the longest.
pub fn batch_tensors<B: Backend>(
    samples: &Samples,
    indices: &[usize],
    device: &B::Device,
) -> BatchTensors<B> {
    let (input, lengths) = batch_inputs(&samples.inputs, indices, device);
    let batch = indices.len();
    let time = lengths.iter().copied().max().unwrap_or(1);
    let targets = match &samples.targets {
        Targets::Steps(labels) => {
            let (mut positions, mut classes) = (Vec::new(), Vec::new());
            for (row, &i) in indices.iter().enumerate() {
                for (t, &class) in labels[i].iter().enumerate() {
                    positions.push((row * time + t) as i64);
                    classes.push(class as i64);
                }
            }
            let steps = positions.len();
            BatchTargets::Steps {
                positions: Tensor::from_data(TensorData::new(positions, [steps]), device),
                classes: Tensor::from_data(TensorData::new(classes, [steps]), device),
            }
        }
        Targets::Classes(classes) => {
            let ids: Vec<i64> = indices.iter().map(|&i| classes[i] as i64).collect();
            BatchTargets::Classes(Tensor::from_data(TensorData::new(ids, [batch]), device))
        }
        Targets::Values(values) => {
            let picked: Vec<f32> = indices.iter().map(|&i| values[i]).collect();
            BatchTargets::Values(Tensor::from_data(
                TensorData::new(picked, [batch, 1]),
                device,
            ))
        }
    };
    BatchTensors {
        input,
        steps: lengths.iter().sum(),
        lengths,
        targets,
    }
}

/// The input sequences `indices`, padded with zeros to the longest, and their lengths.
pub fn batch_inputs<B: Backend>(
    inputs: &Inputs,
    indices: &[usize],
    device: &B::Device,
) -> (SequenceInput<B>, Vec<usize>) {
    let lengths: Vec<usize> = match inputs {
        Inputs::Symbols(sequences) => indices.iter().map(|&i| sequences[i].len()).collect(),
        Inputs::Values(sequences) => indices.iter().map(|&i| sequences[i].len()).collect(),
    };
    let (batch, time) = (indices.len(), lengths.iter().copied().max().unwrap_or(1));
    let input = match inputs {
        Inputs::Symbols(sequences) => {
            let mut ids = vec![0i64; batch * time];
            for (row, &i) in indices.iter().enumerate() {
                for (t, &id) in sequences[i].iter().enumerate() {
                    ids[row * time + t] = i64::from(id);
                }
            }
            SequenceInput::Tokens(Tensor::from_data(
                TensorData::new(ids, [batch, time]),
                device,
            ))
        }
        Inputs::Values(sequences) => {
            let mut values = vec![0f32; batch * time];
            for (row, &i) in indices.iter().enumerate() {
                values[row * time..row * time + sequences[i].len()].copy_from_slice(&sequences[i]);
            }
            SequenceInput::Dense(Tensor::from_data(
                TensorData::new(values, [batch, time, 1]),
                device,
            ))
        }
    };
    (input, lengths)
}
