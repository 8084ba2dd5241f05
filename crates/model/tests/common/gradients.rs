//! Central finite differences over every parameter of a module, compared with autodiff.

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};

use super::values;

/// One float parameter: id, shape, value and autodiff gradient.
struct Found {
    id: ParamId,
    shape: Vec<usize>,
    value: Vec<f64>,
    /// `None` where autodiff found no path from the parameter to the loss.
    autodiff: Option<Vec<f64>>,
}

/// Every float parameter of a module.
struct Collect<'a, B: AutodiffBackend> {
    gradients: &'a B::Gradients,
    found: Vec<Found>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        let shape = value.dims().to_vec();
        let data = values(value.clone().inner());
        let gradient = value
            .grad(self.gradients)
            .map(|g| g.into_data().iter::<f64>().collect());
        self.found.push(Found {
            id: param.id,
            shape,
            value: data,
            autodiff: gradient,
        });
    }
}

/// Replaces one element of one parameter.
struct Perturb {
    id: ParamId,
    index: usize,
    value: f64,
}

impl<B: burn::tensor::backend::Backend> ModuleMapper<B> for Perturb {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        if id != self.id {
            return Param::from_mapped_value(id, tensor, mapper);
        }
        let shape = tensor.dims();
        let device = tensor.device();
        let mut data: Vec<f64> = values(tensor);
        data[self.index] = self.value;
        let tensor = Tensor::from_data(TensorData::new(data, shape), &device);
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// Checks autodiff's gradient of `loss` against central finite differences for every element of
/// every parameter; the error is the norm of the difference over the larger norm, per parameter.
/// A parameter autodiff gives no gradient must not move the loss either; it is not counted.
/// Returns the number of parameters checked.
pub fn check_against_finite_differences<B, M>(
    model: &M,
    loss: impl Fn(&M) -> Tensor<B, 1>,
    tolerance: f64,
) -> usize
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Clone,
{
    let gradients = loss(model).backward();
    let mut collect = Collect::<B> {
        gradients: &gradients,
        found: Vec::new(),
    };
    model.visit(&mut collect);
    assert!(!collect.found.is_empty(), "the model has no parameters");
    let step = 1e-5;
    let mut checked = 0;
    for Found {
        id,
        shape,
        value: data,
        autodiff,
    } in &collect.found
    {
        let mut numeric = Vec::with_capacity(data.len());
        for (index, &x) in data.iter().enumerate() {
            let at = |value: f64| {
                let perturbed = model.clone().map(&mut Perturb {
                    id: *id,
                    index,
                    value,
                });
                values(loss(&perturbed))[0]
            };
            numeric.push((at(x + step) - at(x - step)) / (2.0 * step));
        }
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let Some(autodiff) = autodiff else {
            assert!(
                norm(&numeric) < 1e-12,
                "parameter of shape {shape:?}: no gradient from autodiff, numeric {numeric:?}"
            );
            continue;
        };
        checked += 1;
        let difference: Vec<f64> = autodiff.iter().zip(&numeric).map(|(a, n)| a - n).collect();
        let scale = norm(autodiff).max(norm(&numeric)).max(1e-12);
        let error = norm(&difference) / scale;
        assert!(
            error < tolerance,
            "parameter of shape {shape:?}: relative error {error:e} ≥ {tolerance:e}\n\
             autodiff {autodiff:?}\nnumeric  {numeric:?}"
        );
        assert!(
            norm(&numeric) > 1e-8,
            "parameter of shape {shape:?} has a zero gradient: the check would prove nothing"
        );
    }
    checked
}

/// Autodiff's gradient of every float parameter, in visiting order (zeros where it has none).
pub fn all_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    gradients: &B::Gradients,
) -> Vec<Vec<f64>> {
    let mut collect = Collect::<B> {
        gradients,
        found: Vec::new(),
    };
    model.visit(&mut collect);
    collect
        .found
        .into_iter()
        .map(|f| f.autodiff.unwrap_or_else(|| vec![0.0; f.value.len()]))
        .collect()
}
