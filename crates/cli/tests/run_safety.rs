//! Runs that cannot be lost, tried as a hostile but realistic user would: the run directory is
//! never replaced silently, has one writer, survives signals and closed pipes, its checkpoints
//! are verified on load, and no input makes the program panic.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use unroll::training::metrics::read_run_metrics;

use common::{
    Arg, TINY, argv, assert_fails, assert_fails_with, binary, corpus_text, fails_leaving, path,
    run, run_ok, spawn, succeeded, text, with_corpus,
};

/// `train --data DATA --out OUT --steps STEPS`, the tiny model and `extra`.
fn train(data: &Path, out: &Path, steps: &str, extra: &str) -> std::process::Output {
    run(&train_args(
        data,
        out,
        &format!("--steps {steps} {TINY} {extra}"),
    ))
}

/// `train --data DATA --out OUT` and `extra`.
fn train_args(data: &Path, out: &Path, extra: &str) -> Vec<String> {
    argv!("train --data {} --out {} {extra}", path(data), path(out))
}

fn ok(output: std::process::Output) -> String {
    text(&succeeded(output).stdout)
}

fn last_iteration(run_dir: &Path) -> u64 {
    let progress: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("last/progress.json")).unwrap())
            .unwrap();
    progress["iteration"].as_u64().unwrap()
}

fn metric_iterations(run_dir: &Path) -> Vec<u64> {
    let metrics = read_run_metrics::<serde_json::Value>(run_dir).unwrap();
    metrics.iter().map(|m| m.iteration).collect()
}

