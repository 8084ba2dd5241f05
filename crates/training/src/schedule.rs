//! How much of what the network is fed comes from the truth, as training goes on.
//!
//! - Scheduled sampling (Bengio et al., 2015): at iteration `i` every fed-back position gets the
//!   true previous symbol with probability `ε(i)`, otherwise a symbol drawn from the model.
//! - Free-running curriculum: the last `n(i)` steps of every window are fed the model's own
//!   samples, `n` growing from 0 to a maximum.

use std::ops::Bound::{Excluded, Included, Unbounded};

use serde::{Deserialize, Serialize};
use unroll_model::setting::{at_least_one, within};

use crate::error::{Result, invalid};

crate::settings::enum_with_kinds! {
    SamplingScheduleKind,
    "The kind of ε schedule, without its parameters.",
    /// The probability `ε(i)` of feeding the true previous symbol at training iteration `i`.
    pub enum SamplingSchedule {
        /// `ε(i) = truth_probability` (`--truth-probability`): `1` is teacher forcing, `0` fully
        /// free-running.
        Constant {
            /// The probability ε of feeding the truth, in `[0, 1]` (settings files written before
            /// it had this name say `epsilon`).
            #[serde(alias = "epsilon")]
            truth_probability: f64,
        },
        /// `ε(i) = max(minimum, k − c·i)` (`--min-truth-probability`, `--k`, `--c`).
        Linear {
            /// Starting value, in `[0, 1]`.
            k: f64,
            /// Decrease per iteration, `≥ 0`.
            c: f64,
            /// Floor, in `[0, 1]`.
            minimum: f64,
        },
        /// `ε(i) = kⁱ`, `0 < k < 1` (`--k`).
        Exponential {
            /// The base.
            k: f64,
        },
        /// `ε(i) = k / (k + exp(i / k))`, `k ≥ 1` (`--k`).
        #[serde(alias = "inverse-sigmoid")]
        InverseSigmoid {
            /// Sets how long ε stays near 1.
            k: f64,
        },
    }
}

/// Checks that a probability lies in `[0, 1]`.
pub(crate) fn probability(setting: &'static str, value: f64) -> Result<()> {
    Ok(within(setting, value, Included(0.0), Included(1.0))?)
}

impl SamplingSchedule {
    /// The schedule's name in reports (`linear`, `inverse sigmoid`, …).
    pub fn name(&self) -> &'static str {
        match self {
            SamplingSchedule::Constant { .. } => "constant",
            SamplingSchedule::Linear { .. } => "linear",
            SamplingSchedule::Exponential { .. } => "exponential",
            SamplingSchedule::InverseSigmoid { .. } => "inverse sigmoid",
        }
    }

    /// Teacher forcing: `ε = 1` always.
    pub const TEACHER_FORCING: SamplingSchedule = SamplingSchedule::Constant {
        truth_probability: 1.0,
    };

    /// Checks the parameters, naming the one out of range.
    pub fn validate(&self) -> Result<()> {
        match *self {
            SamplingSchedule::Constant { truth_probability } => {
                probability("truth_probability", truth_probability)
            }
            SamplingSchedule::Linear { k, c, minimum } => {
                probability("k", k)?;
                probability("minimum", minimum)?;
                Ok(within("c", c, Included(0.0), Unbounded)?)
            }
            SamplingSchedule::Exponential { k } => {
                Ok(within("k", k, Excluded(0.0), Excluded(1.0))?)
            }
            SamplingSchedule::InverseSigmoid { k } => Ok(within("k", k, Included(1.0), Unbounded)?),
        }
    }

    /// `ε(i)`, the probability of feeding the truth at iteration `i` (counted from 0).
    pub fn probability(&self, iteration: u64) -> f64 {
        let i = iteration as f64;
        match *self {
            SamplingSchedule::Constant { truth_probability } => truth_probability,
            SamplingSchedule::Linear { k, c, minimum } => (k - c * i).max(minimum),
            SamplingSchedule::Exponential { k } => k.powf(i),
            // exp(i/k) overflows to infinity for large i, which correctly gives 0.
            SamplingSchedule::InverseSigmoid { k } => k / (k + (i / k).exp()),
        }
    }
}

/// The number `n(i)` of steps at the end of each window fed the model's own samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurriculumSchedule {
    /// Largest `n`; the window length makes training fully free-running.
    pub maximum: usize,
    /// Iterations spent teacher-forced before `n` starts growing.
    pub start: u64,
    /// Iterations over which `n` grows linearly from 0 to `maximum`.
    pub ramp: u64,
}

