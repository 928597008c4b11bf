//! `rdslogs` as a user runs it: a separate process configured only through
//! the standard AWS variables and `RDSLOGS_*`, against the local stack. One
//! test binary, so the AWS SDK is linked once.

mod backfill;
mod dlq;
mod doctor;
mod empty;
mod errors;
mod help;
mod manifests;
mod setup;
mod snapshot;
mod stack;
mod status;
mod verify;

use std::process::{Command, Output};

use integration_tests::LocalStack;

/// Runs `rdslogs` with only the stack's environment.
pub fn rdslogs(stack: &LocalStack, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdslogs"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(stack.binary_env())
        .output()
        .expect("run rdslogs")
}

/// Stdout of a run that must have succeeded.
pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "rdslogs failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stdout of a run that did part of its work (exit code 4).
pub fn partly_done(out: &Output) -> String {
    assert_exit(out, 4);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The exit code, with the output shown when it is not the expected one.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stdout of a successful `--json` run, parsed.
pub fn json(out: &Output) -> serde_json::Value {
    let text = stdout(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_closes_early_ends_rdslogs_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let stack =
        integration_tests::LocalStack::start(integration_tests::StackOptions::default()).await;
    // GIVEN `rdslogs status | head -0`: the reader is gone before any output
    let mut child = Command::new(env!("CARGO_BIN_EXE_rdslogs"))
        .arg("status")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(stack.binary_env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rdslogs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for rdslogs");
    // THEN it ends as `cat` would, by SIGPIPE, without a panic
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc_sigpipe()),
        "{:?} {stderr}",
        out.status
    );
}

/// SIGPIPE's number on every Unix this runs on.
#[cfg(unix)]
fn libc_sigpipe() -> i32 {
    13
}