/// A training run started in the background, killed and reaped when dropped: a test that fails
/// before the run ends must not leave it training (and taking a core) for good.
struct LongRun {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Drop for LongRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a long training run (`train` with `args`) and returns once it reports its first
/// iteration.
fn start_long_run(args: &[impl Arg]) -> LongRun {
    let mut line = vec!["train"];
    line.extend(args.iter().map(|arg| arg.as_ref()));
    line.extend(["--steps", "1000000"]);
    let mut child = spawn(&line, Stdio::null());
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut run = LongRun { child, stderr };
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            run.stderr.read_line(&mut line).unwrap() > 0,
            "the run ended before training"
        );
        if line.starts_with("iteration ") {
            return run;
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the run with a deadline, returning its exit code and the rest of its stderr.
fn finish(mut run: LongRun) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = run.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() <= deadline, "the run did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    run.stderr.read_to_string(&mut rest).unwrap();
    (status.code(), rest)
}

#[test]
fn an_existing_run_is_never_replaced_silently() {
    let (scratch, data) = with_corpus("replace");
    let out = scratch.0.join("r");
    ok(train(&data, &out, "20", ""));
    let weights = std::fs::read(out.join("last/model.bpk")).unwrap();
    // Case 1: another run into the same directory.
    let mut args = argv!(
        "train --data {} --hidden 8 --steps 5 --out {}",
        path(&data),
        path(&out)
    );
    let stderr = assert_fails_with(&args, "already holds a run", 1);
    assert!(
        stderr.contains("--resume") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(out.join("last/model.bpk")).unwrap(), weights);
    // --force starts over.
    args.push("--force".into());
    ok(run(&args));
    assert_eq!(last_iteration(&out), 5);
    assert_eq!(metric_iterations(&out), [1, 2, 3, 4, 5]);

    // Without --out, a second run goes to a directory of its own.
    for expected in ["runs/char-rnn/last", "runs/char-rnn-2/last"] {
        let output = Command::new(binary())
            .args(["train", "--steps", "2", "--hidden", "8", "--json"])
            .current_dir(&scratch.0)
            .output()
            .unwrap();
        let result: serde_json::Value = serde_json::from_str(&ok(output)).unwrap();
        assert!(
            result["checkpoint"].as_str().unwrap().ends_with(expected),
            "{result}"
        );
    }
}

#[test]
fn resuming_from_best_never_rewinds_last() {
    let (scratch, data) = with_corpus("best");
    let out = scratch.0.join("r");
    // lr 0 after the first validations would keep `best` early; any best ≤ last will do.
    ok(train(&data, &out, "30", ""));
    let best = out.join("best");
    // Make `last` strictly ahead of `best` for the test's sake.
    ok(run(&argv!("train --resume {} --steps 40", path(&out))));
    let before = std::fs::read(out.join("last/model.bpk")).unwrap();
    let best_iteration = {
        let p: serde_json::Value =
            serde_json::from_slice(&std::fs::read(best.join("progress.json")).unwrap()).unwrap();
        p["iteration"].as_u64().unwrap()
    };
    // Case 2: resuming from best/ in its own run directory is refused.
    assert_fails(
        &argv!("train --resume {} --steps 100", path(&best)),
        "would rewind",
    );
    assert_eq!(std::fs::read(out.join("last/model.bpk")).unwrap(), before);
    assert_eq!(last_iteration(&out), 40);
    // In a new directory it continues, with the history up to best.
    let branch = scratch.0.join("branch");
    let output = run(&argv!(
        "train --resume {} --out {} --steps 45 --json",
        path(&best),
        path(&branch)
    ));
    let result: serde_json::Value = serde_json::from_str(&ok(output)).unwrap();
    assert_eq!(result["first_iteration"], best_iteration);
    let expected: Vec<u64> = (1..=45).collect();
    assert_eq!(metric_iterations(&branch), expected);
    assert_eq!(last_iteration(&out), 40, "the original run is untouched");
}

#[test]
fn one_writer_per_run_directory() {
    let (scratch, data) = with_corpus("lock");
    let out = scratch.0.join("r");
    ok(train(&data, &out, "10", ""));
    // Resumed, it keeps the run's settings: a checkpoint every 10 iterations.
    let long_run = start_long_run(&["--resume", path(&out)]);
    // Case 3: a second writer gets a clear error naming the holder.
    let pid = long_run.child.id().to_string();
    let message = assert_fails_with(
        &train_args(&data, &out, "--force"),
        "in use by another training process",
        1,
    );
    assert!(message.contains(&pid), "{message}");
    let message = assert_fails_with(
        &argv!("train --resume {} --steps 5", path(&out)),
        "in use",
        1,
    );
    assert!(message.contains(&pid), "{message}");
    // Readers are not blocked: sampling reads the last complete checkpoint, if one exists yet.
    signal(&long_run.child, "INT");
    let (code, _) = finish(long_run);
    assert_eq!(code, Some(130));
    ok(run(&argv!("sample --checkpoint {} --length 5", path(&out))));
}

#[test]
fn the_first_signal_saves_the_run_and_a_second_ends_it_at_once() {
    let (scratch, data) = with_corpus("signals");
    // Case 4: SIGINT, SIGTERM and SIGHUP each stop after the iteration under way, write last/,
    // metrics and the plot, say where, and exit with 128 + the signal.
    for (name, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let out = scratch.0.join(name);
        let long_run = start_long_run(&argv!(
            "--data {} --out {} --hidden 16 --seq-len 16 --batch 4 --eval-every 1000000",
            path(&data),
            path(&out)
        ));
        signal(&long_run.child, name);
        let (status, rest) = finish(long_run);
        assert_eq!(status, Some(code), "{name}: {rest}");
        assert!(rest.contains(&format!("SIG{name} received")), "{rest}");
        assert!(rest.contains("--resume"), "{rest}");
        let iteration = last_iteration(&out);
        assert!(iteration >= 1);
        assert_eq!(*metric_iterations(&out).last().unwrap(), iteration);
        assert!(out.join("loss.png").is_file());
        // The interrupted run continues.
        ok(run(&[
            "train",
            "--resume",
            path(&out),
            "--steps",
            &(iteration + 2).to_string(),
        ]));
    }
    // A second signal while the first is being handled ends the process at once. Iterations
    // are made slow so the second arrives while the first is pending; two different signals,
    // since two of one kind may merge into one.
    let out = scratch.0.join("twice");
    let long_run = start_long_run(&argv!(
        "--data {} --out {} --hidden 512 --batch 64 --seq-len 200",
        path(&data),
        path(&out)
    ));
    signal(&long_run.child, "TERM");
    signal(&long_run.child, "INT");
    let (status, rest) = finish(long_run);
    assert_eq!(status, Some(130), "{rest}");
    assert!(!rest.contains("received"), "{rest}");
}

/// Until the first iteration is logged there is nothing to save: the first signal ends the run
/// at once (here during the first iteration of a 1,000-layer stack, which takes seconds), and
/// the directory it leaves holds no run, so the same command starts again without --force.
#[test]
fn a_signal_before_anything_is_logged_ends_the_run_at_once() {
    let (scratch, data) = with_corpus("early-signal");
    let out = scratch.0.join("r");
    let slow = argv!(
        "train --data {} --out {} --hidden 8 --layers 1000 --steps 5",
        path(&data),
        path(&out)
    );
    let mut child = spawn(&slow, Stdio::null());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("corpus:") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no set-up line");
    }
    // The handlers are installed just after that line.
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    signal(&child, "TERM");
    let run = LongRun { child, stderr };
    let (status, rest) = finish(run);
    assert_eq!(status, Some(143), "{rest}");
    assert!(signalled.elapsed() < Duration::from_secs(20), "{rest}");
    assert!(!out.join("last").exists());
    ok(train(&data, &out, "2", ""));
}