impl CurriculumSchedule {
    /// Checks the schedule against the window length.
    pub fn validate(&self, window: usize) -> Result<()> {
        if self.maximum > window {
            return Err(invalid(
                "maximum",
                format!(
                    "free-running steps ({}) exceed the window ({window})",
                    self.maximum
                ),
            ));
        }
        Ok(at_least_one("ramp", self.ramp)?)
    }

    /// `n(i) = min(maximum, ⌊maximum · (i − start) / ramp⌋)`, 0 before `start`.
    pub fn free_running_steps(&self, iteration: u64) -> usize {
        if iteration < self.start {
            return 0;
        }
        let progressed =
            (iteration - self.start) as u128 * self.maximum as u128 / self.ramp as u128;
        (progressed as usize).min(self.maximum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas() {
        let linear = SamplingSchedule::Linear {
            k: 1.0,
            c: 0.01,
            minimum: 0.2,
        };
        assert_eq!(linear.probability(0), 1.0);
        assert!((linear.probability(30) - 0.7).abs() < 1e-12);
        assert_eq!(linear.probability(1000), 0.2);

        let exponential = SamplingSchedule::Exponential { k: 0.99 };
        assert_eq!(exponential.probability(0), 1.0);
        assert!((exponential.probability(100) - 0.99f64.powi(100)).abs() < 1e-12);

        let sigmoid = SamplingSchedule::InverseSigmoid { k: 10.0 };
        assert!((sigmoid.probability(0) - 10.0 / 11.0).abs() < 1e-12);
        assert!((sigmoid.probability(50) - 10.0 / (10.0 + 5f64.exp())).abs() < 1e-12);
        assert_eq!(sigmoid.probability(100_000), 0.0);

        assert_eq!(SamplingSchedule::TEACHER_FORCING.probability(12345), 1.0);
    }

    /// Settings files written when ε was named `epsilon` still read; new ones say
    /// `truth_probability`.
    #[test]
    fn the_constant_schedule_reads_its_old_name() {
        let old: SamplingSchedule =
            serde_json::from_str(r#"{"kind": "constant", "epsilon": 0.3}"#).unwrap();
        let expected = SamplingSchedule::Constant {
            truth_probability: 0.3,
        };
        assert_eq!(old, expected);
        let written = serde_json::to_string(&old).unwrap();
        assert_eq!(written, r#"{"kind":"constant","truth_probability":0.3}"#);
    }

    #[test]
    fn out_of_range_parameters_are_named() {
        let bad = [
            (
                SamplingSchedule::Constant {
                    truth_probability: 1.5,
                },
                "truth_probability",
            ),
            (
                SamplingSchedule::Constant {
                    truth_probability: -0.1,
                },
                "truth_probability",
            ),
            (
                SamplingSchedule::Linear {
                    k: 1.0,
                    c: -1.0,
                    minimum: 0.0,
                },
                "c",
            ),
            (
                SamplingSchedule::Linear {
                    k: 1.0,
                    c: 0.1,
                    minimum: 2.0,
                },
                "minimum",
            ),
            (SamplingSchedule::Exponential { k: 1.0 }, "k"),
            (SamplingSchedule::Exponential { k: 0.0 }, "k"),
            (SamplingSchedule::InverseSigmoid { k: 0.5 }, "k"),
        ];
        for (schedule, setting) in bad {
            match schedule.validate() {
                Err(crate::TrainingError::InvalidSetting { setting: named, .. }) => {
                    assert_eq!(named, setting)
                }
                other => panic!("{schedule:?}: expected an error naming {setting}, got {other:?}"),
            }
        }
    }

    #[test]
    fn curriculum_grows_to_its_maximum() {
        let curriculum = CurriculumSchedule {
            maximum: 10,
            start: 100,
            ramp: 200,
        };
        assert!(curriculum.validate(10).is_ok());
        assert!(curriculum.validate(9).is_err());
        assert_eq!(curriculum.free_running_steps(0), 0);
        assert_eq!(curriculum.free_running_steps(100), 0);
        assert_eq!(curriculum.free_running_steps(200), 5);
        assert_eq!(curriculum.free_running_steps(300), 10);
        assert_eq!(curriculum.free_running_steps(10_000), 10);
        let bad = CurriculumSchedule {
            maximum: 1,
            start: 0,
            ramp: 0,
        };
        assert!(bad.validate(4).is_err());
    }
}
