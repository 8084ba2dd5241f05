//! How the input `x(t)` enters a recurrence: token ids or dense feature vectors.

use burn::config::Config;
use burn::tensor::{Int, Tensor, backend::Backend};

use crate::error::{ModelError, require_steps, shape_error};
use crate::fused::{RecurrenceBackend, lookup_rows, project_rows};
use crate::ids::{IdCheck, require_ids_below};
use crate::setting::at_least_one;

/// How the input `x(t)` is encoded, and so how `U x(t)` is computed.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum InputEncoding {
    /// `x(t)` is a token id in `0..vocab_size`: `U x(t)` is the row of `U` for that id, a lookup
    /// equal to multiplying by a one-hot vector without building it.
    Tokens {
        /// Number of distinct tokens.
        vocab_size: usize,
    },
    /// `x(t)` is a dense vector of `d_input` features.
    Dense {
        /// Number of features per step.
        d_input: usize,
    },
}

impl InputEncoding {
    /// Width of the input: the vocabulary size or the number of features.
    pub fn width(&self) -> usize {
        match self {
            InputEncoding::Tokens { vocab_size } => *vocab_size,
            InputEncoding::Dense { d_input } => *d_input,
        }
    }

    /// Rejects a zero width.
    pub fn validate(&self) -> crate::Result<()> {
        match self {
            InputEncoding::Tokens { vocab_size } => at_least_one("vocab_size", *vocab_size as u64),
            InputEncoding::Dense { d_input } => at_least_one("d_input", *d_input as u64),
        }
    }

    /// The input of a network fed a symbol of `symbols` with `context` features beside it at
    /// every step: the ids when there are none, else the one-hot symbol and the context
    /// ([`symbol_and_context`]).
    pub(crate) fn of_symbols(symbols: usize, context: usize) -> Self {
        match context {
            0 => InputEncoding::Tokens {
                vocab_size: symbols,
            },
            _ => InputEncoding::Dense {
                d_input: symbols + context,
            },
        }
    }

    fn name(&self) -> &'static str {
        match self {
            InputEncoding::Tokens { .. } => "token ids",
            InputEncoding::Dense { .. } => "dense features",
        }
    }
}

/// A whole input sequence.
#[derive(Debug, Clone)]
pub enum SequenceInput<B: Backend> {
    /// Token ids, shape `[batch, time]`.
    Tokens(Tensor<B, 2, Int>),
    /// Dense features, shape `[batch, time, d_input]`.
    Dense(Tensor<B, 3>),
}

/// The input of one time step, or of every step with time folded into the rows
/// ([`SequenceInput::into_time_major_rows`]).
#[derive(Debug, Clone)]
pub enum StepInput<B: Backend> {
    /// Token ids, shape `[batch]`.
    Tokens(Tensor<B, 1, Int>),
    /// Dense features, shape `[batch, d_input]`.
    Dense(Tensor<B, 2>),
}

impl<B: Backend> SequenceInput<B> {
    /// `[batch, time]` of the sequence.
    pub fn batch_time(&self) -> [usize; 2] {
        match self {
            SequenceInput::Tokens(ids) => ids.dims(),
            SequenceInput::Dense(x) => {
                let [batch, time, _] = x.dims();
                [batch, time]
            }
        }
    }

    /// Checks the input against the encoding the model was built for and that it has at least one
    /// step (and its ids, by `id_check`); returns `[batch, time]`.
    pub fn check(&self, encoding: &InputEncoding, id_check: IdCheck) -> crate::Result<[usize; 2]> {
        let [batch, time] = self.batch_time();
        match (self, encoding) {
            (SequenceInput::Tokens(ids), InputEncoding::Tokens { vocab_size }) => {
                require_ids_below("input", ids, *vocab_size, id_check)?;
            }
            (SequenceInput::Dense(x), InputEncoding::Dense { d_input }) => {
                require_width(&x.dims(), *d_input)?;
            }
            (given, expected) => {
                return Err(ModelError::InputKind {
                    expected: expected.name(),
                    actual: given.kind_name(),
                });
            }
        }
        require_steps("input", [batch, time])?;
        Ok([batch, time])
    }

