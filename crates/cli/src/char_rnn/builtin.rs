//! The built-in corpus: lines of additions such as `37+85=122`, generated from a fixed seed, so
//! nothing is downloaded and the best achievable loss is known exactly.

/// Lines in the corpus.
const LINES: usize = 15_000;

/// A small deterministic generator, so the corpus is the same everywhere.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// The corpus text: `LINES` lines `a+b=c`, `a` and `b` uniform in 0..=99.
pub fn corpus() -> String {
    let mut rng = Lcg(2024);
    let mut text = String::with_capacity(LINES * 10);
    for _ in 0..LINES {
        let (a, b) = (rng.below(100), rng.below(100));
        text.push_str(&format!("{a}+{b}={}\n", a + b));
    }
    text
}

fn digits(n: u64) -> f64 {
    n.to_string().len() as f64
}

/// The corpus's true entropy in nats per character: each line is fixed by its two operands, so
/// it carries ln(100²) nats, spread over the expected line length (lines are independent).
pub fn entropy_per_symbol() -> f64 {
    let mut expected_length = 3.0; // '+', '=', '\n'
    for a in 0..100u64 {
        for b in 0..100u64 {
            expected_length += (digits(a) + digits(b) + digits(a + b)) / 10_000.0;
        }
    }
    (10_000f64).ln() / expected_length
}
