//! Adam's step on host memory: one pass over `θ`, `g`, `m`, `v`, in blocks shared by the cores.

use rayon::prelude::*;

use super::AdamConstants;
use crate::fused::host::math::Real;

/// Values per block a core takes: large enough that handing a block over costs little against
/// its work, small enough that a parameter of a few thousand blocks spreads over every core.
const BLOCK: usize = 1 << 14;

/// One parameter's values, each of the same length.
pub(crate) struct Values<'a, E> {
    /// `θ`, updated in place.
    pub parameter: &'a mut [E],
    /// `m`, updated in place.
    pub moment_1: &'a mut [E],
    /// `v`, updated in place.
    pub moment_2: &'a mut [E],
    /// `g`.
    pub gradient: &'a [E],
}

/// The step over every value, each operation rounded as Burn's tensor operations round it
/// (no fused multiply-add), so that the two agree to the last bit in f32.
pub(crate) fn step<E: Real>(values: Values<'_, E>, constants: &AdamConstants) {
    let count = values.parameter.len();
    assert!(
        values.moment_1.len() == count
            && values.moment_2.len() == count
            && values.gradient.len() == count,
        "Adam's values have the parameter's length"
    );
    let (keep_1, keep_2, moment_factor, epsilon) = constants.factors();
    let scalar = |x: f32| E::from(x).expect("an f32 is a float of any width");
    let (beta_1, beta_2) = (scalar(constants.beta_1), scalar(constants.beta_2));
    let (keep_1, keep_2) = (scalar(keep_1), scalar(keep_2));
    let (moment_factor, epsilon) = (scalar(moment_factor), scalar(epsilon));
    let learning_rate = E::from(constants.learning_rate).expect("a learning rate is finite");
    let block = |parameter: &mut [E], moment_1: &mut [E], moment_2: &mut [E], gradient: &[E]| {
        for (((p, m), v), &g) in parameter
            .iter_mut()
            .zip(moment_1.iter_mut())
            .zip(moment_2.iter_mut())
            .zip(gradient)
        {
            *m = *m * beta_1 + g * keep_1;
            *v = *v * beta_2 + g * g * keep_2;
            let update = *m * moment_factor / (v.sqrt() + epsilon);
            *p = *p - update * learning_rate;
        }
    };
    if count <= BLOCK {
        // One block: on the calling thread, without waking the pool (a bias, an output layer).
        return block(
            values.parameter,
            values.moment_1,
            values.moment_2,
            values.gradient,
        );
    }
    values
        .parameter
        .par_chunks_mut(BLOCK)
        .zip(values.moment_1.par_chunks_mut(BLOCK))
        .zip(values.moment_2.par_chunks_mut(BLOCK))
        .zip(values.gradient.par_chunks(BLOCK))
        .for_each(|(((parameter, moment_1), moment_2), gradient)| {
            block(parameter, moment_1, moment_2, gradient)
        });
}
