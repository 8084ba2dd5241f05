//! Elementwise maps over slices: `tanh`, `exp` and the tanh slope, vectorised where the CPU
//! allows.
//!
//! The f32 maps are branch-free polynomial approximations written so that the compiler turns
//! them into SIMD code; each is compiled twice, once for AVX2 + FMA (chosen at run time when
//! the CPU has them) and once for the baseline. The f64 maps use the standard library: f64 is
//! the precision the tests check gradients in, not the one that needs speed.

use burn::tensor::Element;

/// A float the host kernels compute in: f32 or f64.
pub trait Real:
    Element
    + bytemuck::Pod
    + num_traits::Float
    + std::iter::Sum
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// `values[i] = tanh(values[i])`.
    fn tanh_in_place(values: &mut [Self]);
    /// `values[i] = σ(values[i]) = 1 / (1 + exp(−values[i]))`.
    fn sigmoid_in_place(values: &mut [Self]);
    /// `values[i] = exp(values[i] - shift)`; returns the sum of the results.
    fn shifted_exp_in_place(values: &mut [Self], shift: Self) -> Self;
    /// `Σ values[i]²`, accumulated in f64 (f32 within short runs).
    fn sum_of_squares(values: &[Self]) -> f64;
}

/// Compiles `$body` for AVX2 + FMA and for the baseline, and picks at run time.
macro_rules! vectorised {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(-> $out:ty)? $body:block) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) $(-> $out)? {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    #[target_feature(enable = "avx2,fma")]
                    fn wide($($arg: $ty),*) $(-> $out)? $body
                    // SAFETY: the CPU has the features `wide` was compiled for (checked above).
                    return unsafe { wide($($arg),*) };
                }
            }
            #[inline(always)]
            fn narrow($($arg: $ty),*) $(-> $out)? $body
            narrow($($arg),*)
        }
    };
}

/// `tanh(x)` in f32 as Eigen computes it: a 13/6 rational approximation on `[-9, 9]`, where
/// tanh has reached 1 to f32 precision. Absolute error below 3e-7 (tested).
#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.760_768_5e-16,
        2.000_188e-13,
        -8.604_672e-11,
        5.122_297e-8,
        1.485_722_4e-5,
        6.372_619_3e-4,
        4.893_524_6e-3,
    ];
    const BETA: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
    let clamped = x.clamp(-9.0, 9.0);
    let square = clamped * clamped;
    let mut numerator = ALPHA[0];
    for alpha in &ALPHA[1..] {
        numerator = numerator.mul_add(square, *alpha);
    }
    let mut denominator = BETA[0];
    for beta in &BETA[1..] {
        denominator = denominator.mul_add(square, *beta);
    }
    // The rational function overshoots 1 by an ulp near the clamp.
    (clamped * numerator / denominator).clamp(-1.0, 1.0)
}

/// `exp(x)` in f32 as Cephes computes it: `2^n · p(r)` with `x = n ln 2 + r`, `|r| ≤ ln 2 / 2`.
/// Relative error below 2e-7 (tested); inputs below −87 give 2^−126 instead of smaller numbers,
/// which no softmax can tell from zero.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by adding and removing 1.5 · 2^23: unlike floor() and `as`, this
    // vectorises (measured 2.5x faster).
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = n.mul_add(-0.693_359_4, x);
    let r = n.mul_add(2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4f32;
    for c in [
        1.398_2e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        5e-1,
    ] {
        p = p.mul_add(r, c);
    }
    let p = p.mul_add(r * r, r) + 1.0;
    // 2^n from its exponent bits: n + 127 (in [1, 254] after the clamp) sits in the low bits of
    // n + 2^23 + 127, and the shift moves it into the exponent, dropping the rest.
    p * f32::from_bits((n + 8_388_735.0).to_bits() << 23)
}

vectorised! {
    /// `values[i] = tanh(values[i])`, f32.
    fn tanh_f32_slice(values: &mut [f32]) {
        for value in values.iter_mut() {
            *value = tanh_f32(*value);
        }
    }
}

vectorised! {
    /// `values[i] = σ(values[i])`, f32, as `(1 + tanh(x/2)) / 2`: the tanh approximation's
    /// error, halved (below 1.5e-7).
    fn sigmoid_f32_slice(values: &mut [f32]) {
        for value in values.iter_mut() {
            *value = tanh_f32(0.5 * *value).mul_add(0.5, 0.5);
        }
    }
}

