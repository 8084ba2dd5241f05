//! Every program's every flag, given what a careless or hostile user gives it: each numeric flag
//! 0, −1, 2⁶⁴−1, `nan`, `inf` and a huge value; each file flag a missing path, a directory, a
//! FIFO, `/dev/zero` and an empty file. Under a memory cap and a time cap, no run may panic
//! (exit 101), abort (134), be killed, or hang; a refusal is one `error:` line.
//!
//! The flags come from the programs' own command-line definitions, so a flag added later is
//! tried without touching this file.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::ValueHint;
use common::{Scratch, argv, corpus_text, path, program};

/// The address space each run may take: a program that allocates more than it estimated
/// aborts under it instead of taking the machine.
const MEMORY_CAP_BYTES: u64 = 6 << 30;

/// How long a run may take before it is sent SIGTERM, and how long it then has to stop.
const TIME_CAP: Duration = Duration::from_secs(30);
const STOP_CAP: Duration = Duration::from_secs(10);

/// The values every numeric flag is given.
const NUMBERS: [&str; 6] = [
    "0",
    "-1",
    "18446744073709551615",
    "nan",
    "inf",
    "1000000000000",
];

/// Flags that take text, not a number or a path.
const TEXT_FLAGS: [&str; 1] = ["prime"];

/// Flags that set how long a run works: a huge value is a run a user stops, so reaching the time
/// cap is not a hang when SIGTERM then stops it.
const WORK_FLAGS: [&str; 5] = ["iterations", "time_limit", "length", "seeds", "eval_every"];

/// The flags some flags mean something with (any other use is refused as meaningless): the
/// hostile value must reach the code that reads it.
const CONTEXT: [(&str, &str); 10] = [
    (
        "truth_probability",
        "--strategy scheduled-sampling --schedule constant",
    ),
    ("k", "--strategy scheduled-sampling --schedule linear"),
    ("c", "--strategy scheduled-sampling --schedule linear"),
    (
        "min_truth_probability",
        "--strategy scheduled-sampling --schedule linear",
    ),
    ("curriculum_max", "--strategy curriculum"),
    ("curriculum_start", "--strategy curriculum"),
    ("curriculum_ramp", "--strategy curriculum"),
    ("lr_every", "--lr-schedule step"),
    ("lr_factor", "--lr-schedule step"),
    ("lr_min", "--lr-schedule cosine"),
];

/// As [`CONTEXT`], for one program's command: (program, command, flag, the flags it needs).
const COMMAND_CONTEXT: [(&str, &str, &str, &str); 4] = [
    ("seq2seq", "translate", "temperature", "--sample"),
    ("seq2seq", "translate", "top_k", "--sample"),
    ("seq2seq", "translate", "top_p", "--sample"),
    ("seq2seq", "translate", "seed", "--sample"),
];

/// What one run is.
#[derive(Debug, Clone)]
struct Case {
    program: &'static str,
    args: Vec<String>,
    /// The flag tried (its clap id) and what it was given.
    flag: String,
    value: String,
}

/// How a run ended.
#[derive(Debug)]
enum Ending {
    Exited(Option<i32>, String),
    StoppedAtCap(Option<i32>, String),
    Hung,
}

/// The files every case reads: data for each program, and a trained run of each.
struct Fixtures {
    scratch: Scratch,
    text: PathBuf,
    tsv: PathBuf,
    csv: PathBuf,
    pairs: PathBuf,
    runs: [PathBuf; 4],
}

