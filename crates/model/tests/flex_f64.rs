//! Every model check on `Autodiff<Flex>` computing in f64.

mod common;

use burn::backend::flex::FlexDevice;
use burn::tensor::DType;

type Backend = burn::backend::Autodiff<burn::backend::Flex>;

/// Flex picks its float type at run time: every check asks for this device, so f64 is set before
/// any tensor exists in this test binary.
fn device() -> FlexDevice {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        burn::tensor::backend::set_default_float_dtype::<burn::backend::Flex>(
            &FlexDevice,
            DType::F64,
        )
        .expect("f64 is set before any tensor is created");
    });
    FlexDevice
}

backend_checks!(Backend, device());

#[test]
fn flex_computes_in_f64() {
    let x = burn::tensor::Tensor::<Backend, 1>::from_floats([1.0], &device());
    assert_eq!(x.dtype(), DType::F64);
}
