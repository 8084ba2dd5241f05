//! The control without parameter sharing: pattern 3 with separate weights at every position.
//!
//! `h(t) = tanh(b(t) + W(t) h(t-1) + U(t) x(t))` for `t = 1 … τ`, then `o = c(τ) + V(τ) h(τ)`
//! (or the LSTM's gates from `U(t)`, `W(t)`, `b(t)`, in the shared LSTM's order `i, f, g, o`):
//! the textbook's argument for sharing (ch. 10) is made against this network, which has a
//! weight set for each position and for each length it can end at, and so is defined only up
//! to the longest sequence it was built for. It learns each position from the samples that
//! reach it, where the shared network learns one transition from all of them.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::error::ModelError;
use crate::fused::sigmoid;
use crate::recurrence::{RecurrentCell, uniform_initializer};

/// Configuration of an [`UntiedSummarizer`].
#[derive(Config, Debug)]
pub struct UntiedSummarizerConfig {
    /// Token ids in `0..vocab_size`, read one-hot.
    pub vocab_size: usize,
    /// Hidden units `h(t)`.
    pub d_hidden: usize,
    /// The longest sequence: positions with weights of their own.
    pub positions: usize,
    /// Size of the single output `o`.
    pub d_output: usize,
    /// The cell at every position: tanh or LSTM.
    #[config(default = "RecurrentCell::Tanh")]
    pub cell: RecurrentCell,
}

impl UntiedSummarizerConfig {
    /// The width of a position's products: `d_hidden`, or the LSTM's four gates.
    fn gates(&self) -> usize {
        match self.cell {
            RecurrentCell::Lstm => 4 * self.d_hidden,
            _ => self.d_hidden,
        }
    }

    /// Checks every setting, naming the first one that is invalid.
    pub fn validate(&self) -> crate::Result<()> {
        for (setting, value) in [
            ("vocab_size", self.vocab_size),
            ("d_hidden", self.d_hidden),
            ("positions", self.positions),
            ("d_output", self.d_output),
        ] {
            if value == 0 {
                return Err(ModelError::InvalidConfig {
                    setting,
                    reason: "must be at least 1".into(),
                });
            }
        }
        if self.cell == RecurrentCell::Gru {
            return Err(ModelError::InvalidConfig {
                setting: "cell",
                reason: "the untied control has the tanh and LSTM cells".into(),
            });
        }
        Ok(())
    }

    /// Builds the network with the shared tanh layer's initialisation (PyTorch's for `nn.RNN`)
    /// at every position, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<UntiedSummarizer<B>> {
        self.validate()?;
        let init = uniform_initializer(self.d_hidden);
        let (h, g) = (self.d_hidden, self.gates());
        let positions = (0..self.positions)
            .map(|_| UntiedPosition {
                input_weight: init.init([self.vocab_size, g], device),
                recurrent_weight: init.init([h, g], device),
                bias: init.init([g], device),
                output_weight: init.init([h, self.d_output], device),
                output_bias: init.init([self.d_output], device),
            })
            .collect();
        Ok(UntiedSummarizer {
            positions,
            cell: self.cell,
        })
    }
}

crate::setting::init_or_panic!(UntiedSummarizerConfig => UntiedSummarizer);

/// Pattern 3 without sharing over time: separate `U(t)`, `W(t)`, `b(t)` at every position and
/// separate output weights `V(τ)`, `c(τ)` for every length `τ`. `G` below is `d_hidden` for
/// tanh, `4·d_hidden` for the LSTM.
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::{Int, Tensor};
/// use unroll_model::UntiedSummarizerConfig;
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let model = UntiedSummarizerConfig::new(2, 8, 40, 2).init::<B>(&device);
/// let bits = Tensor::<B, 2, Int>::from_ints([[0, 1, 1], [1, 1, 0]], &device); // [batch, time]
/// let o = model.forward(bits)?;
/// assert_eq!(o.dims(), [2, 2]); // [batch, d_output]
/// // Longer than the positions it has weights for: an error, not an answer.
/// assert!(model.forward(Tensor::<B, 2, Int>::zeros([1, 41], &device)).is_err());
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct UntiedSummarizer<B: Backend> {
    /// UntiedPosition `t`'s weights, `t = 1 …` in order: each its own parameters, so that a position
    /// no sequence reaches has no gradient and costs nothing.
    pub positions: Vec<UntiedPosition<B>>,
    /// The cell at every position.
    #[module(skip)]
    pub cell: RecurrentCell,
}

