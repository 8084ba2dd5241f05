//! Range checks of configuration values, shared by every config of this crate and the training
//! crate's, so that a rejected value reads the same wherever it was set.

use std::fmt::Display;
use std::ops::Bound;

use crate::error::{ModelError, Result};

/// `init`, for each config given with the module its `try_init` builds: the module, or a panic
/// with `try_init`'s message, as Burn's `init` panics on an invalid config.
macro_rules! init_or_panic {
    ($config:ident => $module:ident) => {
        impl $config {
            #[doc = concat!("Builds the [`", stringify!($module), "`].")]
            ///
            /// # Panics
            #[doc = concat!(
                                        "If a setting is invalid; use [`", stringify!($config),
                                        "::try_init`] to get an error instead."
                                    )]
            pub fn init<B: burn::tensor::backend::Backend>(
                &self,
                device: &B::Device,
            ) -> $module<B> {
                self.try_init(device)
                    .unwrap_or_else(|error| panic!("{error}"))
            }
        }
    };
}
pub(crate) use init_or_panic;

/// Checks that a count is at least 1.
pub fn at_least_one(setting: &'static str, value: u64) -> Result<()> {
    if value == 0 {
        return Err(ModelError::InvalidConfig {
            setting,
            reason: "must be at least 1".into(),
        });
    }
    Ok(())
}

/// Checks that each count is at least 1, naming the first that is not:
/// `each_at_least_one(&[("window", window), ("batch", batch)])`.
pub fn each_at_least_one(counts: &[(&'static str, usize)]) -> Result<()> {
    counts
        .iter()
        .try_for_each(|&(setting, value)| at_least_one(setting, value as u64))
}

/// Checks that a real value is finite and lies between `lower` and `upper`
/// (`Bound::Unbounded` for no limit): `within("dropout", p, Included(0.0), Excluded(1.0))`.
/// NaN and infinities are always rejected.
pub fn within(
    setting: &'static str,
    value: f64,
    lower: Bound<f64>,
    upper: Bound<f64>,
) -> Result<()> {
    let above = match lower {
        Bound::Included(limit) => value >= limit,
        Bound::Excluded(limit) => value > limit,
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(limit) => value <= limit,
        Bound::Excluded(limit) => value < limit,
        Bound::Unbounded => true,
    };
    if value.is_finite() && above && below {
        return Ok(());
    }
    Err(ModelError::InvalidConfig {
        setting,
        reason: format!("must lie in {}, got {value}", Interval(lower, upper)),
    })
}

/// An interval in the usual notation: `[0, 1)`, `(0, ∞)`.
struct Interval(Bound<f64>, Bound<f64>);

impl Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Bound::Included(limit) => write!(f, "[{limit}, ")?,
            Bound::Excluded(limit) => write!(f, "({limit}, ")?,
            Bound::Unbounded => write!(f, "(−∞, ")?,
        }
        match self.1 {
            Bound::Included(limit) => write!(f, "{limit}]"),
            Bound::Excluded(limit) => write!(f, "{limit})"),
            Bound::Unbounded => write!(f, "∞)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Bound::{Excluded, Included, Unbounded};

    fn reason(result: Result<()>) -> String {
        match result {
            Err(ModelError::InvalidConfig { reason, .. }) => reason,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn bounds_are_honoured_and_named() {
        assert!(within("p", 0.0, Included(0.0), Excluded(1.0)).is_ok());
        assert_eq!(
            reason(within("p", 1.0, Included(0.0), Excluded(1.0))),
            "must lie in [0, 1), got 1"
        );
        assert!(within("lr", 1e9, Excluded(0.0), Unbounded).is_ok());
        assert_eq!(
            reason(within("lr", 0.0, Excluded(0.0), Unbounded)),
            "must lie in (0, ∞), got 0"
        );
        for bad in [f64::NAN, f64::INFINITY] {
            assert!(within("lr", bad, Excluded(0.0), Unbounded).is_err());
        }
        assert!(within("k", 1.0, Included(1.0), Unbounded).is_ok());
        assert_eq!(reason(at_least_one("batch", 0)), "must be at least 1");
        assert!(at_least_one("batch", 1).is_ok());
        let counts = [("window", 3), ("batch", 0), ("starts", 0)];
        assert!(matches!(
            each_at_least_one(&counts),
            Err(ModelError::InvalidConfig {
                setting: "batch",
                ..
            })
        ));
        assert!(each_at_least_one(&counts[..1]).is_ok());
    }
}