#[test]
fn closed_pipes_are_not_a_panic() {
    let (scratch, data) = with_corpus("pipes");
    let out = scratch.0.join("r");
    // Case 5: stderr's reader goes away after one line; training still finishes its run.
    let args = train_args(&data, &out, &format!("--steps 30 {TINY}"));
    let mut child = spawn(&args, Stdio::null());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    drop(stderr);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(last_iteration(&out), 30);

    // stdout's reader goes away after 20 bytes, streaming and in JSON.
    for json in [false, true] {
        let json = if json { "--json" } else { "" };
        let args = argv!("sample --checkpoint {} --length 20000 {json}", path(&out));
        let mut child = spawn(&args, Stdio::piped());
        let mut stdout = child.stdout.take().unwrap();
        let mut head = [0u8; 20];
        stdout.read_exact(&mut head).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(output.status.success(), "{stderr}");
    }
}

#[test]
fn resuming_accepts_the_same_settings_and_the_recorded_data() {
    let (scratch, data) = with_corpus("resume");
    let out = scratch.0.join("r");
    ok(train(&data, &out, "20", ""));
    // Case 7: the original command plus --resume works.
    let stdout = ok(run(&argv!(
        "train --data {} --resume {} --steps 25 {TINY} --layers 1 --dropout 0 --pattern hidden \
         --optimizer adam",
        path(&data),
        path(&out)
    )));
    // Case 10: the summary counts this invocation's iterations only.
    assert!(
        stdout.contains("iterations 21–25 (5 in this run)"),
        "{stdout}"
    );
    // A real change is refused, naming both values.
    for (flag, value, old) in [
        ("--hidden", "32", "16"),
        ("--layers", "2", "1"),
        ("--pattern", "output", "hidden"),
        ("--optimizer", "sgd", "adam"),
        ("--optimizer", "rmsprop", "adam"),
    ] {
        let stderr = assert_fails_with(
            &argv!("train --resume {} --steps 40 {flag} {value}", path(&out)),
            flag,
            1,
        );
        assert!(stderr.contains(old) && stderr.contains(value), "{stderr}");
    }
    assert_fails(
        &argv!("train --resume {} --steps 40 --bytes", path(&out)),
        "--bytes",
    );
    // Case 8: without --data the recorded file is used; a change to it is reported.
    let stderr = text(&run_ok(&argv!("train --resume {} --steps 30", path(&out))).stderr);
    assert!(stderr.contains("recorded in the run"), "{stderr}");
    assert!(!stderr.contains("changed"), "{stderr}");
    let mut changed = corpus_text();
    changed.push_str("Speak, speak.\n");
    std::fs::write(&data, changed).unwrap();
    let stderr = text(&run_ok(&argv!("train --resume {} --steps 32", path(&out))).stderr);
    assert!(stderr.contains("changed since"), "{stderr}");
    std::fs::remove_file(&data).unwrap();
    assert_fails(&argv!("train --resume {} --steps 34", path(&out)), "--data");
}