/// One position's weights. `G` is `d_hidden` for tanh, `4·d_hidden` for the LSTM.
#[derive(Module, Debug)]
pub struct UntiedPosition<B: Backend> {
    /// `U(t)`, `[vocab_size, G]`.
    pub input_weight: Param<Tensor<B, 2>>,
    /// `W(t)`, `[d_hidden, G]`, applied as `h(t-1) W(t)`.
    pub recurrent_weight: Param<Tensor<B, 2>>,
    /// `b(t)`, `[G]`.
    pub bias: Param<Tensor<B, 1>>,
    /// `V(t)`, `[d_hidden, d_output]`: read after a sequence of length `t`.
    pub output_weight: Param<Tensor<B, 2>>,
    /// `c(t)`, `[d_output]`.
    pub output_bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> UntiedSummarizer<B> {
    /// The longest sequence the network has weights for.
    pub fn positions(&self) -> usize {
        self.positions.len()
    }

    /// Reads each sequence (every row of one length, `τ`, from 1 to [`Self::positions`]) and
    /// returns `o = c(τ) + V(τ) h(τ)`.
    ///
    /// - `tokens`: `[batch, τ]`, ids in `0..vocab_size`.
    /// - returns `[batch, d_output]`.
    pub fn forward(&self, tokens: Tensor<B, 2, Int>) -> crate::Result<Tensor<B, 2>> {
        let [batch, time] = tokens.dims();
        let positions = self.positions();
        if time == 0 || time > positions || batch == 0 {
            return Err(ModelError::Shape {
                what: "tokens",
                expected: format!("[batch ≥ 1, 1 ..= {positions}]"),
                actual: vec![batch, time],
            });
        }
        let [vocab, _] = self.positions[0].input_weight.dims();
        let hidden = self.positions[0].recurrent_weight.dims()[0];
        let ids: Vec<i64> = tokens.to_data().iter::<i64>().collect();
        if let Some(&id) = ids.iter().find(|&&id| id < 0 || id >= vocab as i64) {
            return Err(ModelError::IdOutOfRange {
                what: "tokens",
                id,
                count: vocab,
            });
        }
        // `(h, c)`: the LSTM's cell state beside h; tanh leaves it unread.
        let mut state: Option<(Tensor<B, 2>, Tensor<B, 2>)> = None;
        for (t, position) in self.positions[..time].iter().enumerate() {
            let step: Tensor<B, 1, Int> =
                tokens.clone().slice([0..batch, t..t + 1]).reshape([batch]);
            // One-hot times U(t) is U(t)'s row of each id.
            let mut activation =
                position.input_weight.val().select(0, step) + position.bias.val().unsqueeze::<2>();
            if let Some((previous, _)) = &state {
                activation = activation + previous.clone().matmul(position.recurrent_weight.val());
            }
            state = Some(match self.cell {
                RecurrentCell::Lstm => {
                    let gate = |k: usize| activation.clone().narrow(1, k * hidden, hidden);
                    let (input, forget) = (sigmoid(gate(0)), sigmoid(gate(1)));
                    let (candidate, output) = (gate(2).tanh(), sigmoid(gate(3)));
                    let cell = match state {
                        Some((_, cell)) => forget * cell + input * candidate,
                        None => input * candidate,
                    };
                    (output * cell.clone().tanh(), cell)
                }
                _ => {
                    let h = activation.tanh();
                    (h.clone(), h)
                }
            });
        }
        let (summary, _) = state.expect("at least one step");
        let last = &self.positions[time - 1];
        Ok(summary.matmul(last.output_weight.val()) + last.output_bias.val().unsqueeze::<2>())
    }
}
