//! Built-in chaotic systems, integrated here so that nothing is downloaded: Lorenz-63 by the
//! classical Runge–Kutta method and the Mackey–Glass delay equation by Runge–Kutta with the
//! delayed value interpolated from the stored history.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, invalid};

/// The largest Lyapunov exponent of Lorenz-63 at the classical parameters (Viswanath 1998):
/// one Lyapunov time is `1 / 0.9056` time units, the unit a forecast's valid time is given in.
pub const LORENZ_LYAPUNOV_EXPONENT: f64 = 0.9056;

/// Lorenz-63: `dx = σ (y − x)`, `dy = x (ρ − z) − y`, `dz = x y − β z`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lorenz {
    /// σ (10).
    pub sigma: f64,
    /// ρ (28).
    pub rho: f64,
    /// β (8/3).
    pub beta: f64,
    /// Integration step and sampling interval (0.01).
    pub step: f64,
}

impl Default for Lorenz {
    fn default() -> Self {
        Lorenz {
            sigma: 10.0,
            rho: 28.0,
            beta: 8.0 / 3.0,
            step: 0.01,
        }
    }
}

impl Lorenz {
    fn derivative(&self, [x, y, z]: [f64; 3]) -> [f64; 3] {
        [
            self.sigma * (y - x),
            x * (self.rho - z) - y,
            x * y - self.beta * z,
        ]
    }

    /// One classical Runge–Kutta step from `state`.
    pub fn step_from(&self, state: [f64; 3]) -> [f64; 3] {
        let h = self.step;
        let along = |s: [f64; 3], k: [f64; 3], f: f64| std::array::from_fn(|i| s[i] + f * k[i]);
        let k1 = self.derivative(state);
        let k2 = self.derivative(along(state, k1, h / 2.0));
        let k3 = self.derivative(along(state, k2, h / 2.0));
        let k4 = self.derivative(along(state, k3, h));
        std::array::from_fn(|i| state[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
    }

    /// `samples` states, one per step, after `transient` steps from `initial` are dropped (so
    /// the trajectory lies on the attractor).
    pub fn trajectory(
        &self,
        initial: [f64; 3],
        transient: usize,
        samples: usize,
    ) -> Result<Vec<[f64; 3]>> {
        if !(self.step > 0.0 && self.step.is_finite()) {
            return Err(invalid("step", "the integration step must be positive"));
        }
        let mut state = initial;
        for _ in 0..transient {
            state = self.step_from(state);
        }
        let mut out = Vec::with_capacity(samples);
        for _ in 0..samples {
            state = self.step_from(state);
            out.push(state);
        }
        Ok(out)
    }
}

/// Mackey–Glass: `dx/dt = β x(t − τ) / (1 + x(t − τ)ⁿ) − γ x(t)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MackeyGlass {
    /// β (0.2).
    pub beta: f64,
    /// γ (0.1).
    pub gamma: f64,
    /// n (10).
    pub exponent: f64,
    /// The delay τ (17: chaotic).
    pub delay: f64,
    /// Integration step (0.1); the delay must be a whole number of steps.
    pub step: f64,
    /// Integration steps per sample (10: one sample per time unit).
    pub steps_per_sample: usize,
}

impl Default for MackeyGlass {
    fn default() -> Self {
        MackeyGlass {
            beta: 0.2,
            gamma: 0.1,
            exponent: 10.0,
            delay: 17.0,
            step: 0.1,
            steps_per_sample: 10,
        }
    }
}

impl MackeyGlass {
    fn derivative(&self, x: f64, delayed: f64) -> f64 {
        self.beta * delayed / (1.0 + delayed.powf(self.exponent)) - self.gamma * x
    }

