//! # unroll
//!
//! Classic recurrent networks on [Burn](https://burn.dev): the three recurrent design patterns of
//! *Deep Learning* ch. 10 as reusable modules ([`model`]), and the training strategies that fight
//! exposure bias ([`training`]). This facade re-exports both and picks a backend from cargo
//! features ([`backend`]).
//!
//! ## Start
//!
//! A character model on the backend the features chose, trained and sampled:
//!
//! ```
//! use std::ops::ControlFlow;
//! use unroll::backend::{NAME, Training};
//! use unroll::training::{Corpus, GenerationRequest, SamplingOptions, Silent, SymbolMode};
//! use unroll::training::{LanguageConfig, LanguageRun, generate, train_language};
//!
//! let corpus = Corpus::from_bytes("to be or not to be. ".repeat(30).as_bytes(), SymbolMode::Text)?;
//! let mut config = LanguageConfig { window: 16, batch: 8, iterations: 10, ..Default::default() };
//! config.model.hidden = 32;
//! let out = std::env::temp_dir().join(format!("unroll-facade-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&out);
//! let run = LanguageRun::<Training>::new(config, &corpus, &out, Default::default(), NAME);
//! let report = train_language(run, &mut Silent)?;
//! let request = GenerationRequest { prime: "to ", length: 12, options: SamplingOptions::default(), seed: 0 };
//! let text = generate(&report.model, &corpus.vocabulary, &request, &Default::default(), |_| {
//!     ControlFlow::Continue(())
//! })?;
//! assert_eq!(text.chars().count(), 12);
//! # std::fs::remove_dir_all(&out).unwrap();
//! # Ok::<(), unroll::training::TrainingError>(())
//! ```
#![warn(missing_docs)]

pub use unroll_model as model;
pub use unroll_training as training;

/// The backend chosen at build time by cargo feature.
///
/// Priority when several are enabled: `cuda`, then `wgpu`, then `ndarray`, then `flex` (the
/// default), so `--features ndarray` alone is enough to move off the default.
pub mod backend {
    #[cfg(feature = "cuda")]
    mod chosen {
        /// The inference backend.
        pub type Inference = burn::backend::Cuda;
        /// Its name, as printed by the binaries.
        pub const NAME: &str = "cuda";
    }
    #[cfg(all(feature = "wgpu", not(feature = "cuda")))]
    mod chosen {
        /// The inference backend.
        pub type Inference = burn::backend::Wgpu;
        /// Its name, as printed by the binaries.
        pub const NAME: &str = "wgpu";
    }
    #[cfg(all(feature = "ndarray", not(any(feature = "cuda", feature = "wgpu"))))]
    mod chosen {
        /// The inference backend.
        pub type Inference = burn::backend::NdArray;
        /// Its name, as printed by the binaries.
        pub const NAME: &str = "ndarray";
    }
    #[cfg(all(
        feature = "flex",
        not(any(feature = "cuda", feature = "wgpu", feature = "ndarray"))
    ))]
    mod chosen {
        /// The inference backend.
        pub type Inference = burn::backend::Flex;
        /// Its name, as printed by the binaries.
        pub const NAME: &str = "flex";
    }
    #[cfg(not(any(
        feature = "cuda",
        feature = "wgpu",
        feature = "ndarray",
        feature = "flex"
    )))]
    compile_error!("enable one backend feature: flex (default), ndarray, wgpu or cuda");

    pub use chosen::{Inference, NAME};

    /// The training backend: the chosen backend with autodiff.
    pub type Training = burn::backend::Autodiff<Inference>;
}