vectorised! {
    /// `values[i] = exp(values[i] - shift)`, f32; returns the sum.
    fn shifted_exp_f32_slice(values: &mut [f32], shift: f32) -> f32 {
        // Eight partial sums let the sum vectorise too.
        let mut sums = [0f32; 8];
        let mut chunks = values.chunks_exact_mut(8);
        for chunk in &mut chunks {
            for (value, sum) in chunk.iter_mut().zip(sums.iter_mut()) {
                *value = exp_f32(*value - shift);
                *sum += *value;
            }
        }
        let mut total: f32 = sums.iter().sum();
        for value in chunks.into_remainder() {
            *value = exp_f32(*value - shift);
            total += *value;
        }
        total
    }
}

vectorised! {
    /// `gradient[i] *= 1 − state[i]²`, f32: the backward of tanh from its output.
    fn tanh_slope_f32(gradient: &mut [f32], state: &[f32]) {
        for (g, h) in gradient.iter_mut().zip(state) {
            *g *= 1.0 - h * h;
        }
    }
}

vectorised! {
    /// `into[i] += from[i]`, f32.
    fn add_f32(into: &mut [f32], from: &[f32]) {
        for (a, b) in into.iter_mut().zip(from) {
            *a += *b;
        }
    }
}

vectorised! {
    /// `Σ values[i]²`, f32: runs of [`SQUARES_RUN`] summed in 16 f32 lanes (the additions
    /// vectorise), each run's total added in f64.
    fn sum_of_squares_f32(values: &[f32]) -> f64 {
        let mut total = 0.0f64;
        for run in values.chunks(SQUARES_RUN) {
            let lanes: [f32; 16] = squares_in_lanes(run);
            total += lanes.iter().map(|&lane| f64::from(lane)).sum::<f64>();
        }
        total
    }
}

/// Lane `i` sums the squares of the values at `i` mod `LANES`: independent additions, which
/// vectorise where one running sum would wait on each.
#[inline(always)]
fn squares_in_lanes<E: num_traits::Float, const LANES: usize>(values: &[E]) -> [E; LANES] {
    let mut lanes = [E::zero(); LANES];
    let whole = values.chunks_exact(LANES);
    let rest = whole.remainder();
    for chunk in whole {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + value * value;
        }
    }
    for (lane, &value) in lanes.iter_mut().zip(rest) {
        *lane = *lane + value * value;
    }
    lanes
}

/// Values a run of [`sum_of_squares_f32`] sums in f32 before adding into f64: 32 squares a
/// lane, so a run's rounding stays near f32's own (about 1e-6 relative).
const SQUARES_RUN: usize = 512;

impl Real for f32 {
    fn sum_of_squares(values: &[f32]) -> f64 {
        sum_of_squares_f32(values)
    }

    fn tanh_in_place(values: &mut [f32]) {
        tanh_f32_slice(values);
    }

    fn sigmoid_in_place(values: &mut [f32]) {
        sigmoid_f32_slice(values);
    }

    fn shifted_exp_in_place(values: &mut [f32], shift: f32) -> f32 {
        shifted_exp_f32_slice(values, shift)
    }
}

impl Real for f64 {
    fn sum_of_squares(values: &[f64]) -> f64 {
        squares_in_lanes::<f64, 4>(values).iter().sum()
    }

    fn tanh_in_place(values: &mut [f64]) {
        for value in values {
            *value = value.tanh();
        }
    }

    fn sigmoid_in_place(values: &mut [f64]) {
        // The same form as the generic passes and the cells (exact, stable for any x).
        for value in values {
            *value = (0.5 * *value).tanh().mul_add(0.5, 0.5);
        }
    }

    fn shifted_exp_in_place(values: &mut [f64], shift: f64) -> f64 {
        let mut total = 0.0;
        for value in values {
            *value = (*value - shift).exp();
            total += *value;
        }
        total
    }
}

/// `gradient[i] *= 1 − state[i]²`.
pub fn tanh_slope<E: Real>(gradient: &mut [E], state: &[E]) {
    if let (Some(gradient), Some(state)) = (as_f32_mut(gradient), as_f32(state)) {
        return tanh_slope_f32(gradient, state);
    }
    for (g, h) in gradient.iter_mut().zip(state) {
        *g = *g * (E::one() - *h * *h);
    }
}

