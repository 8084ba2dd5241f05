//! The batches a seq2seq run draws, for a PyTorch run on the same ones
//! (`scripts/compare_seq2seq.py --same-start`):
//!
//! ```text
//! cargo run --release -p unroll-training --example seq2seq_batches -- TRAIN.tsv SEED ITERATIONS BATCH
//! ```
//!
//! Prints one JSON object: each vocabulary's characters in id order (the unknown symbol, `end`
//! and `start` after them), and every iteration's batch as indices of the file's pairs, as
//! `seq2seq train --data TRAIN.tsv --seed SEED --batch BATCH` draws them (`--val` given, so
//! that every pair of the file trains; the default `--min-symbol-count`).

use std::path::Path;

use unroll_training::Vocabulary;
use unroll_training::seq2seq::task::training_batches;
use unroll_training::seq2seq::{PairEncoding, Seq2SeqConfig, read_pairs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [train, seed, iterations, batch] = args.as_slice() else {
        eprintln!("usage: seq2seq_batches TRAIN.tsv SEED ITERATIONS BATCH");
        std::process::exit(2);
    };
    let number = |text: &str| -> u64 { text.parse().expect("a whole number") };
    let path = Path::new(train);
    let pairs = read_pairs(path, &std::fs::read(path)?)?;
    let config = Seq2SeqConfig {
        batch: number(batch) as usize,
        seed: number(seed),
        ..Seq2SeqConfig::default()
    };
    let encoding = PairEncoding::fit(&pairs, config.min_symbol_count);
    let mut batches = training_batches(&encoding.encode(&pairs)?, &config);
    let batches: Vec<Vec<usize>> = (0..number(iterations)).map(|i| batches.batch(i)).collect();
    let characters = |vocabulary: &Vocabulary| -> Vec<String> {
        let known = vocabulary.len() - usize::from(vocabulary.unknown_id().is_some());
        (0..known as u32)
            .map(|id| vocabulary.decode(&[id]))
            .collect()
    };
    let out = serde_json::json!({
        "source_symbols": characters(&encoding.source),
        "target_symbols": characters(&encoding.target),
        "batches": batches,
    });
    println!("{out}");
    Ok(())
}
