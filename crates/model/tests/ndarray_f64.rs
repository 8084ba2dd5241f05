//! Every model check on `Autodiff<NdArray<f64>>`.

mod common;

type Backend = burn::backend::Autodiff<burn::backend::NdArray<f64>>;

backend_checks!(Backend, burn::backend::ndarray::NdArrayDevice::Cpu);
