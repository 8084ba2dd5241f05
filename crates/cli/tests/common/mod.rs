//! Running the programs as a user does, in scratch directories.

// Each test file uses its own part of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The char-rnn binary.
pub fn binary() -> PathBuf {
    program("char-rnn")
}

/// One of this crate's programs, which Cargo builds before the tests that run it.
pub fn program(name: &str) -> PathBuf {
    PathBuf::from(match name {
        "char-rnn" => env!("CARGO_BIN_EXE_char-rnn"),
        "classify" => env!("CARGO_BIN_EXE_classify"),
        "forecast" => env!("CARGO_BIN_EXE_forecast"),
        "seq2seq" => env!("CARGO_BIN_EXE_seq2seq"),
        "claims" => env!("CARGO_BIN_EXE_claims"),
        other => panic!("no program named {other}"),
    })
}

/// A command line as a user types it: `format!`'s arguments filled in, then split at whitespace
/// as a shell splits one without quotes (scratch paths hold none: [`Scratch::new`] checks).
macro_rules! argv {
    ($($format:tt)*) => {
        format!($($format)*)
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<String>>()
    };
}
pub(crate) use argv;

/// A command-line argument: what [`argv!`] makes, or a `&str`.
pub trait Arg: AsRef<str> + std::fmt::Debug {}

impl<T: AsRef<str> + std::fmt::Debug> Arg for T {}

#[allow(unused_imports)]
pub use unroll_test_support::{Scratch, assert_files};

/// A scratch directory holding the test corpus as `input.txt`, and that file's path.
pub fn with_corpus(name: &str) -> (Scratch, PathBuf) {
    let scratch = Scratch::new(name);
    let data = scratch.file("input.txt", corpus_text().as_bytes());
    (scratch, data)
}

pub fn run(args: &[impl Arg]) -> Output {
    run_program("char-rnn", args)
}

/// `char-rnn` started with `args`: its stdout goes to `stdout`, its stderr to a pipe.
pub fn spawn(args: &[impl Arg], stdout: Stdio) -> Child {
    Command::new(binary())
        .args(args.iter().map(|arg| arg.as_ref()))
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `char-rnn` run with `args`, asserted to succeed (else the command line and its stderr are
/// shown).
pub fn run_ok(args: &[impl Arg]) -> Output {
    let line: Vec<&str> = args.iter().map(|arg| arg.as_ref()).collect();
    succeeded_as(run(args), &format!("char-rnn {}", line.join(" ")))
}

/// Runs program `name` with `args`.
pub fn run_program(name: &str, args: &[impl Arg]) -> Output {
    Command::new(program(name))
        .args(args.iter().map(|arg| arg.as_ref()))
        .output()
        .unwrap()
}

/// Runs program `name` with `args`, `input` written to its stdin, which is then closed.
pub fn run_program_with_stdin(name: &str, args: &[impl Arg], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(program(name))
        .args(args.iter().map(|arg| arg.as_ref()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A program that exits before reading its input (a refused checkpoint) closes the pipe.
    let written = child.stdin.take().unwrap().write_all(input);
    if let Err(error) = written {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    child.wait_with_output().unwrap()
}

/// A JSON file of run `run`'s `last` checkpoint (`config.json`, `progress.json`).
pub fn last_json(run: &Path, file: &str) -> serde_json::Value {
    let bytes = std::fs::read(run.join("last").join(file)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn text(output: &[u8]) -> String {
    String::from_utf8_lossy(output).into_owned()
}

/// Asserts a clean failure: exit status 1, one `error:` line about `expected`, no panic.
pub fn assert_fails(args: &[impl Arg], expected: &str) {
    assert_fails_with(args, expected, 1);
}

/// Asserts a clean failure with exit status `code`: one `error:` line (whatever else stderr
/// says) about `expected`, no panic or backtrace. Returns stderr.
pub fn assert_fails_with(args: &[impl Arg], expected: &str, code: i32) -> String {
    program_fails_with("char-rnn", args, expected, code)
}

/// A clean failure of program `name` (status 1, as [`program_fails_with`]) that leaves `file`,
/// a user's, as it was. Returns stderr.
pub fn fails_leaving(name: &str, file: &Path, args: &[impl Arg], expected: &str) -> String {
    let before = std::fs::read(file).unwrap();
    let stderr = program_fails_with(name, args, expected, 1);
    let after = std::fs::read(file).unwrap();
    assert!(after == before, "{args:?} changed {}", file.display());
    stderr
}

/// As [`assert_fails_with`], for program `name`.
pub fn program_fails_with(name: &str, args: &[impl Arg], expected: &str, code: i32) -> String {
    let output = run_program(name, args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert_clean_error(&stderr, expected, args);
    stderr
}

/// One `error:` line, about `expected`, and no panic.
pub fn assert_clean_error(stderr: &str, expected: &str, context: impl std::fmt::Debug) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{context:?}: {stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{context:?}: one error line: {stderr}");
    assert!(
        errors[0].to_lowercase().contains(&expected.to_lowercase()),
        "{context:?}: expected an error about {expected:?}, got: {stderr}"
    );
}

pub fn corpus_text() -> String {
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
        .repeat(40)
}

/// A path as [`argv!`] takes it: it splits command lines at whitespace, so a path holding any
/// (a scratch directory under such a `TMPDIR`) is refused here.
pub fn path(p: &Path) -> &str {
    let text = p.to_str().unwrap();
    assert!(
        !text.contains(char::is_whitespace),
        "{text}: argv! splits command lines at whitespace; set TMPDIR to a path without any"
    );
    text
}

/// A tiny model trained in well under a second.
pub const TINY: &str = "--hidden 16 --seq-len 16 --batch 4 --eval-every 10 --seed 3";

/// `output`, once it is asserted to come from a successful run (else its stderr is shown).
pub fn succeeded(output: Output) -> Output {
    succeeded_as(output, "the command")
}

/// A program's `--json` output.
pub fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `output` of the command `what`, once it is asserted to come from a successful run (else
/// `what` and its stderr are shown).
fn succeeded_as(output: Output, what: &str) -> Output {
    assert!(output.status.success(), "{what}: {}", text(&output.stderr));
    output
}

/// The JSON header of the safetensors file at `path`: every tensor's dtype and shape by name,
/// and `__metadata__`.
pub fn safetensors_header(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + length]).unwrap()
}

/// `program export --checkpoint RUN --out FILE`, succeeded, and the file's safetensors header.
pub fn exported_header(program: &str, run: &Path, file: &Path) -> serde_json::Value {
    succeeded(run_program(
        program,
        &argv!("export --checkpoint {} --out {}", path(run), path(file)),
    ));
    safetensors_header(file)
}