    /// `samples` values, one per `steps_per_sample` steps, after `transient` samples are
    /// dropped; the history before `t = 0` is the constant `initial`.
    pub fn trajectory(&self, initial: f64, transient: usize, samples: usize) -> Result<Vec<f64>> {
        if !(self.step > 0.0 && self.step.is_finite()) {
            return Err(invalid("step", "the integration step must be positive"));
        }
        let lag = (self.delay / self.step).round() as usize;
        if lag == 0 || ((lag as f64) * self.step - self.delay).abs() > 1e-9 {
            return Err(invalid(
                "delay",
                "the delay must be a positive whole number of integration steps",
            ));
        }
        if self.steps_per_sample == 0 {
            return Err(invalid("steps_per_sample", "at least one step per sample"));
        }
        // history[k] is x at step k − lag: the first `lag + 1` entries are the initial history.
        let total = (transient + samples) * self.steps_per_sample;
        let mut history = vec![initial; lag + 1];
        history.reserve(total);
        for k in lag..lag + total {
            let x = history[k];
            // x(t − τ) at t, t + h/2 and t + h: the stored values, the middle one interpolated.
            let (d0, d1) = (history[k - lag], history[k - lag + 1]);
            let middle = (d0 + d1) / 2.0;
            let h = self.step;
            let k1 = self.derivative(x, d0);
            let k2 = self.derivative(x + h / 2.0 * k1, middle);
            let k3 = self.derivative(x + h / 2.0 * k2, middle);
            let k4 = self.derivative(x + h * k3, d1);
            history.push(x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4));
        }
        let first = lag + transient * self.steps_per_sample;
        Ok(history[first..]
            .iter()
            .step_by(self.steps_per_sample)
            .skip(1)
            .copied()
            .take(samples)
            .collect())
    }
}

