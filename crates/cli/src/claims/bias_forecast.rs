//! Claim 7 on real values: `forecast study`'s runs on Lorenz-63 with pattern 2 (whose only
//! memory is the fed-back value, so what it is fed decides everything), teacher forcing against
//! scheduled sampling and the curriculum; the gap is the open loop's mean NRMSE over the
//! horizons less the one-step NRMSE fed the truth.

use unroll::training::Pattern;
use unroll::training::forecast::{BuiltinSystem, FedGradient, ForecastScores};

use super::bias_strategies::{STRATEGIES, mean_of, rows};
use super::task::Bench;
use crate::Error;
use crate::forecast::study::{Budget, Run, train_one};
use crate::study::FittedStrategy;

/// One strategy and each seed's scores.
pub type Runs = (FittedStrategy, Vec<ForecastScores>);

/// The gap of one run: the open loop's mean NRMSE less the one-step NRMSE.
pub fn gap(scores: &ForecastScores) -> f64 {
    scores.mean_nrmse - scores.one_step_nrmse
}

/// Trains every strategy, every seed, in `out/runs`.
pub fn run((iterations, length): (u64, usize), bench: Bench<'_>) -> Result<Vec<Runs>, Error> {
    let (seeds, out, device, note) = (bench.seeds, bench.out, bench.device, bench.note);
    let budget = Budget {
        iterations,
        length,
        fed_gradient: FedGradient::Through,
    };
    let mut all = Vec::new();
    for strategy in STRATEGIES {
        let mut runs = Vec::new();
        for seed in 0..seeds {
            let run = Run {
                system: BuiltinSystem::Lorenz,
                pattern: Pattern::Output,
                strategy,
                seed,
            };
            let name = format!("claim-7-forecast-{strategy:?}-{seed}").to_lowercase();
            let outcome = train_one(&run, budget, &out.join("runs").join(name), device)?;
            note(format!(
                "claim 7, forecast, {}, seed {seed}: gap {:.3}",
                strategy.name(),
                gap(&outcome.scores)
            ));
            runs.push(outcome.scores);
        }
        all.push((strategy, runs));
    }
    Ok(all)
}

/// The mean gap of `strategy`'s runs.
pub fn mean_gap(all: &[Runs], strategy: FittedStrategy) -> f64 {
    mean_of(all, strategy, gap)
}

/// The part of claim 7's section on real values.
pub fn section((iterations, length): (u64, usize), all: &[Runs]) -> String {
    let mut text = format!(
        "### On real values: `forecast`, Lorenz-63, pattern 2\n\n\
         `forecast study`'s runs (its settings; {iterations} iterations, a series of {length} \
         steps, the last 20 % held out; own outputs fed back with their gradient): the one-step \
         NRMSE fed the truth, the open loop's NRMSE at horizons 1 to 275 (five Lyapunov times), \
         and the gap, their difference.\n\n\
         | strategy | one step | open loop, mean | gap | valid steps |\n|---|---|---|---|---|\n"
    );
    rows(
        &mut text,
        all,
        &[
            (&|s| s.one_step_nrmse, 4),
            (&|s| s.mean_nrmse, 3),
            (&gap, 3),
            (&|s| s.valid_steps as f64, 1),
        ],
    );
    text.push('\n');
    text
}
