//! The settings every task shares: the network's shape and pattern, the optimiser, the
//! learning-rate schedule, the loop's own settings ([`LoopSettings`]) and the macro that puts
//! them into a task's settings, and the checks of settings more than one task has.

use std::ops::Bound::{Excluded, Included, Unbounded};

use serde::{Deserialize, Serialize};
use unroll_model::RecurrentCell;
use unroll_model::setting::{at_least_one, within};

use crate::error::{Result, invalid};

/// A cell by its lower-case name, as the command lines spell it.
mod cell_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use unroll_model::RecurrentCell;

    pub fn serialize<S: Serializer>(
        cell: &RecurrentCell,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(cell.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RecurrentCell, D::Error> {
        let name = String::deserialize(deserializer)?;
        let known = || {
            let names: Vec<&str> = RecurrentCell::ALL.iter().map(|cell| cell.name()).collect();
            names.join(", ")
        };
        RecurrentCell::ALL
            .iter()
            .copied()
            .find(|cell| cell.name() == name)
            .ok_or_else(|| D::Error::custom(format!("unknown cell {name:?}: {}", known())))
    }
}

/// Which recurrent pattern the network uses: the chapter's pattern 1 or pattern 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Pattern {
    /// Pattern 1: hidden-to-hidden recurrence (the hidden state carries the past).
    Hidden,
    /// Pattern 2: output-to-hidden recurrence only (the fed-back previous output is the only
    /// input).
    Output,
}

/// The network's shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSettings {
    /// Which pattern.
    pub pattern: Pattern,
    /// Size of each hidden layer.
    pub hidden: usize,
    /// The transition of the hidden layers: tanh, LSTM or GRU (patterns 1 and 3; pattern 2's
    /// is tanh). Spelt `"tanh"`, `"lstm"` or `"gru"`.
    #[serde(with = "cell_name")]
    pub cell: RecurrentCell,
    /// Number of stacked layers (pattern 1 only).
    pub layers: usize,
    /// Dropout between stacked layers (pattern 1 only).
    pub dropout: f64,
    /// Read each sequence both ways, forward and backward in time, as PyTorch's
    /// `bidirectional=True` (classify, and seq2seq's encoder: the whole input is known before
    /// any output). A generator (char-rnn, forecast) has only the past and refuses it.
    pub bidirectional: bool,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            pattern: Pattern::Hidden,
            hidden: 256,
            cell: RecurrentCell::Tanh,
            layers: 1,
            dropout: 0.0,
            bidirectional: false,
        }
    }
}

/// A setting a resumed run cannot change (the network's shape, the optimiser whose state it
/// saved, how its data became numbers), with its value in the run and the value asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedSetting {
    /// The setting, as settings files spell it (`hidden`, `min_symbol_count`).
    pub setting: &'static str,
    /// Its value in the run, as settings files spell it.
    pub saved: String,
    /// The value asked for.
    pub asked: String,
}

impl FixedSetting {
    /// The setting `setting` with its two values, spelt as a settings file spells them.
    pub fn of<T: Serialize>(setting: &'static str, saved: &T, asked: &T) -> Self {
        FixedSetting {
            setting,
            saved: spelled(saved),
            asked: spelled(asked),
        }
    }
}

/// A value as a settings file spells it: a name without its quotes, a number as it is.
fn spelled<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(e) => format!("({e})"),
    }
}

/// The deepest stack a run may ask for.
pub const MAX_LAYERS: usize = 1024;

impl ModelSettings {
    /// Refuses a pattern other than 1 for a network that reads with a hidden recurrence
    /// (`what` it is, in words: `pattern 3 reads its sequence`).
    pub fn require_hidden(&self, what: &str) -> Result<()> {
        if self.pattern != Pattern::Hidden {
            return Err(invalid(
                "pattern",
                format!("{what} with a hidden recurrence (`hidden`)"),
            ));
        }
        Ok(())
    }

    /// The network's settings, which a resumed run keeps: its weights have their shape.
    pub fn fixed(&self, asked: &ModelSettings) -> Vec<FixedSetting> {
        vec![
            FixedSetting::of("pattern", &self.pattern, &asked.pattern),
            FixedSetting::of("hidden", &self.hidden, &asked.hidden),
            FixedSetting::of("cell", &self.cell.name(), &asked.cell.name()),
            FixedSetting::of("layers", &self.layers, &asked.layers),
            FixedSetting::of("dropout", &self.dropout, &asked.dropout),
            FixedSetting::of("bidirectional", &self.bidirectional, &asked.bidirectional),
        ]
    }

