//! The claims program as a user runs it: the quick run writes a report with each claim's
//! section and verdict and every seed's numbers; a claim the chapter does not have, and a second
//! run into the same place without --force, are one `error:` line each.

mod common;

use common::{Scratch, argv, path, program_fails_with, run_program, succeeded, text};

/// Every claim's section, and claim 7's parts on the other programs.
const SECTIONS: [&str; 10] = [
    "## 1. Sharing parameters over time generalises to unseen lengths",
    "## 2. Pattern 2 is less powerful than pattern 1",
    "## 3. Pattern 2 trains in parallel over time",
    "## 4. Pattern 3 summarises a sequence; its gradient can come from downstream",
    "## 5. The summary can recover the input, as an autoencoder",
    "## 6. Teacher forcing is maximum likelihood",
    "## 7. Teacher forcing leaves an exposure bias; own outputs narrow it",
    "### On real values: `forecast`",
    "### On text: `char-rnn`",
    "## 8. A network fed its own outputs learns to map its state back",
];

#[test]
fn the_quick_run_reports_each_measured_claim_with_its_verdict() {
    let scratch = Scratch::new("claims");
    let out = scratch.0.join("claims");
    let claims = argv!("run --quick --seeds 2 --out {}", path(&out));
    let done = succeeded(run_program("claims", &claims));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        text(&done.stdout).starts_with(&report),
        "the report is printed too"
    );
    assert!(
        report.contains("The quick run's budgets are far too small"),
        "the quick run says what its verdicts are worth: {report}"
    );
    assert!(report.contains("Verdict: **holds**."), "{report}");
    for section in SECTIONS {
        assert!(report.contains(section), "{section}: {report}");
    }
    assert!(
        report.contains("| 32 | "),
        "recall by length at hidden 32: {report}"
    );
    assert_eq!(
        &std::fs::read(out.join("recall.png")).unwrap()[..4],
        b"\x89PNG"
    );
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let runs: Vec<serde_json::Value> = (results.lines())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let of = |claim: u64| runs.iter().filter(move |run| run["claim"] == claim);
    assert_eq!(
        of(5).count(),
        2 * 2,
        "two hidden sizes, two seeds: {results}"
    );
    assert_eq!(of(6).count(), 2, "a line per seed: {results}");
    assert_eq!(
        of(2).count(),
        4 * 2,
        "two targets, two patterns, two seeds: {results}"
    );
    assert_eq!(
        of(4).count(),
        2 * 3 * 2,
        "two targets, three ways, two seeds: {results}"
    );
    assert_eq!(
        of(7).count(),
        (2 + 1 + 1) * 3 * 2,
        "seq2seq's two tasks, forecast and char-rnn, three strategies, two seeds: {results}"
    );
    the_new_claims_write_their_sections(&report, &runs, &out);
    for run in of(6) {
        let total = run["outcome"]["total_probability"].as_f64().unwrap();
        assert!((total - 1.0).abs() < 1e-4, "{run}");
    }
    program_fails_with("claims", &claims, "already holds a study", 1);
    let other = scratch.0.join("other");
    program_fails_with(
        "claims",
        &argv!("run --quick --only 9 --out {}", path(&other)),
        "9 is not in 1..=8",
        2,
    );
    assert!(!other.exists(), "nothing written for a refused run");
}

/// Claims 1, 3 and 8: sections, one record per run, figures.
fn the_new_claims_write_their_sections(
    report: &str,
    runs: &[serde_json::Value],
    out: &std::path::Path,
) {
    let results = serde_json::Value::Array(runs.to_vec());
    let of = |claim: u64| runs.iter().filter(move |run| run["claim"] == claim);
    assert_eq!(
        of(3).count(),
        2 * 2 * 3,
        "two patterns, two batches, three lengths: {results}"
    );
    for point in of(3) {
        let point = &point["point"];
        assert_eq!(
            point["every_core_ms"].as_array().unwrap().len(),
            2,
            "a round a seed"
        );
        assert!(
            point["added_mib"][0].as_f64().unwrap() > 0.0,
            "the counting allocator measures a step's memory: {point}"
        );
    }
    assert_eq!(
        of(8).count(),
        2 * 2 * 3 * 2,
        "two feedings, two tasks, three strategies, two seeds: {results}"
    );
    for picture in ["scaling.png", "recovery.png", "learning.png"] {
        assert_eq!(&std::fs::read(out.join(picture)).unwrap()[..4], b"\x89PNG");
    }
    assert_eq!(
        of(1).count(),
        (5 * 2 + 4 * 2) * 2,
        "five tasks with two shared cells, four with two untied ones, two seeds: {results}"
    );
    for run in of(1) {
        let tested = run["outcome"]["tested"].as_array().unwrap().len();
        let untied = run["network"].as_str().unwrap().ends_with("untied");
        assert_eq!(tested, if untied { 0 } else { 2 }, "{run}");
    }
    assert_eq!(
        &std::fs::read(out.join("generalisation.png")).unwrap()[..4],
        b"\x89PNG"
    );
    for claim in 1..=8 {
        assert!(
            report.contains(&format!("| {claim}. ")),
            "claim {claim} in the table of verdicts: {report}"
        );
    }
}
