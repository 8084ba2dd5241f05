//! The strategies claim 7 compares on every task, in the order its tables list them, and the
//! mean of a measure over one strategy's runs, and their table rows.

use std::fmt::Write as _;

use crate::study::{FittedStrategy, cell, spread};

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

/// A measure of one run and the digits its table cell shows.
pub type Column<'a, T> = (&'a dyn Fn(&T) -> f64, usize);

/// One table row a strategy: its name, then each column's mean ± sd over its runs.
pub fn rows<T>(text: &mut String, all: &[(FittedStrategy, Vec<T>)], columns: &[Column<'_, T>]) {
    for (strategy, runs) in all {
        let _ = write!(text, "| {} |", strategy.name());
        for (measure, digits) in columns {
            let values: Vec<f64> = runs.iter().map(measure).collect();
            let _ = write!(text, " {} |", cell(&values, *digits));
        }
        text.push('\n');
    }
}