    /// Checks every setting, naming the first that is invalid as settings files and flags
    /// spell it.
    pub fn validate(&self) -> Result<()> {
        at_least_one("hidden", self.hidden as u64)?;
        at_least_one("layers", self.layers as u64)?;
        // Every layer costs a fixed overhead per step whatever its size: a stack deeper than
        // this spends minutes setting up and running before its first iteration says anything.
        if self.layers > MAX_LAYERS {
            return Err(invalid(
                "layers",
                format!(
                    "{} layers: at most {MAX_LAYERS} (recurrent stacks are rarely deeper than 8)",
                    self.layers
                ),
            ));
        }
        within("dropout", self.dropout, Included(0.0), Excluded(1.0))?;
        if self.pattern == Pattern::Output && (self.layers != 1 || self.dropout != 0.0) {
            return Err(invalid(
                "layers",
                "pattern 2 (output recurrence) has one hidden layer and no dropout",
            ));
        }
        self.check_cell()
    }

    /// Refuses both directions for a task that generates from what came before: `program`
    /// names it, as a user calls it.
    pub fn refuse_bidirectional(&self, program: &str) -> Result<()> {
        if self.bidirectional {
            return Err(invalid(
                "bidirectional",
                format!(
                    "{program} writes each step from the steps before it, open loop, and a backward direction reads steps that do not exist yet; both directions are for inputs given whole (classify, and seq2seq's encoder)"
                ),
            ));
        }
        Ok(())
    }

    /// Rejects a gated cell in pattern 2, whose hidden layer is the tanh one.
    pub fn check_cell(&self) -> Result<()> {
        if self.pattern == Pattern::Output && self.cell != RecurrentCell::Tanh {
            return Err(invalid(
                "cell",
                "pattern 2 (output recurrence) has a tanh hidden layer; gated cells are for \
                 patterns 1 and 3",
            ));
        }
        Ok(())
    }
}

/// The optimiser, with PyTorch's default hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OptimizerKind {
    /// Adam (β = 0.9, 0.999; ε = 1e-8).
    Adam,
    /// Plain stochastic gradient descent.
    Sgd,
    /// RMSprop (α = 0.99, ε = 1e-8).
    Rmsprop,
}

crate::settings::enum_with_kinds! {
    LearningRateScheduleKind,
    "The kind of learning-rate schedule, without its parameters.",
    /// How the learning rate changes with the iteration `i` (counted from 0) of `iterations`.
    pub enum LearningRateSchedule {
        /// `lr`, constant.
        Constant,
        /// `lr · factor^⌊i / every⌋` (`--lr-factor`, `--lr-every`).
        Step {
            /// Iterations between decays.
            every: u64,
            /// Multiplier at each decay, in (0, 1].
            factor: f64,
        },
        /// `lr · gammaⁱ` (`--lr-factor`).
        Exponential {
            /// Per-iteration multiplier, in (0, 1].
            gamma: f64,
        },
        /// `minimum + (lr − minimum) · (1 + cos(π i / iterations)) / 2` (`--lr-min`).
        Cosine {
            /// The rate reached at the last iteration.
            minimum: f64,
        },
    }
}

impl LearningRateSchedule {
    /// The learning rate at iteration `i`.
    pub fn rate(&self, base: f64, iteration: u64, iterations: u64) -> f64 {
        match *self {
            LearningRateSchedule::Constant => base,
            LearningRateSchedule::Step { every, factor } => {
                base * factor.powi((iteration / every.max(1)) as i32)
            }
            LearningRateSchedule::Exponential { gamma } => base * gamma.powf(iteration as f64),
            LearningRateSchedule::Cosine { minimum } => {
                let progress = iteration as f64 / iterations.max(1) as f64;
                minimum + (base - minimum) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
        }
    }

    pub(crate) fn validate(&self, base: f64) -> Result<()> {
        match *self {
            LearningRateSchedule::Constant => Ok(()),
            LearningRateSchedule::Step { every, factor } => {
                at_least_one("every", every)?;
                Ok(within("factor", factor, Excluded(0.0), Included(1.0))?)
            }
            LearningRateSchedule::Exponential { gamma } => {
                Ok(within("gamma", gamma, Excluded(0.0), Included(1.0))?)
            }
            LearningRateSchedule::Cosine { minimum } => {
                Ok(within("minimum", minimum, Included(0.0), Included(base))?)
            }
        }
    }
}

/// The settings of the loop itself, the same for every task.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSettings {
    /// Total optimiser iterations (a resumed run continues up to this).
    pub iterations: u64,
    /// Iterations between validations (and checkpoints).
    pub eval_every: u64,
    /// Iterations between logged metrics.
    pub log_every: u64,
    /// Seed of everything random.
    pub seed: u64,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub learning_rate: f64,
    /// How the learning rate decays.
    pub learning_rate_schedule: LearningRateSchedule,
    /// Maximum global gradient norm, or `None` for no clipping.
    pub clip: Option<f64>,
}

