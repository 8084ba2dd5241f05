//! A language model in open loop, fed its own output: how often the answers it generates are
//! exactly right (lines `a+b=c`, answered greedily after the true prompt `a+b=`), and how far
//! the character statistics of the text it generates are from the real text's (Jensen–Shannon
//! divergence of 1- to 4-grams).

use std::collections::HashMap;
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use unroll_model::RecurrenceBackend;

use crate::corpus::Vocabulary;
use crate::error::Result;
use crate::language::generation::{GenerationRequest, SamplingOptions, generate};
use crate::network::Network;

/// The Jensen–Shannon divergence, in bits (0 for equal distributions, 1 for disjoint ones),
/// between the character `n`-gram frequencies of two texts. `None` when either text has no
/// `n`-gram.
pub fn ngram_divergence(generated: &str, reference: &str, n: usize) -> Option<f64> {
    let count = |text: &str| {
        let chars: Vec<char> = text.chars().collect();
        let mut counts: HashMap<&[char], f64> = HashMap::new();
        let total = chars.len().checked_sub(n.max(1) - 1)?;
        if total == 0 || n == 0 {
            return None;
        }
        for gram in chars.windows(n) {
            *counts.entry(gram).or_default() += 1.0;
        }
        Some(
            counts
                .into_iter()
                .map(|(gram, c)| (gram.iter().collect::<String>(), c / total as f64))
                .collect::<HashMap<String, f64>>(),
        )
    };
    let (p, q) = (count(generated)?, count(reference)?);
    let term = |a: f64, m: f64| if a > 0.0 { a * (a / m).log2() } else { 0.0 };
    let mut divergence = 0.0;
    for (gram, &a) in &p {
        let b = q.get(gram).copied().unwrap_or(0.0);
        divergence += term(a, (a + b) / 2.0) / 2.0;
    }
    for (gram, &b) in &q {
        let a = p.get(gram).copied().unwrap_or(0.0);
        divergence += term(b, (a + b) / 2.0) / 2.0;
    }
    Some(divergence.max(0.0))
}

/// A line `a+b=c` of non-negative integers, split into its prompt `a+b=` and the answer `c`.
pub fn addition_line(line: &str) -> Option<(&str, &str)> {
    let (prompt, answer) = line.split_once('=')?;
    let (a, b) = prompt.split_once('+')?;
    let number = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (number(a) && number(b) && number(answer)).then(|| (&line[..prompt.len() + 1], answer))
}

/// What [`additions_answered`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdditionScores {
    /// The fraction of prompts answered exactly (the generated answer then a newline).
    pub exact: f64,
    /// The prompts asked.
    pub prompts: usize,
}

/// Asks the model every line `a+b=c` of `text` (at most `limit` of them): it reads the line
/// before (its context in the stream) and the prompt `a+b=`, then answers greedily; an answer
/// is right when it is `c` followed by a newline. `None` when `text` has no such line.
pub fn additions_answered<B: RecurrenceBackend>(
    model: &Network<B>,
    vocabulary: &Vocabulary,
    text: &str,
    limit: usize,
    device: &B::Device,
) -> Result<Option<AdditionScores>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut asked = 0;
    let mut right = 0;
    for (k, line) in lines.iter().enumerate().skip(1) {
        if asked == limit {
            break;
        }
        let Some((prompt, answer)) = addition_line(line) else {
            continue;
        };
        let prime = format!("{}\n{prompt}", lines[k - 1]);
        if vocabulary.encode(&prime).is_err() {
            continue;
        }
        let request = GenerationRequest {
            prime: &prime,
            length: answer.len() + 1,
            options: SamplingOptions {
                argmax: true,
                ..SamplingOptions::default()
            },
            seed: 0,
        };
        let generated = generate(model, vocabulary, &request, device, |_| {
            ControlFlow::Continue(())
        })?;
        asked += 1;
        if generated.strip_suffix('\n') == Some(answer) {
            right += 1;
        }
    }
    Ok((asked > 0).then(|| AdditionScores {
        exact: right as f64 / asked as f64,
        prompts: asked,
    }))
}

/// The Jensen–Shannon divergence of `n`-grams, `n` = 1 … 4, between `length` characters the
/// model generates (sampled at temperature 1 after a newline, seeded) and `reference`.
pub fn generated_divergences<B: RecurrenceBackend>(
    model: &Network<B>,
    vocabulary: &Vocabulary,
    reference: &str,
    length: usize,
    seed: u64,
    device: &B::Device,
) -> Result<[Option<f64>; 4]> {
    let request = GenerationRequest {
        prime: "",
        length,
        options: SamplingOptions::default(),
        seed,
    };
    let generated = generate(model, vocabulary, &request, device, |_| {
        ControlFlow::Continue(())
    })?;
    Ok(std::array::from_fn(|k| {
        ngram_divergence(&generated, reference, k + 1)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divergences_by_hand() {
        assert_eq!(ngram_divergence("abab", "abab", 1), Some(0.0));
        // Disjoint alphabets: one bit.
        assert_eq!(ngram_divergence("aaaa", "bbbb", 1), Some(1.0));
        // P = (1, 0), Q = (½, ½): M = (¾, ¼);
        // JS = ½·log2(4/3) + ½·(½·log2(2/3) + ½·log2(2)).
        let expected =
            0.5 * (4.0f64 / 3.0).log2() + 0.5 * (0.5 * (2.0f64 / 3.0).log2() + 0.5 * 2.0f64.log2());
        let js = ngram_divergence("aa", "ab", 1).unwrap();
        assert!((js - expected).abs() < 1e-12, "{js} against {expected}");
        // Bigrams: "ab" and "ba" in equal parts against "ab" alone.
        let js = ngram_divergence("aba", "ab", 2).unwrap();
        assert!((js - expected).abs() < 1e-12);
        assert_eq!(ngram_divergence("a", "ab", 2), None);
    }

    #[test]
    fn addition_lines() {
        assert_eq!(addition_line("37+85=122"), Some(("37+85=", "122")));
        assert_eq!(addition_line("3+x=4"), None);
        assert_eq!(addition_line("First Citizen:"), None);
        assert_eq!(addition_line("1+2="), None);
    }
}
