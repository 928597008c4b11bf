//! `rdslogs` as a user runs it: a separate process configured only through
//! the standard AWS variables and `RDSLOGS_*`, against the local stack. One
//! test binary, so the AWS SDK is linked once.

mod backfill;
mod dlq;
mod doctor;
mod setup;
mod snapshot;
mod status;

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
