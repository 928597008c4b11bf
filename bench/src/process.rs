//! A measurement in a child process: what it measured, how the child
//! reports it (JSON on stdout) and how the parent reads it back.

use std::process::Command;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::MIB;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Measured {
    pub(crate) bytes: u64,
    pub(crate) secs: f64,
    /// CPU time (user + system) of the measured work, in seconds.
    pub(crate) cpu_secs: f64,
    pub(crate) peak_rss_kib: u64,
}

/// CPU time (user + system) this process has used so far, in seconds:
/// `utime` and `stime` of `/proc/self/stat`, in ticks of 1/100 s.
pub(crate) fn cpu_secs() -> f64 {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // utime and stime are fields 14 and 15; the command name (field 2)
            // may hold spaces but ends with the last ')'.
            let fields: Vec<u64> = s
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .skip(11)
                .take(2)
                .map(|f| f.parse().ok())
                .collect::<Option<_>>()?;
            Some(fields.iter().sum::<u64>())
        });
    ticks.unwrap_or(0) as f64 / 100.0
}

/// VmHWM: the peak resident set size of this process, in KiB.
pub(crate) fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// A child's result, as JSON on stdout for the parent.
pub(crate) fn print_measured(measured: &Measured) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(measured)?);
    Ok(())
}

pub(crate) fn mib_per_s(m: &Measured) -> f64 {
    m.bytes as f64 / MIB as f64 / m.secs
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs a child measurement and reads what it printed; `what` names it in
/// the error when the child fails.
pub(crate) fn measured_child(mut command: Command, what: &str) -> anyhow::Result<Measured> {
    let out = command.output().context("cannot run the child process")?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).context("child output")
}
