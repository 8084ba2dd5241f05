//! The forecaster on the shared loop: pattern 2 and pattern 1 learn Lorenz-63's next step from
//! the built-in series, every strategy trains, a stopped run resumes to the last digit, and the
//! checkpoint alone reproduces the scores. On ndarray and flex.

mod common;

use std::path::Path;

use burn::backend::{Autodiff, Flex};
use common::{Scratch, place, test_on_cpu_backends, train_silently, turn};
use unroll_training::forecast::{
    BuiltinSystem, FedGradient, ForecastCheckpoint, ForecastConfig, ForecastTask, Standardization,
    open_loop, score_forecaster, split_in_time,
};
use unroll_training::{
    CurriculumSchedule, FeedbackChoice, LearningRateSchedule, Pattern, SamplingSchedule, Strategy,
    TrainingBackend, Which,
};

fn config(pattern: Pattern, iterations: u64, strategy: Strategy) -> ForecastConfig {
    let mut config = ForecastConfig {
        iterations,
        window: 20,
        batch: 16,
        eval_every: 40,
        log_every: 10,
        learning_rate: 1e-2,
        // A stopped run resumed to the same total: a rate that does not depend on the total.
        learning_rate_schedule: LearningRateSchedule::Constant,
        strategy,
        warmup: 20,
        horizon: 40,
        starts: 8,
        seed: 3,
        ..ForecastConfig::default()
    };
    config.model.pattern = pattern;
    config.model.hidden = 24;
    config
}

fn task(config: ForecastConfig) -> ForecastTask {
    let series = BuiltinSystem::Lorenz.series(1500, 0.0, 0).unwrap();
    let (train, validation) =
        split_in_time(&series, config.validation_fraction, config.shortest_part()).unwrap();
    let standardization = Standardization::fit(&train).unwrap();
    let train = standardization.standardize(&train.rows).unwrap();
    let validation = standardization.standardize(&validation.rows).unwrap();
    ForecastTask::new(config, standardization, train, validation).unwrap()
}

fn learns_and_resumes<B: TrainingBackend>(dir: &Path) {
    let device = Default::default();
    let strategies = [
        Strategy::TeacherForcing,
        Strategy::ScheduledSampling {
            schedule: SamplingSchedule::Linear {
                k: 1.0,
                c: 0.005,
                minimum: 0.5,
            },
            own: FeedbackChoice::Sample,
        },
        Strategy::Curriculum {
            schedule: CurriculumSchedule {
                maximum: 10,
                start: 20,
                ramp: 60,
            },
            own: FeedbackChoice::Sample,
        },
    ];
    for pattern in [Pattern::Output, Pattern::Hidden] {
        for strategy in strategies {
            let name = format!("{pattern:?} {}", strategy.name());
            let config = config(pattern, 120, strategy);
            let out = dir.join(format!("{pattern:?}-{}", strategy.name()).replace(' ', "-"));
            let report = train_silently::<B, _>(
                &mut task(config.clone()),
                &config.loop_settings(),
                &place(&out, None),
            )
            .unwrap();
            // Standardised columns: predicting the mean scores 1; the next step is learnable.
            assert!(
                report.validation.one_step_mse < 0.05,
                "{name}: {:?}",
                report.validation
            );
            assert_eq!(report.validation.nrmse.len(), 40);
            assert!(report.validation.valid_lyapunov_times.is_some());
            if let Strategy::Curriculum { .. } = strategy {
                let last = report.metrics.last().unwrap();
                assert_eq!(last.free_steps, Some(10), "{name}");
            }
        }
    }

    // Stopped at 60 and resumed to 120: the same run, to the last digit, with the gradient
    // through the fed outputs and scheduled sampling.
    let mut through = config(
        Pattern::Hidden,
        120,
        Strategy::ScheduledSampling {
            schedule: SamplingSchedule::Constant {
                truth_probability: 0.7,
            },
            own: FeedbackChoice::Sample,
        },
    );
    through.fed_gradient = FedGradient::Through;
    let whole = train_silently::<B, _>(
        &mut task(through.clone()),
        &through.loop_settings(),
        &place(&dir.join("whole"), None),
    )
    .unwrap();
    let halves = dir.join("halves");
    let first = ForecastConfig {
        iterations: 60,
        ..through.clone()
    };
    train_silently::<B, _>(
        &mut task(first.clone()),
        &first.loop_settings(),
        &place(&halves, None),
    )
    .unwrap();
    let checkpoint = ForecastCheckpoint::open(&halves, Which::Last).unwrap();
    assert_eq!(checkpoint.progress.iteration, 60);
    let resumed = train_silently::<B, _>(
        &mut task(through.clone()).resuming(Some(checkpoint)),
        &through.loop_settings(),
        &place(&halves, Some(halves.join("last"))),
    )
    .unwrap();
    assert_eq!(resumed.final_loss, whole.final_loss);
    assert_eq!(resumed.validation, whole.validation);

    // The checkpoint alone reproduces the scores: its weights and its standardisation.
    let saved = ForecastCheckpoint::open(&dir.join("whole"), Which::Last).unwrap();
    let model = saved.model::<B::InnerBackend>(&device).unwrap();
    let series = BuiltinSystem::Lorenz.series(1500, 0.0, 0).unwrap();
    let (_, validation) = split_in_time(&series, 0.2, 60).unwrap();
    let rows = saved.encoding.standardize(&validation.rows).unwrap();
    let scores = score_forecaster(
        &model,
        &rows,
        &open_loop(&saved.config, &saved.encoding),
        &device,
    )
    .unwrap();
    assert_eq!(scores, whole.validation);
    std::fs::remove_dir_all(dir).unwrap();
}

