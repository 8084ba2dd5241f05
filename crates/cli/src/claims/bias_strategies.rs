//! The strategies claim 7 compares on every task, in the order its tables list them.

use crate::study::FittedStrategy;

/// Teacher forcing, one schedule of scheduled sampling, and the curriculum.
pub const STRATEGIES: [FittedStrategy; 3] = [
    FittedStrategy::TeacherForcing,
    FittedStrategy::Linear,
    FittedStrategy::Curriculum,
];
