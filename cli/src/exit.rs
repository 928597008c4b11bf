//! The exit codes of `rdslogs`, the same for every command (documented in
//! the README's "Operate" section and docs/operations.md).

use std::process::ExitCode;

/// Everything asked for was done.
pub const DONE: u8 = 0;
/// An error stopped the command (AWS, configuration, state table).
pub const FAILED: u8 = 1;
/// The command line is wrong or the request was refused before anything
/// was done (clap uses 2 for its own usage errors too).
pub const USAGE: u8 = 2;
/// The selection (an id, an instance, a time window) matched nothing.
pub const NOTHING_MATCHED: u8 = 3;
/// Part of the work was done and part was not; the output says which.
pub const PARTIAL: u8 = 4;
/// `verify` found an object missing from S3 or other bytes than recorded.
pub const DAMAGED: u8 = 5;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    NothingMatched,
    Partial,
    Damaged,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Done => DONE,
            Outcome::NothingMatched => NOTHING_MATCHED,
            Outcome::Partial => PARTIAL,
            Outcome::Damaged => DAMAGED,
        })
    }
}

/// A request refused before anything was done (exit code 2).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The exit code for an error that stopped a command.
pub fn for_error(error: &anyhow::Error) -> ExitCode {
    ExitCode::from(if error.is::<Refused>() { USAGE } else { FAILED })
}

/// Refuses the request with exit code 2.
pub fn refuse<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Refused(message.into()).into())
}
