//! A settings file accepts a setting's value as its flag spells it (`gaussian-nll`, `random`,
//! `inverse-sigmoid`) as well as its own spelling (`gaussian_nll`, `random_windows`), and writes
//! its own.

use serde::de::DeserializeOwned;
use unroll_training::forecast::{BuiltinSystem, ForecastStrategy, RegressionLoss};
use unroll_training::{Batching, SamplingSchedule, Strategy};

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
    assert_eq!(
        read::<ForecastStrategy>(r#"{"kind": "teacher-forcing"}"#),
        ForecastStrategy::TeacherForcing
    );
    let schedule = r#"{"kind": "inverse-sigmoid", "k": 30.0}"#;
    assert_eq!(
        read::<SamplingSchedule>(schedule),
        SamplingSchedule::InverseSigmoid { k: 30.0 }
    );
    let sampled: ForecastStrategy = read(&format!(
        r#"{{"kind": "scheduled-sampling", "schedule": {schedule}}}"#
    ));
    assert_eq!(
        sampled,
        ForecastStrategy::ScheduledSampling {
            schedule: SamplingSchedule::InverseSigmoid { k: 30.0 }
        }
    );
}
