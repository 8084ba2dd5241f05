//! Flags every training command line spells the same way: the optimiser and the learning-rate
//! schedule.

use clap::ValueEnum;
use unroll::training::{LearningRateSchedule, OptimizerKind};

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OptimizerArg {
    Adam,
    Sgd,
    Rmsprop,
}

impl OptimizerArg {
    /// The optimiser this flag names.
    pub fn kind(self) -> OptimizerKind {
        match self {
            OptimizerArg::Adam => OptimizerKind::Adam,
            OptimizerArg::Sgd => OptimizerKind::Sgd,
            OptimizerArg::Rmsprop => OptimizerKind::Rmsprop,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LrScheduleArg {
    Constant,
    /// Multiply by --lr-factor every --lr-every iterations.
    Step,
    /// Multiply by --lr-factor every iteration.
    Exponential,
    /// Cosine from --lr down to --lr-min over the run.
    Cosine,
}

impl LrScheduleArg {
    /// The schedule, with `--lr-every`, `--lr-factor` and `--lr-min` where it takes them.
    pub fn schedule(
        self,
        every: Option<u64>,
        factor: Option<f64>,
        minimum: Option<f64>,
    ) -> LearningRateSchedule {
        match self {
            LrScheduleArg::Constant => LearningRateSchedule::Constant,
            LrScheduleArg::Step => LearningRateSchedule::Step {
                every: every.unwrap_or(1000),
                factor: factor.unwrap_or(0.5),
            },
            LrScheduleArg::Exponential => LearningRateSchedule::Exponential {
                gamma: factor.unwrap_or(0.999),
            },
            LrScheduleArg::Cosine => LearningRateSchedule::Cosine {
                minimum: minimum.unwrap_or(0.0),
            },
        }
    }
}