    fn kind_name(&self) -> &'static str {
        match self {
            SequenceInput::Tokens(_) => "token ids",
            SequenceInput::Dense(_) => "dense features",
        }
    }

    /// The device the sequence is on.
    pub fn device(&self) -> B::Device {
        match self {
            SequenceInput::Tokens(ids) => ids.device(),
            SequenceInput::Dense(x) => x.device(),
        }
    }

    /// Every step as rows, time-major (row `t · batch + b`): ids `[time · batch]` or features
    /// `[time · batch, d_input]`, the layout of the fused recurrence.
    pub fn into_time_major_rows(self) -> StepInput<B> {
        let [batch, time] = self.batch_time();
        match self {
            SequenceInput::Tokens(ids) => {
                StepInput::Tokens(ids.swap_dims(0, 1).reshape([time * batch]))
            }
            SequenceInput::Dense(x) => {
                let d_input = x.dims()[2];
                StepInput::Dense(x.swap_dims(0, 1).reshape([time * batch, d_input]))
            }
        }
    }

    /// Every step as rows, batch-major (row `b · time + t`): ids `[batch · time]` or features
    /// `[batch · time, d_input]`, a reshape with no copy.
    pub fn into_batch_major_rows(self) -> StepInput<B> {
        let [batch, time] = self.batch_time();
        match self {
            SequenceInput::Tokens(ids) => StepInput::Tokens(ids.reshape([batch * time])),
            SequenceInput::Dense(x) => {
                let d_input = x.dims()[2];
                StepInput::Dense(x.reshape([batch * time, d_input]))
            }
        }
    }

    /// The values of step `t`: ids `[batch]` or features `[batch, d_input]`.
    pub fn step(&self, t: usize) -> StepInput<B> {
        let [batch, _] = self.batch_time();
        match self {
            SequenceInput::Tokens(ids) => {
                StepInput::Tokens(ids.clone().slice([0..batch, t..t + 1]).reshape([batch]))
            }
            SequenceInput::Dense(x) => {
                let d_input = x.dims()[2];
                StepInput::Dense(
                    x.clone()
                        .slice([0..batch, t..t + 1, 0..d_input])
                        .reshape([batch, d_input]),
                )
            }
        }
    }

    /// Splits the sequence into its time steps.
    ///
    /// Each step is its own tensor so that the recurrence never slices a tensor that autodiff
    /// tracks inside the time loop (on Burn 0.21 the backward of a slice costs the size of the
    /// whole tensor, which would make the loop O(T²)). Token ids carry no gradient, so slicing them
    /// is free; dense inputs are usually data and carry none either.
    pub fn into_steps(self) -> Vec<StepInput<B>> {
        let [_, time] = self.batch_time();
        (0..time).map(|t| self.step(t)).collect()
    }
}

impl<B: Backend> StepInput<B> {
    /// Batch size of the step.
    pub fn batch(&self) -> usize {
        match self {
            StepInput::Tokens(ids) => ids.dims()[0],
            StepInput::Dense(x) => x.dims()[0],
        }
    }

    /// Checks the step against the model's encoding (and its ids, by `id_check`); returns the
    /// batch size.
    pub fn check(&self, encoding: &InputEncoding, id_check: IdCheck) -> crate::Result<usize> {
        match (self, encoding) {
            (StepInput::Tokens(ids), InputEncoding::Tokens { vocab_size }) => {
                require_ids_below("input", ids, *vocab_size, id_check)?;
                Ok(self.batch())
            }
            (StepInput::Dense(x), InputEncoding::Dense { d_input }) => {
                require_width(&x.dims(), *d_input)?;
                Ok(self.batch())
            }
            (given, expected) => Err(ModelError::InputKind {
                expected: expected.name(),
                actual: given.kind_name(),
            }),
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            StepInput::Tokens(_) => "token ids",
            StepInput::Dense(_) => "dense features",
        }
    }

    /// `b + U x` of every row, `[rows, d_hidden]`: the one place where the input enters a
    /// recurrence on the fast paths. Token ids look up rows of `U` (the fused lookup, whose
    /// backward is one scatter-add); features take one matrix product (the fused projection,
    /// on every core by the `gemm` crate on the CPU backends).
    ///
    /// `weight` is `U` stored `[d_input, d_hidden]`, `bias` is `b`, `[d_hidden]`.
    pub fn affine(self, weight: Tensor<B, 2>, bias: Tensor<B, 1>) -> Tensor<B, 2>
    where
        B: RecurrenceBackend,
    {
        match self {
            // b is added to the table or to the rows looked up, whichever is smaller: the same
            // values (one addition each), but a generation step (one row) does not pay for a
            // vocabulary-wide addition, nor a training window (many rows) for a row-wide one.
            StepInput::Tokens(ids) if ids.dims()[0] >= weight.dims()[0] => {
                lookup_rows(weight + bias.unsqueeze::<2>(), ids)
            }
            StepInput::Tokens(ids) => lookup_rows(weight, ids) + bias.unsqueeze::<2>(),
            StepInput::Dense(x) => project_rows(x, weight, bias),
        }
    }

    /// `x · U` for this step with Burn's own operations: a row selection for token ids, a matrix
    /// product for dense features (the unrolled reference uses it, so that it shares no fused
    /// kernel with the path it checks).
    ///
    /// `weight` is `U` stored `[d_input, d_hidden]`; returns `[batch, d_hidden]`.
    pub fn project(self, weight: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            StepInput::Tokens(ids) => weight.select(0, ids),
            StepInput::Dense(x) => x.matmul(weight),
        }
    }
}

/// An error unless the last axis of an input of shape `dims` (`[batch, time, d_input]` or
/// `[batch, d_input]`) holds `d_input` features.
fn require_width(dims: &[usize], d_input: usize) -> crate::Result<()> {
    if dims.last() == Some(&d_input) {
        return Ok(());
    }
    let leading = if dims.len() == 3 {
        "batch, time"
    } else {
        "batch"
    };
    Err(shape_error(
        "input",
        format!("[{leading}, {d_input}]"),
        dims,
    ))
}

/// `[one_hot(ids), context]`, `[rows, classes + d]`: a symbol (`ids` `[rows]`, each below
/// `classes`) and the `context` (`[rows, d]`) read beside it, the dense input of
/// [`InputEncoding::of_symbols`] with a context.
pub(crate) fn symbol_and_context<B: Backend>(
    ids: Tensor<B, 1, Int>,
    classes: usize,
    context: Tensor<B, 2>,
) -> Tensor<B, 2> {
    Tensor::cat(vec![ids.one_hot::<2>(classes).float(), context], 1)
}