impl LoopSettings {
    /// Checks every setting, naming the first that is invalid.
    pub fn validate(&self) -> Result<()> {
        at_least_one("iterations", self.iterations)?;
        at_least_one("eval_every", self.eval_every)?;
        at_least_one("log_every", self.log_every)?;
        within(
            "learning_rate",
            self.learning_rate,
            Excluded(0.0),
            Unbounded,
        )?;
        self.learning_rate_schedule.validate(self.learning_rate)?;
        if let Some(clip) = self.clip {
            check_max_norm(clip)?;
        }
        Ok(())
    }
}

/// An enum of settings whose variants carry parameters (a schedule, a strategy), spelt in
/// settings files by a `kind` field, with (under the `clap` feature) its kinds alone as the enum
/// `$kind` a flag chooses from, written by strum from the variants themselves.
macro_rules! enum_with_kinds {
    ($kind:ident, $doc:literal, $(#[$meta:meta])* $vis:vis enum $name:ident { $($body:tt)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        #[cfg_attr(feature = "clap", derive(strum::EnumDiscriminants))]
        #[cfg_attr(feature = "clap", strum_discriminants(name($kind), derive(clap::ValueEnum)))]
        #[cfg_attr(feature = "clap", strum_discriminants(doc = $doc))]
        $(#[$meta])*
        $vis enum $name { $($body)* }
    };
}
pub(crate) use enum_with_kinds;

/// Declares a task's settings with the loop's own ([`LoopSettings`]) among their fields,
/// `loop_settings()`, and `validate_shared()`, the checks of what every task's settings hold
/// (the network `model`, the loop's settings, the `validation_fraction`). The fields stay flat, so that settings files stay flat and an unknown key
/// is still refused: serde's `flatten` would hide a nested struct's keys from that check.
macro_rules! settings_with_loop {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $type,)*
            /// Total optimiser iterations of the run (a resumed run continues up to this).
            /// Settings files may spell it `steps`, the familiar name.
            // unroll-cli's settings reader lists this alias too (`settings::ALIASES`).
            #[serde(alias = "steps")]
            pub iterations: u64,
            /// The optimiser.
            pub optimizer: $crate::settings::OptimizerKind,
            /// Base learning rate.
            pub learning_rate: f64,
            /// How the learning rate decays.
            pub learning_rate_schedule: $crate::settings::LearningRateSchedule,
            /// Maximum global gradient norm, or `None` for no clipping.
            pub clip: Option<f64>,
            /// Iterations between validations (and checkpoints).
            pub eval_every: u64,
            /// Iterations between logged metrics.
            pub log_every: u64,
            /// Seed of everything random: initial weights, batches, coins, samples, dropout.
            pub seed: u64,
        }

        impl $name {
            /// The settings of the loop itself.
            pub fn loop_settings(&self) -> $crate::settings::LoopSettings {
                $crate::settings::LoopSettings {
                    iterations: self.iterations,
                    eval_every: self.eval_every,
                    log_every: self.log_every,
                    seed: self.seed,
                    optimizer: self.optimizer,
                    learning_rate: self.learning_rate,
                    learning_rate_schedule: self.learning_rate_schedule,
                    clip: self.clip,
                }
            }

            /// These settings with `hidden` units in each recurrent layer.
            pub fn with_hidden(mut self, hidden: usize) -> Self {
                self.model.hidden = hidden;
                self
            }

            /// Checks what every task's settings hold (the network, the loop's own settings,
            /// the validation fraction), then that each of the task's own `counts` is at least
            /// 1, naming the first that is invalid.
            pub fn validate_shared(
                &self,
                counts: &[(&'static str, usize)],
            ) -> $crate::error::Result<()> {
                self.model.validate()?;
                self.loop_settings().validate()?;
                $crate::settings::check_validation_fraction(self.validation_fraction)?;
                Ok(unroll_model::setting::each_at_least_one(counts)?)
            }
        }
    };
}
pub(crate) use settings_with_loop;

/// Checks the fraction of a corpus kept for validation (the setting `validation_fraction`).
pub(crate) fn check_validation_fraction(fraction: f64) -> Result<()> {
    Ok(within(
        "validation_fraction",
        fraction,
        Excluded(0.0),
        Excluded(1.0),
    )?)
}

/// Checks the maximum gradient norm of clipping (the setting `clip`).
pub(crate) fn check_max_norm(max_norm: f64) -> Result<()> {
    Ok(within("clip", max_norm, Excluded(0.0), Unbounded)?)
}