#[test]
fn damaged_checkpoints_are_refused() {
    let (scratch, data) = with_corpus("damaged");
    let out = scratch.0.join("r");
    ok(train(&data, &out, "20", ""));
    let pristine = scratch.0.join("pristine");
    copy_dir(&out.join("last"), &pristine);
    let restore = || {
        std::fs::remove_dir_all(out.join("last")).unwrap();
        copy_dir(&pristine, &out.join("last"));
    };
    // Case 11: three flipped bytes in the weights; case 9: a truncated optimiser state;
    // case 12: two vocabulary entries swapped.
    let weights = out.join("last/model.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let n = bytes.len();
    for at in [n - 100, n - 60, n - 20] {
        bytes[at] ^= 0x40;
    }
    std::fs::write(&weights, bytes).unwrap();
    for command in [
        argv!("sample --checkpoint {}", path(&out)),
        argv!("eval --checkpoint {} --data {}", path(&out), path(&data)),
        argv!(
            "export --checkpoint {} --out {}",
            path(&out),
            path(&scratch.0.join("x.st"))
        ),
        argv!("train --resume {} --steps 40", path(&out)),
    ] {
        assert_fails(&command, "model.bpk: damaged");
    }
    restore();
    let optimizer = out.join("last/optimizer.bin");
    let bytes = std::fs::read(&optimizer).unwrap();
    std::fs::write(&optimizer, &bytes[..bytes.len() / 2]).unwrap();
    assert_fails(
        &argv!("train --resume {} --steps 40", path(&out)),
        "optimizer.bin: damaged",
    );
    restore();
    let vocabulary = out.join("last/vocabulary.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&vocabulary).unwrap()).unwrap();
    value["symbols"].as_array_mut().unwrap().swap(3, 4);
    std::fs::write(&vocabulary, value.to_string()).unwrap();
    assert_fails(
        &argv!("sample --checkpoint {}", path(&out)),
        "vocabulary.json: damaged",
    );
    restore();
    ok(run(&argv!("sample --checkpoint {} --length 5", path(&out))));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn absurd_sizes_and_endless_inputs_are_refused() {
    let (scratch, data) = with_corpus("sizes");
    let out = scratch.0.join("r");
    let huge = "18446744073709551615";
    // Case 13: sizes that overflow or cannot fit.
    for (flag, value) in [
        ("--hidden", huge),
        ("--seq-len", huge),
        ("--batch", huge),
        ("--hidden", "100000"),
        ("--batch", "100000000"),
    ] {
        assert_fails(
            &train_args(&data, &out, &format!("{flag} {value}")),
            "memory",
        );
    }
    assert!(!out.join("last").exists());
    ok(train(&data, &out, "2", ""));
    assert_fails(
        &argv!("sample --checkpoint {} --length {huge}", path(&out)),
        "memory",
    );
    // Case 14: an endless stream.
    #[cfg(unix)]
    assert_fails(
        &[
            "train",
            "--data",
            "/dev/zero",
            "--out",
            path(&scratch.0.join("z")),
        ],
        "larger than",
    );
}

#[test]
fn export_follows_links_and_refuses_special_files() {
    let (scratch, data) = with_corpus("export");
    let out = scratch.0.join("r");
    ok(train(&data, &out, "2", ""));
    // Case 15: a link is followed (the file it points to is written, the link stays).
    #[cfg(unix)]
    {
        let target = scratch.0.join("real.st");
        let link = scratch.0.join("link.st");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        ok(run(&argv!(
            "export --checkpoint {} --out {}",
            path(&out),
            path(&link)
        )));
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(std::fs::metadata(&target).unwrap().len() > 1000);
        let fifo = scratch.0.join("fifo");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        assert_fails(
            &argv!("export --checkpoint {} --out {}", path(&out), path(&fifo)),
            "not a regular file",
        );
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }
    let directory = scratch.0.join("dir");
    std::fs::create_dir(&directory).unwrap();
    assert_fails(
        &argv!(
            "export --checkpoint {} --out {}",
            path(&out),
            path(&directory)
        ),
        "not a regular file",
    );
}

#[cfg(unix)]
use std::os::unix::fs::FileTypeExt;

#[test]
fn export_never_replaces_a_file_or_writes_into_the_run() {
    let (scratch, data) = with_corpus("export-owned");
    let out = scratch.0.join("r");
    ok(train(&data, &out, "2", ""));
    // A file of the user's (here, the training data) is not replaced without --force.
    let export = |to: &Path, extra: &str| {
        argv!(
            "export --checkpoint {} --out {} {extra}",
            path(&out),
            path(to)
        )
    };
    let stderr = fails_leaving(
        "char-rnn",
        &data,
        &export(&data, ""),
        "the file exists; pass --force",
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let mine = scratch.0.join("mine.st");
    std::fs::write(&mine, b"mine").unwrap();
    ok(run(&export(&mine, "--force")));
    assert!(std::fs::metadata(&mine).unwrap().len() > 1000);
    // The run's own files are never an output, --force or not, from the run or a checkpoint.
    let weights = out.join("last").join("model.bpk");
    let checkpoint = std::fs::read(&weights).unwrap();
    assert_fails(&export(&weights, "--force"), "inside the run directory");
    assert_fails(&export(&out.join("new.st"), ""), "inside the run directory");
    let from_last = argv!(
        "export --checkpoint {} --out {}",
        path(&out.join("last")),
        path(&out.join("x.st"))
    );
    assert_fails(&from_last, "inside the run directory");
    assert_eq!(std::fs::read(&weights).unwrap(), checkpoint);
    assert!(!out.join("new.st").exists() && !out.join("x.st").exists());
}

#[test]
fn smaller_cases_give_one_clear_line() {
    let (scratch, data) = with_corpus("small");
    let out = scratch.0.join("r");
    // Case 16: divergence of a fresh run is one line, and claims no checkpoint.
    let args = train_args(&data, &out, "--lr 10 --clip 0 --steps 200");
    let stderr = assert_fails_with(&args, "training stopped", 1);
    assert!(!stderr.contains("left as it was"), "{stderr}");
    assert!(
        stderr.contains("no checkpoint had been written"),
        "{stderr}"
    );

    let out = scratch.0.join("r2");
    ok(train(&data, &out, "10", ""));
    // Case 17: --best on a `last` checkpoint directory.
    assert_fails(
        &[
            "eval",
            "--checkpoint",
            path(&out.join("last")),
            "--best",
            "--data",
            path(&data),
        ],
        "best one was asked for",
    );
    // Usage errors: one line, exit status 2.
    assert_fails_with(&argv!("train --steps -1"), "--iterations", 2);
    assert_fails_with(&argv!("train --time-limit 0"), "minutes above 0", 2);
    // A time limit ends the run early, validated and checkpointed; exit status 0.
    let timed = scratch.0.join("timed");
    ok(train(&data, &timed, "100000", "--time-limit 0.001"));
    assert!(
        last_iteration(&timed) < 100000,
        "{}",
        last_iteration(&timed)
    );
    assert_fails_with(
        &argv!("export --checkpoint {} --format onnx --out x", path(&out)),
        "onnx",
        2,
    );
    // eval of invalid UTF-8 does not suggest a byte mode it lacks.
    let binary_file = scratch.file("binary.bin", &[0x66, 0x6f, 0xff, 0xfe]);
    let stderr = assert_fails_with(
        &argv!(
            "eval --checkpoint {} --data {}",
            path(&out),
            path(&binary_file)
        ),
        "UTF-8",
        1,
    );
    assert!(!stderr.contains("byte mode"), "{stderr}");
    // A byte-order mark is not a symbol.
    let mut with_bom = "\u{FEFF}".as_bytes().to_vec();
    with_bom.extend(corpus_text().as_bytes());
    let bom = scratch.file("bom.txt", &with_bom);
    ok(run(&argv!(
        "eval --checkpoint {} --data {}",
        path(&out),
        path(&bom)
    )));
    let bom_run = scratch.0.join("bom-run");
    ok(train(&bom, &bom_run, "2", ""));
    let vocabulary = std::fs::read_to_string(bom_run.join("last/vocabulary.json")).unwrap();
    assert!(
        !vocabulary.contains('\u{FEFF}') && !vocabulary.contains("feff"),
        "{vocabulary}"
    );
    // Unknown keys in a settings file.
    let config = scratch.file("run.toml", b"windw = 12\n[model]\nhiden = 8\n");
    assert_fails(
        &train_args(
            &data,
            &scratch.0.join("c"),
            &format!("--config {}", path(&config)),
        ),
        "unknown settings `model.hiden`, `windw`",
    );
    // A prime's characters the text lacks read as the unknown symbol: the sample goes on from
    // the prime as given, and never writes the unknown symbol itself.
    let output = run(&argv!("sample --checkpoint {} --prime Zebra!", path(&out)));
    let sample = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(sample.starts_with("Zebra!"), "{sample}");
    assert!(!sample.contains('\u{FFFD}'), "{sample}");
    // A file too short says how long it must be.
    let short = scratch.file("short.txt", &corpus_text().as_bytes()[..17]);
    let stderr = assert_fails_with(
        &train_args(&short, &scratch.0.join("s"), "--seq-len 16"),
        "too short",
        1,
    );
    assert!(stderr.contains("19 symbols are needed"), "{stderr}");
}

/// Case 18: a `--features cuda` build on a machine without NVIDIA's driver (CI compiles it and
/// runs this test there) names the missing library; with the driver it starts.
#[cfg(feature = "cuda")]
#[test]
fn a_cuda_build_says_when_the_driver_is_missing() {
    let (scratch, data) = with_corpus("cuda");
    let out = scratch.0.join("r");
    let args = train_args(&data, &out, &format!("--steps 1 {TINY}"));
    // SAFETY: loading the driver library, as the binary itself does.
    let driver = ["libcuda.so.1", "libcuda.so"]
        .iter()
        .any(|name| unsafe { libloading::Library::new(name) }.is_ok());
    if driver {
        let output = run(&args);
        assert!(
            text(&output.stderr).contains("backend cuda"),
            "{}",
            text(&output.stderr)
        );
    } else {
        let stderr = assert_fails_with(&args, "libcuda.so", 1);
        assert!(stderr.contains("build without --features cuda"), "{stderr}");
    }
}

/// Case 18, wgpu: with no Vulkan driver to be found, a `--features wgpu` build says so.
#[cfg(all(feature = "wgpu", not(feature = "cuda"), target_os = "linux"))]
#[test]
fn a_wgpu_build_says_when_no_adapter_is_found() {
    let (scratch, data) = with_corpus("wgpu");
    let out = scratch.0.join("r");
    let output = Command::new(binary())
        .args([
            "train",
            "--data",
            path(&data),
            "--out",
            path(&out),
            "--steps",
            "1",
        ])
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    common::assert_clean_error(
        &text(&output.stderr),
        "no GPU adapter",
        "wgpu without a driver",
    );
}
