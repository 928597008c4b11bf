//! `ship-bench --extension`: what the worker's extension check costs. Each
//! child ships a file's first half (an earlier version, untimed), then times
//! shipping the whole file: over that half (`extend`: replaced only once the
//! worker has verified the half on the stream) or to a key where nothing
//! exists (`fresh`: no check). Rounds alternate the order of the two.

use std::time::Instant;

use anyhow::bail;
use futures_util::StreamExt;
use shipper::layout::KeyLayout;
use shipper::rds::{IncarnationLookup, LogSource, LogStream, RestLogSource};
use shipper::sink::S3Sink;
use shipper::state::MemoryStateTable;
use shipper::version::{FileVersion, LogFileVersion};
use shipper::worker::{SyncOutcome, Worker};

use crate::{
    ChildArgs, Cli, INSTANCE, MIB, Measured, cpu_secs, mib_per_s, peak_rss_kib, read_once,
    run_child,
};

/// The file as it was earlier: its first `len` bytes.
struct Earlier {
    source: RestLogSource,
    len: u64,
}

impl LogSource for Earlier {
    fn incarnation(&self, region: Option<&str>, instance: &str) -> IncarnationLookup {
        self.source.incarnation(region, instance)
    }

    async fn open(
        &self,
        region: Option<&str>,
        instance: &str,
        file: &str,
    ) -> shipper::Result<LogStream> {
        let body = self.source.open(region, instance, file).await?;
        let cut = body.scan(self.len, |left, chunk| {
            std::future::ready(match chunk {
                Ok(_) if *left == 0 => None,
                Ok(mut bytes) => {
                    bytes.truncate((*left).min(bytes.len() as u64) as usize);
                    *left -= bytes.len() as u64;
                    Some(Ok(bytes))
                }
                Err(e) => Some(Err(e)),
            })
        });
        Ok(Box::pin(cut))
    }
}

/// Child: ships the first half, then the whole file, over it when
/// `over_earlier`; measures the whole file's pass.
pub async fn ship_whole(
    args: &ChildArgs,
    source: &RestLogSource,
    sink: S3Sink,
    over_earlier: bool,
) -> anyhow::Result<Measured> {
    // Keys of their own: the discard store outlives the children.
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let layout = |prefix: &str| {
        KeyLayout::new("{prefix}/{instance}/{file}", prefix, args.compression)
            .map_err(anyhow::Error::msg)
    };
    let version = |size, last_written_ms| LogFileVersion {
        instance: INSTANCE.into(),
        file: args.file.clone(),
        version: FileVersion::new(size, last_written_ms),
        region: None,
        incarnation: None,
    };
    let earlier = Worker {
        source: Earlier {
            source: source.clone(),
            len: args.size / 2,
        },
        sink,
        state: MemoryStateTable::default(),
        layout: layout(&prefix)?,
        batch: Default::default(),
    };
    let SyncOutcome::Shipped {
        key: earlier_key, ..
    } = earlier.ship(&version(args.size / 2, 1)).await?
    else {
        bail!("the first half of {} was not shipped", args.file);
    };
    // The same sink and state (a compressed object's check needs the raw
    // CRC32C the state recorded).
    let Worker { sink, state, .. } = earlier;
    let whole_prefix = match over_earlier {
        true => prefix,
        false => format!("{prefix}-fresh"),
    };
    let whole = Worker {
        source: source.clone(),
        sink,
        state,
        layout: layout(&whole_prefix)?,
        batch: Default::default(),
    };
    let (started, cpu_before) = (Instant::now(), cpu_secs());
    let outcome = whole.ship(&version(args.size, 2)).await?;
    let (secs, cpu) = (started.elapsed().as_secs_f64(), cpu_secs() - cpu_before);
    let SyncOutcome::Shipped { key, bytes, .. } = outcome else {
        bail!("{} was not shipped: {outcome:?}", args.file);
    };
    // Shipped at the first half's key means it replaced it, which the worker
    // does only once the check passed; failed, it would use a key of its own.
    if (key == earlier_key) != over_earlier {
        bail!("the whole file went to {key}, its first half is at {earlier_key}");
    }
    Ok(Measured {
        bytes,
        secs,
        cpu_secs: cpu,
        peak_rss_kib: peak_rss_kib(),
    })
}

/// Rounds per file unless `--rounds` says otherwise.
const ROUNDS: u32 = 21;

/// Parent: `cli.rounds` rounds per file, then the medians and the overhead:
/// in throughput (what the target is read against) and in the worker's CPU
/// time (steadier when other processes share the machine).
pub fn measure(cli: &Cli, urls: (&str, &str), files: &[(String, u64)]) -> anyhow::Result<()> {
    let rounds_per_file = cli.rounds.unwrap_or(ROUNDS);
    println!(
        "extension check: each file's first half shipped (untimed), then the whole file measured,\n\
         fresh: to a key where nothing exists; extend: over the first half, after the check"
    );
    println!(
        "{:>8} {:>5} | {:>7} {:>7} {:>6} | {:>8} {:>7} {:>6} | {:>8} {:>7}",
        "size MiB",
        "round",
        "fresh s",
        "MiB/s",
        "CPU s",
        "extend s",
        "MiB/s",
        "CPU s",
        "overhead",
        "CPU"
    );
    for (name, size) in files {
        read_once(cli, name)?;
        let mut rounds = Vec::new();
        for round in 1..=rounds_per_file {
            let run = |role| run_child(role, cli, urls, name, *size);
            // Alternate the order, so a change in the machine's load hits both.
            let (f, e) = if round % 2 == 1 {
                let f = run("fresh")?;
                (f, run("extend")?)
            } else {
                let e = run("extend")?;
                (run("fresh")?, e)
            };
            if f.bytes != *size || e.bytes != *size {
                bail!("byte counts differ from the file size for {name}");
            }
            println!(
                "{:>8} {:>5} | {:>7.2} {:>7.1} {:>6.2} | {:>8.2} {:>7.1} {:>6.2} | {:>7.1}% {:>+6.1}%",
                size / MIB,
                round,
                f.secs,
                mib_per_s(&f),
                f.cpu_secs,
                e.secs,
                mib_per_s(&e),
                e.cpu_secs,
                overhead(mib_per_s(&f), mib_per_s(&e)),
                (e.cpu_secs / f.cpu_secs - 1.0) * 100.0
            );
            rounds.push((f, e));
        }
        let (f, e) = (
            median(rounds.iter().map(|r| mib_per_s(&r.0))),
            median(rounds.iter().map(|r| mib_per_s(&r.1))),
        );
        let (f_cpu, e_cpu) = (
            median(rounds.iter().map(|r| r.0.cpu_secs)),
            median(rounds.iter().map(|r| r.1.cpu_secs)),
        );
        println!(
            "{} MiB, medians of {} rounds: fresh {f:.1} MiB/s, extend {e:.1} MiB/s: \
             the extension check costs {:.1} % of the throughput (target < 5 %); \
             worker CPU {f_cpu:.2} s against {e_cpu:.2} s ({:+.1} %)",
            size / MIB,
            rounds_per_file,
            overhead(f, e),
            (e_cpu / f_cpu - 1.0) * 100.0
        );
    }
    Ok(())
}

/// The throughput lost to the check, in percent.
fn overhead(fresh: f64, extend: f64) -> f64 {
    (1.0 - extend / fresh) * 100.0
}

/// The middle value (the upper one of an even count).
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