test_on_cpu_backends!(learns_and_resumes:
    forecasters_learn_and_resume_exactly_on_ndarray,
    forecasters_learn_and_resume_exactly_on_flex
);

#[test]
fn a_changed_run_and_another_tasks_checkpoint_are_refused() {
    type B = Autodiff<Flex>;
    let _turn = turn();
    let scratch = Scratch::new("forecast-refused");
    let dir = scratch.path();
    let short = ForecastConfig {
        eval_every: 2,
        ..config(Pattern::Hidden, 2, Strategy::TeacherForcing)
    };
    let out = dir.join("run");
    train_silently::<B, _>(
        &mut task(short.clone()),
        &short.loop_settings(),
        &place(&out, None),
    )
    .unwrap();
    let resume = |task: ForecastTask, config: &ForecastConfig| {
        let checkpoint = ForecastCheckpoint::open(&out, Which::Last).unwrap();
        train_silently::<B, _>(
            &mut task.resuming(Some(checkpoint)),
            &config.loop_settings(),
            &place(&out, Some(out.join("last"))),
        )
        .expect_err("the resume is refused")
        .to_string()
    };

    // Other columns: the series was renamed, so the saved standardisation does not apply.
    let series = BuiltinSystem::Lorenz.series(1500, 0.0, 0).unwrap();
    let (train, validation) =
        split_in_time(&series, short.validation_fraction, short.shortest_part()).unwrap();
    let mut renamed = Standardization::fit(&train).unwrap();
    renamed.columns[0] = "u".into();
    let other_columns = ForecastTask::new(
        short.clone(),
        renamed.clone(),
        renamed.standardize(&train.rows).unwrap(),
        renamed.standardize(&validation.rows).unwrap(),
    )
    .unwrap();
    let error = resume(other_columns, &short);
    assert!(
        error.contains("it forecasts the columns x, y, z, not u, y, z"),
        "{error}"
    );

    // Another network.
    let mut wider = short.clone();
    wider.model.hidden = 32;
    let error = resume(task(wider.clone()), &wider);
    assert!(
        error.contains(
            "`hidden` cannot change when resuming: the run has 24, these settings ask for 32"
        ),
        "{error}"
    );

    // A checkpoint without a standardisation is another task's.
    let foreign = dir.join("foreign");
    unroll_training::checkpoint::save_files(
        &foreign,
        Which::Last,
        vec![("config.json", b"{}".to_vec())],
    )
    .unwrap();
    let error = ForecastCheckpoint::open(&foreign, Which::Last)
        .expect_err("refused")
        .to_string();
    assert!(error.contains("not a forecaster's checkpoint"), "{error}");
}
