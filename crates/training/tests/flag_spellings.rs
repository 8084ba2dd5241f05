//! A settings file accepts a setting's value as its flag spells it (`gaussian-nll`, `random`,
//! `inverse-sigmoid`) as well as its own spelling (`gaussian_nll`, `random_windows`), and writes
//! its own.

use serde::de::DeserializeOwned;
use unroll_training::forecast::{BuiltinSystem, RegressionLoss};
use unroll_training::{Batching, FeedbackChoice, SamplingSchedule, Strategy};

fn read<T: DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

#[test]
fn settings_files_accept_the_flags_spellings() {
    for (flag, own, value) in [
        ("mse", "mean_squared", RegressionLoss::MeanSquared),
        ("gaussian-nll", "gaussian_nll", RegressionLoss::GaussianNll),
    ] {
        assert_eq!(read::<RegressionLoss>(&format!("{flag:?}")), value);
        assert_eq!(read::<RegressionLoss>(&format!("{own:?}")), value);
        assert_eq!(serde_json::to_string(&value).unwrap(), format!("{own:?}"));
    }
    assert_eq!(
        read::<BuiltinSystem>("\"mackey-glass\""),
        BuiltinSystem::MackeyGlass
    );
    assert_eq!(read::<Batching>("\"random\""), Batching::RandomWindows);
    assert_eq!(read::<Batching>("\"streams\""), Batching::ContiguousStreams);
    assert_eq!(
        read::<Strategy>(r#"{"kind": "teacher-forcing"}"#),
        Strategy::TeacherForcing
    );
    let schedule = r#"{"kind": "inverse-sigmoid", "k": 30.0}"#;
    assert_eq!(
        read::<SamplingSchedule>(schedule),
        SamplingSchedule::InverseSigmoid { k: 30.0 }
    );
    let sampled: Strategy = read(&format!(
        r#"{{"kind": "scheduled-sampling", "schedule": {schedule}}}"#
    ));
    assert_eq!(
        sampled,
        Strategy::ScheduledSampling {
            schedule: SamplingSchedule::InverseSigmoid { k: 30.0 },
            own: FeedbackChoice::Sample,
        }
    );
}

/// One strategy type serves symbols and real values: a forecaster's settings (no `own`) and a
/// language model's (`own` named) both read, and `own` is written only when it is not the
/// default, so a forecaster's settings never show a choice of symbol.
#[test]
fn one_strategy_reads_both_tasks_settings() {
    let schedule = r#"{"kind": "curriculum", "schedule": {"maximum": 5, "start": 0, "ramp": 10}"#;
    let forecaster: Strategy = read(&format!("{schedule}}}"));
    let language: Strategy = read(&format!(r#"{schedule}, "own": "argmax"}}"#));
    let Strategy::Curriculum { own, .. } = forecaster else {
        panic!("{forecaster:?}")
    };
    assert_eq!(own, FeedbackChoice::Sample);
    let Strategy::Curriculum { own, .. } = language else {
        panic!("{language:?}")
    };
    assert_eq!(own, FeedbackChoice::Argmax);
    assert!(!serde_json::to_string(&forecaster).unwrap().contains("own"));
    assert!(
        serde_json::to_string(&language)
            .unwrap()
            .contains(r#""own":"argmax""#)
    );
}