/// Adds Gaussian observation noise of standard deviation `relative` times each column's own
/// standard deviation to `rows` (`[samples][columns]`), from `seed`. `relative = 0` leaves the
/// rows unchanged.
pub fn add_observation_noise(rows: &mut [Vec<f64>], relative: f64, seed: u64) -> Result<()> {
    if !(relative >= 0.0 && relative.is_finite()) {
        return Err(invalid(
            "noise",
            "the noise level must be a finite number, zero or more",
        ));
    }
    if relative == 0.0 || rows.is_empty() {
        return Ok(());
    }
    let columns = rows[0].len();
    let count = rows.len() as f64;
    let deviations: Vec<f64> = (0..columns)
        .map(|c| {
            let mean = rows.iter().map(|r| r[c]).sum::<f64>() / count;
            (rows.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / count).sqrt()
        })
        .collect();
    let mut random = ChaCha8Rng::seed_from_u64(seed);
    for row in rows.iter_mut() {
        for (value, deviation) in row.iter_mut().zip(&deviations) {
            // Box–Muller: two uniforms, one standard normal.
            let (u, v): (f64, f64) = (1.0 - random.random::<f64>(), random.random());
            let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            *value += relative * deviation * normal;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lorenz_step_by_hand() {
        // From (1, 1, 1), h = 0.01: k1 = (0, 26, −5/3), and the rest written out.
        let lorenz = Lorenz::default();
        let d = |s: [f64; 3]| lorenz.derivative(s);
        assert_eq!(d([1.0, 1.0, 1.0]), [0.0, 26.0, 1.0 - 8.0 / 3.0]);
        let h = 0.01;
        let k1 = [0.0, 26.0, 1.0 - 8.0 / 3.0];
        let k2 = d([1.0, 1.0 + 0.005 * 26.0, 1.0 + 0.005 * k1[2]]);
        let k3 = d([
            1.0 + 0.005 * k2[0],
            1.0 + 0.005 * k2[1],
            1.0 + 0.005 * k2[2],
        ]);
        let k4 = d([1.0 + h * k3[0], 1.0 + h * k3[1], 1.0 + h * k3[2]]);
        let expected: [f64; 3] =
            std::array::from_fn(|i| 1.0 + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]));
        assert_eq!(lorenz.step_from([1.0, 1.0, 1.0]), expected);
        // A fixed point stays put: (±√(β(ρ−1)), ±√(β(ρ−1)), ρ − 1).
        let c = (8.0 / 3.0 * 27.0f64).sqrt();
        let fixed = lorenz.step_from([c, c, 27.0]);
        assert!(
            fixed
                .iter()
                .zip([c, c, 27.0])
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
    }

    #[test]
    fn lorenz_stays_on_its_attractor() {
        let path = Lorenz::default()
            .trajectory([1.0, 1.0, 1.0], 1000, 5000)
            .unwrap();
        assert_eq!(path.len(), 5000);
        assert!(
            path.iter()
                .all(|[x, y, z]| x.abs() < 30.0 && y.abs() < 40.0 && (0.0..60.0).contains(z))
        );
        // Both wings are visited.
        assert!(path.iter().any(|s| s[0] > 5.0) && path.iter().any(|s| s[0] < -5.0));
    }

    #[test]
    fn mackey_glass_by_hand_and_in_range() {
        // With a constant history x = 1.2 the first step's four slopes share the delayed value.
        let system = MackeyGlass {
            steps_per_sample: 1,
            ..MackeyGlass::default()
        };
        let slope = |x: f64| 0.2 * 1.2 / (1.0 + 1.2f64.powf(10.0)) - 0.1 * x;
        let k1 = slope(1.2);
        let k2 = slope(1.2 + 0.05 * k1);
        let k3 = slope(1.2 + 0.05 * k2);
        let k4 = slope(1.2 + 0.1 * k3);
        let first = system.trajectory(1.2, 0, 1).unwrap()[0];
        assert!((first - (1.2 + 0.1 / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4))).abs() < 1e-15);
        let series = MackeyGlass::default().trajectory(1.2, 500, 2000).unwrap();
        assert_eq!(series.len(), 2000);
        assert!(
            series.iter().all(|x| (0.2..1.5).contains(x)),
            "the attractor's range"
        );
        let bad = MackeyGlass {
            delay: 17.05,
            ..MackeyGlass::default()
        };
        assert!(bad.trajectory(1.2, 0, 10).is_err());
    }

    #[test]
    fn mackey_glass_converges_at_second_order() {
        // The delayed value at half steps is interpolated linearly (error O(h²)), so halving the
        // step shrinks the error about fivefold against a finer run here; a scheme that held the
        // delayed value for the whole step would be of first order (about threefold).
        let at = |step: f64| {
            let system = MackeyGlass {
                step,
                steps_per_sample: (1.0 / step).round() as usize,
                ..MackeyGlass::default()
            };
            *system.trajectory(0.5, 0, 60).unwrap().last().unwrap()
        };
        let finest = at(0.025);
        let ratio = (at(0.1) - finest).abs() / (at(0.05) - finest).abs();
        assert!(ratio > 4.0, "error ratio {ratio}");
    }

    #[test]
    fn noise_is_scaled_by_each_column_and_seeded() {
        let clean: Vec<Vec<f64>> = (0..20_000)
            .map(|i| vec![(i % 2) as f64, 10.0 * (i % 2) as f64])
            .collect();
        let mut noisy = clean.clone();
        add_observation_noise(&mut noisy, 0.1, 4).unwrap();
        for (c, deviation) in [(0, 0.5), (1, 5.0)] {
            let differences: Vec<f64> =
                noisy.iter().zip(&clean).map(|(n, r)| n[c] - r[c]).collect();
            let spread =
                (differences.iter().map(|d| d * d).sum::<f64>() / differences.len() as f64).sqrt();
            assert!(
                (spread / (0.1 * deviation) - 1.0).abs() < 0.03,
                "column {c}: {spread}"
            );
        }
        let mut again = clean.clone();
        add_observation_noise(&mut again, 0.1, 4).unwrap();
        assert_eq!(again, noisy);
        assert!(add_observation_noise(&mut again, -1.0, 4).is_err());
    }
}