/// `into[i] += from[i]`.
pub fn add_assign<E: Real>(into: &mut [E], from: &[E]) {
    if let (Some(into), Some(from)) = (as_f32_mut(into), as_f32(from)) {
        return add_f32(into, from);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a = *a + *b;
    }
}

fn as_f32<E: Real>(values: &[E]) -> Option<&[f32]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>())
        // SAFETY: E is f32 (checked just above), so the cast changes no layout.
        .then(|| unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) })
}

fn as_f32_mut<E: Real>(values: &mut [E]) -> Option<&mut [f32]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>()).then(|| {
        // SAFETY: E is f32 (checked just above), so the cast changes no layout.
        unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 1e-3).collect();
        xs.extend([
            -1e30,
            -100.0,
            -1e-30,
            0.0,
            1e-30,
            100.0,
            1e30,
            f32::MIN,
            f32::MAX,
        ]);
        xs
    }

    /// The grid, and `apply` run on a copy of it.
    fn on_grid(apply: fn(&mut [f32])) -> (Vec<f32>, Vec<f32>) {
        let xs = grid();
        let mut ys = xs.clone();
        apply(&mut ys);
        (xs, ys)
    }

    #[test]
    fn f32_tanh_is_within_3e_7_of_the_exact_value_and_saturates() {
        let (xs, ys) = on_grid(f32::tanh_in_place);
        for (x, y) in xs.iter().zip(&ys) {
            let exact = (*x as f64).tanh();
            assert!(
                (*y as f64 - exact).abs() < 3e-7,
                "tanh({x}) = {y}, exact {exact}"
            );
            assert!(y.abs() <= 1.0);
        }
        // Odd, and exact at zero.
        assert_eq!(ys[20_000], 0.0);
        assert_eq!(tanh_f32(0.5), -tanh_f32(-0.5));
    }

    #[test]
    fn f32_sigmoid_is_within_2e_7_of_the_exact_value() {
        let (xs, ys) = on_grid(f32::sigmoid_in_place);
        for (x, y) in xs.iter().zip(&ys) {
            let exact = 1.0 / (1.0 + (-(*x as f64)).exp());
            assert!(
                (*y as f64 - exact).abs() < 2e-7,
                "σ({x}) = {y}, exact {exact}"
            );
            assert!((0.0..=1.0).contains(y));
        }
    }

    #[test]
    fn f32_shifted_exp_is_within_2e_7_relative_and_sums() {
        let xs: Vec<f32> = (-8_000..=8_000).map(|i| i as f32 * 1e-2).collect();
        let mut ys = xs.clone();
        let sum = f32::shifted_exp_in_place(&mut ys, 3.0);
        let mut exact_sum = 0f64;
        for (x, y) in xs.iter().zip(&ys) {
            // The kernel exponentiates the f32 difference; so does the reference.
            let exact = ((*x - 3.0) as f64).exp();
            exact_sum += exact;
            assert!(
                (*y as f64 - exact).abs() <= 2e-7 * exact,
                "exp({x} - 3) = {y}, exact {exact}"
            );
        }
        assert!((sum as f64 - exact_sum).abs() < 1e-5 * exact_sum);
        let mut tiny = [-1e4f32];
        f32::shifted_exp_in_place(&mut tiny, 0.0);
        assert!(tiny[0] >= 0.0 && tiny[0] < 1e-37);
    }

    #[test]
    fn slope_and_sum_match_plain_arithmetic_in_both_precisions() {
        let state = [0.5f32, -0.25, 0.0, 0.9, -1.0, 0.3, 0.1, 0.2, 0.7];
        let mut gradient = [1.0f32, 2.0, 3.0, -1.0, 5.0, 0.5, 1.5, -2.0, 4.0];
        let expected: Vec<f32> = gradient
            .iter()
            .zip(&state)
            .map(|(g, h)| g * (1.0 - h * h))
            .collect();
        tanh_slope(&mut gradient, &state);
        assert_eq!(gradient.to_vec(), expected);
        let mut doubles = [1.0f64, 2.0];
        add_assign(&mut doubles, &[0.5, -4.0]);
        assert_eq!(doubles, [1.5, -2.0]);
        let mut singles = [1.0f32; 9];
        add_assign(&mut singles, &state);
        assert_eq!(singles[3], 1.9);
    }
}