fn run_capped(case: &Case, dir: &Path, fifo: Option<&Path>) -> Ending {
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--as={MEMORY_CAP_BYTES}"))
        .arg("--")
        .arg(program(case.program))
        .args(&case.args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("prlimit runs the program");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // A FIFO's reader waits for a writer: one writes a line, whenever the program opens it.
    let writer = fifo.map(|fifo| {
        let fifo = fifo.to_path_buf();
        std::thread::spawn(move || {
            if let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(&fifo) {
                let _ = std::io::Write::write_all(&mut file, b"1,2\n");
            }
        })
    });
    let started = Instant::now();
    let mut signalled: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        match signalled {
            None if started.elapsed() > TIME_CAP => {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                signalled = Some(Instant::now());
            }
            Some(at) if at.elapsed() > STOP_CAP => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let (Some(writer), Some(fifo)) = (writer, fifo) {
        // A program that never opened the FIFO leaves its writer waiting: open it to release
        // the writer, as often as it takes the writer to reach its own open.
        while !writer.is_finished() {
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags_nonblocking()
                .open(fifo);
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = writer.join();
    }
    let stderr = reader.join().unwrap_or_default();
    match (status, signalled) {
        (None, _) => Ending::Hung,
        (Some(status), None) => Ending::Exited(exit_code(status), stderr),
        (Some(status), Some(_)) => Ending::StoppedAtCap(exit_code(status), stderr),
    }
}

/// The exit status, or 128 + the signal that ended the process, as a shell shows it.
fn exit_code(status: std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s))
}

/// Opening without waiting for a writer (`O_NONBLOCK`).
trait NonBlocking {
    fn custom_flags_nonblocking(&mut self) -> &mut Self;
}

impl NonBlocking for std::fs::OpenOptions {
    fn custom_flags_nonblocking(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK on Linux.
        self.custom_flags(0o4000)
    }
}

/// What is wrong with how a case ended, if anything.
fn judge(case: &Case, ending: &Ending) -> Option<String> {
    let (code, stderr, stopped) = match ending {
        Ending::Hung => return Some("did not stop within 10 s of SIGTERM".into()),
        Ending::Exited(code, stderr) => (*code, stderr, false),
        Ending::StoppedAtCap(code, stderr) => (*code, stderr, true),
    };
    let last_lines = || stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
    if stderr.contains("panicked") || stderr.contains("memory allocation") {
        return Some(format!(
            "panicked or aborted (exit {code:?}): {}",
            last_lines()
        ));
    }
    if stopped {
        if !WORK_FLAGS.contains(&case.flag.as_str()) {
            return Some(format!(
                "ran past {} s without a flag that asks for long work: {}",
                TIME_CAP.as_secs(),
                last_lines()
            ));
        }
        return match code {
            Some(0 | 143) => None,
            other => Some(format!("stopped by SIGTERM with exit {other:?}")),
        };
    }
    match code {
        Some(0) => None,
        Some(1 | 2) => {
            let errors = stderr.lines().filter(|l| l.starts_with("error")).count();
            (errors != 1).then(|| format!("{errors} error lines: {}", last_lines()))
        }
        other => Some(format!("exit {other:?}: {}", last_lines())),
    }
}

/// A quick run of each program and command, to which one flag is then given a hostile value.
fn baseline(fixtures: &Fixtures, program: &str, command: &str, dir: &Path) -> Vec<String> {
    let out = path(dir).to_string() + "/out";
    let [char_rnn, classify, forecast, seq2seq] = &fixtures.runs;
    let run = match program {
        "char-rnn" => char_rnn,
        "classify" => classify,
        "seq2seq" => seq2seq,
        _ => forecast,
    };
    let args = match (program, command) {
        ("char-rnn", "train") => format!(
            "--data {} --out {out} --iterations 2 --hidden 8 --window 8 --batch 2",
            path(&fixtures.text)
        ),
        ("char-rnn", "sample") => format!("--checkpoint {} --length 20", path(run)),
        ("char-rnn", "eval") => format!("--checkpoint {} --open-loop --generate 200", path(run)),
        ("classify", "train") => format!(
            "--data {} --out {out} --iterations 2 --hidden 8",
            path(&fixtures.tsv)
        ),
        ("classify", "eval") => {
            format!("--checkpoint {} --data {}", path(run), path(&fixtures.tsv))
        }
        ("classify", "predict") => format!("--checkpoint {}", path(run)),
        ("forecast", "train") => format!(
            "--length 300 --out {out} --iterations 2 --hidden 8 --window 10 --warmup 10 --horizon 10"
        ),
        ("forecast", "eval") => format!("--checkpoint {}", path(run)),
        ("forecast", "forecast") => format!(
            "--checkpoint {} --data {} --horizon 5",
            path(run),
            path(&fixtures.csv)
        ),
        ("forecast", "generate") => "--length 100".to_string(),
        ("forecast", "study") => format!("--quick --seeds 1 --iterations 2 --out {out}"),
        // The built-in task, so that its sizes are tried too (--data then replaces it).
        ("seq2seq", "train") => format!("--out {out} --iterations 2 --hidden 8"),
        ("seq2seq", "eval") => {
            format!(
                "--checkpoint {} --data {}",
                path(run),
                path(&fixtures.pairs)
            )
        }
        ("seq2seq", "translate") => format!("--checkpoint {}", path(run)),
        ("seq2seq", "generate") => "--pairs 20".to_string(),
        ("claims", "run") => format!("--quick --seeds 1 --out {out}"),
        ("seq2seq", "study") => {
            format!("--task sort --seeds 1 --iterations 2 --pairs 40 --out {out}")
        }
        (_, "export") => format!("--checkpoint {} --out {out}.safetensors", path(run)),
        other => panic!("no baseline for {other:?}: add one"),
    };
    args.split_whitespace().map(String::from).collect()
}

/// `args` with `--flag value`, replacing the baseline's value of that flag.
fn with_flag(mut args: Vec<String>, long: &str, value: &str) -> Vec<String> {
    let flag = format!("--{long}");
    match args.iter().position(|a| *a == flag) {
        Some(at) => args[at + 1] = value.to_string(),
        None => args.extend([flag, value.to_string()]),
    }
    args
}

/// What a file flag is given: its name in the report, and the path (made in `dir`).
fn hostile_paths(fixtures: &Fixtures, dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    let fifo = dir.join("fifo");
    if !fifo.exists() {
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo");
    }
    vec![
        ("a missing path", fixtures.scratch.0.join("missing/none")),
        ("a directory", fixtures.scratch.0.join("a-directory")),
        ("a FIFO", fifo),
        ("/dev/zero", PathBuf::from("/dev/zero")),
        ("an empty file", empty),
    ]
}

fn fixtures() -> Fixtures {
    let scratch = Scratch::new("hostile-flags");
    std::fs::create_dir_all(scratch.0.join("a-directory")).unwrap();
    let text = scratch.file("input.txt", corpus_text().as_bytes());
    let lines: String = (0..60)
        .map(|i| format!("{}\t{}\n", i % 2, if i % 2 == 0 { "xxy" } else { "yyx" }))
        .collect();
    let tsv = scratch.file("train.tsv", lines.as_bytes());
    let generated = Command::new(program("forecast"))
        .args(["generate", "--length", "300"])
        .output()
        .unwrap();
    let csv = scratch.file("series.csv", &generated.stdout);
    let pairs: String = (0..40)
        .map(|i| {
            let source = ["ab", "abc", "ba", "cab"][i % 4];
            format!("{source}\t{}\n", source.chars().rev().collect::<String>())
        })
        .collect();
    let pairs = scratch.file("pairs.tsv", pairs.as_bytes());
    let train = |name: &str, args: String| {
        let out = scratch.0.join(name);
        let mut all = vec!["train".to_string(), "--out".into(), path(&out).into()];
        all.extend(args.split_whitespace().map(String::from));
        let done = Command::new(program(name)).args(&all).output().unwrap();
        assert!(
            done.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        out
    };
    let runs = [
        train(
            "char-rnn",
            format!("--data {} --iterations 2 --hidden 8", path(&text)),
        ),
        train(
            "classify",
            format!("--data {} --iterations 2 --hidden 8", path(&tsv)),
        ),
        train(
            "forecast",
            "--length 300 --iterations 2 --hidden 8 --window 10 --warmup 10 --horizon 10".into(),
        ),
        train(
            "seq2seq",
            format!("--data {} --iterations 2 --hidden 8", path(&pairs)),
        ),
    ];
    Fixtures {
        scratch,
        text,
        tsv,
        csv,
        pairs,
        runs,
    }
}

/// Every case: each program's each command's each numeric and file flag, each hostile value.
fn cases(fixtures: &Fixtures) -> Vec<(Case, bool)> {
    let programs = unroll_cli::programs();
    let mut cases = Vec::new();
    let mut index = 0;
    for (program, command) in programs {
        for sub in command.get_subcommands() {
            let name = sub.get_name();
            for arg in sub.get_arguments() {
                let (Some(long), true) = (arg.get_long(), arg.get_action().takes_values()) else {
                    continue;
                };
                if !arg.get_possible_values().is_empty()
                    || TEXT_FLAGS.contains(&arg.get_id().as_str())
                {
                    continue;
                }
                let is_path = matches!(
                    arg.get_value_hint(),
                    ValueHint::FilePath | ValueHint::DirPath | ValueHint::AnyPath
                );
                let values: Vec<(String, bool)> = if is_path {
                    (0..5).map(|k| (k.to_string(), true)).collect()
                } else {
                    NUMBERS.iter().map(|v| (v.to_string(), false)).collect()
                };
                for (value, is_path) in values {
                    index += 1;
                    let dir = fixtures.scratch.0.join(format!("case-{index}"));
                    std::fs::create_dir_all(&dir).unwrap();
                    let (value, shown) = if is_path {
                        let k: usize = value.parse().unwrap();
                        let (what, hostile) = hostile_paths(fixtures, &dir).swap_remove(k);
                        (path(&hostile).to_string(), what.to_string())
                    } else {
                        (value.clone(), value)
                    };
                    let mut args = baseline(fixtures, program, name, &dir);
                    if let Some((_, context)) = CONTEXT.iter().find(|(id, _)| arg.get_id() == *id) {
                        args.extend(context.split_whitespace().map(String::from));
                    }
                    let this = |&&(p, c, id, _): &&(&str, &str, &str, &str)| {
                        (p, c) == (program, name) && arg.get_id() == id
                    };
                    if let Some((.., context)) = COMMAND_CONTEXT.iter().find(this) {
                        args.push((*context).to_string());
                    }
                    let args = with_flag(args, long, &value);
                    let mut all = vec![name.to_string()];
                    all.extend(args);
                    let case = Case {
                        program,
                        args: all,
                        flag: arg.get_id().to_string(),
                        value: shown,
                    };
                    cases.push((case, value.ends_with("/fifo")));
                }
            }
        }
    }
    cases
}

#[test]
fn every_flag_given_hostile_values_ends_in_one_error_line_or_a_result() {
    let fixtures = fixtures();
    let cases = cases(&fixtures);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((case, fifo)) = cases.get(i) else {
                        break;
                    };
                    let dir = fixtures.scratch.0.join(format!("case-{}", i + 1));
                    let fifo = fifo.then(|| dir.join("fifo"));
                    let ending = run_capped(case, &dir, fifo.as_deref());
                    if matches!(ending, Ending::StoppedAtCap(..)) {
                        eprintln!(
                            "stopped at the time cap: {} {}",
                            case.program,
                            case.args.join(" ")
                        );
                    }
                    if let Some(problem) = judge(case, &ending) {
                        failures.lock().unwrap().push(format!(
                            "{} {} --{} {}: {problem}\n    {}",
                            case.program,
                            case.args[0],
                            case.flag.replace('_', "-"),
                            case.value,
                            case.args.join(" ")
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "{} cases in {:.0} s, {} failed",
        cases.len(),
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        cases.len() > 300,
        "only {} cases: flags not found",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `ulimit -v` (here `prlimit --as`) bounds what a run may take as surely as the machine's
/// memory: a run estimated above it is refused up front, where it would abort at its first
/// large allocation.
#[test]
fn an_address_space_limit_bounds_the_estimate() {
    let scratch = Scratch::new("address-space");
    let out = scratch.0.join("run");
    let cap = 2u64 << 30;
    let output = Command::new("prlimit")
        .arg(format!("--as={cap}"))
        .arg("--")
        .arg(program("char-rnn"))
        .args(argv!(
            "train --out {} --batch 100000 --iterations 2",
            path(&out)
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    common::assert_clean_error(&stderr, "this run needs about", "train --batch 100000");
    // About 11 GiB, refused against what the cap leaves (under 2 GiB), not the machine's memory.
    assert!(
        stderr.contains(" GiB of memory, more than the "),
        "{stderr}"
    );
    assert!(stderr.contains("MiB available"), "{stderr}");
}
