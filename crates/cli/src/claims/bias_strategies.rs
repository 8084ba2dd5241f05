//! The strategies claim 7 compares on every task, in the order its tables list them, and the
//! mean of a measure over one strategy's runs.

use crate::study::{FittedStrategy, spread};

/// Teacher forcing, one schedule of scheduled sampling, and the curriculum.
pub const STRATEGIES: [FittedStrategy; 3] = [
    FittedStrategy::TeacherForcing,
    FittedStrategy::Linear,
    FittedStrategy::Curriculum,
];

/// The mean of `measure` over `strategy`'s runs in `all` (NaN when it has none).
pub fn mean_of<T>(
    all: &[(FittedStrategy, Vec<T>)],
    strategy: FittedStrategy,
    measure: impl Fn(&T) -> f64,
) -> f64 {
    (all.iter())
        .find(|(s, _)| *s == strategy)
        .map_or(f64::NAN, |(_, runs)| {
            spread(&runs.iter().map(measure).collect::<Vec<_>>()).0
        })
}
