//! `ship-bench --first-sync`: the worker's throughput on a fleet's first
//! sync of many small files. A worker process ships them as SQS batches
//! through `Worker::process_batch`, one batch after another as `rdslogs work`
//! does, with RDS answering slowly; once per records-at-once setting.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::bail;
use shipper::aws::AwsClients;
use shipper::config::BatchSettings;
use shipper::layout::{Compression, KeyLayout};
use shipper::message::ShipRequest;
use shipper::sink::S3Sink;
use shipper::state::MemoryStateTable;
use shipper::version::{FileVersion, LogFileVersion};
use shipper::worker::{SyncOutcome, Worker};

use crate::extension::median;
use crate::{
    ACCESS_KEY, BUCKET, Cli, MIB, Measured, SECRET_KEY, cpu_secs, mib, peak_rss_kib,
    print_measured, sdk_config, serve_s3,
};

/// Files per simulated instance.
const PER_INSTANCE: usize = 10;

/// What `--first-sync` ships, and how.
#[derive(clap::Args)]
pub struct Options {
    /// --first-sync: how many files.
    #[arg(long, default_value_t = 300)]
    sync_files: usize,
    /// --first-sync: the size of each, in KiB.
    #[arg(long, default_value_t = 4)]
    sync_file_kib: u64,
    /// --first-sync: latency the simulated RDS adds to every call and
    /// download (each file costs two: the download and the incarnation check).
    #[arg(long, default_value_t = 100)]
    rds_latency_ms: u64,
    /// --first-sync: the settings measured (RDSLOGS_WORKER_CONCURRENCY);
    /// the first is the reference the others are read against.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 4, 5, 10])]
    records_at_once: Vec<usize>,
    /// --first-sync: records per SQS batch (the event source's BatchSize).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10))]
    batch_size: u64,
}

/// The child's instructions: which files, in which batches, how many at once.
#[derive(clap::Args)]
pub struct ChildArgs {
    #[arg(long)]
    rds: String,
    #[arg(long)]
    s3: String,
    #[arg(long)]
    files: usize,
    #[arg(long)]
    size: u64,
    #[arg(long)]
    batch_size: usize,
    #[arg(long)]
    records_at_once: usize,
    #[arg(long)]
    part_size_mib: u64,
    #[arg(long)]
    parts_in_flight: usize,
}

/// The `n` files, as instance and file name: ten to an instance.
fn files(n: usize) -> impl Iterator<Item = (String, String)> {
    (0..n).map(|i| {
        (
            format!("sync-{:03}", i / PER_INSTANCE),
            format!("error/postgresql.log.2026-11-20-{:02}", i % PER_INSTANCE),
        )
    })
}

/// Child: ships every file, batch after batch, and reports the whole run.
pub async fn child(args: &ChildArgs) -> anyhow::Result<()> {
    let clients =
        AwsClients::with_rds_config(&sdk_config(&args.s3), &sdk_config(&args.rds)).await?;
    // Keys of their own: the discard store outlives the children and would
    // answer that it holds these versions already.
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let worker = Worker {
        source: clients.log_source.clone(),
        sink: S3Sink::new(
            clients.s3.clone(),
            BUCKET,
            (args.part_size_mib * MIB) as usize,
            args.parts_in_flight,
            Duration::from_secs(900),
        ),
        state: MemoryStateTable::default(),
        layout: KeyLayout::new("{prefix}/{instance}/{file}", &prefix, Compression::None)
            .map_err(anyhow::Error::msg)?,
        batch: BatchSettings {
            records_at_once: args.records_at_once,
            ..BatchSettings::default()
        },
    };
    let requests: Vec<String> = files(args.files)
        .map(|(instance, file)| {
            let incarnation = rds_sim::InstanceMeta::new(&instance).dbi_resource_id();
            ShipRequest::new(&LogFileVersion {
                instance,
                file,
                version: FileVersion::new(args.size, 1_763_643_600_000),
                region: None,
                incarnation: Some(incarnation),
            })
            .to_json()
        })
        .collect();
    // SQS events as Lambda delivers them (the worker parses each body).
    let events = requests
        .chunks(args.batch_size.max(1))
        .enumerate()
        .map(|(b, bodies)| {
            let records: Vec<serde_json::Value> = bodies
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    serde_json::json!({
                        "messageId": format!("batch-{b}-record-{i}"),
                        "body": body,
                        "eventSource": "aws:sqs",
                    })
                })
                .collect();
            serde_json::from_value(serde_json::json!({ "Records": records }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (started, cpu_before) = (Instant::now(), cpu_secs());
    let mut bytes = 0;
    for event in events {
        for record in worker.process_batch(event).await {
            match record.result {
                Ok(SyncOutcome::Shipped { bytes: b, .. }) if b == args.size => bytes += b,
                other => bail!("{} was not shipped: {other:?}", record.message_id),
            }
        }
    }
    print_measured(&Measured {
        bytes,
        secs: started.elapsed().as_secs_f64(),
        cpu_secs: cpu_secs() - cpu_before,
        peak_rss_kib: peak_rss_kib(),
    })
}

fn run_child(
    cli: &Cli,
    urls: (&str, &str),
    size: u64,
    records_at_once: usize,
) -> anyhow::Result<Measured> {
    let o = &cli.sync;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["ship-batches", "--rds", urls.0, "--s3", urls.1])
        .args(["--files", &o.sync_files.to_string()])
        .args(["--size", &size.to_string()])
        .args(["--batch-size", &o.batch_size.to_string()])
        .args(["--records-at-once", &records_at_once.to_string()])
        .args(["--part-size-mib", &cli.part_size_mib.to_string()])
        .args(["--parts-in-flight", &cli.parts_in_flight.to_string()]);
    crate::measured_child(command, &format!("shipping with {records_at_once} at once"))
}

/// Writes the files that are missing or of another size.
fn generate(root: &Path, count: usize, size: u64) -> anyhow::Result<()> {
    for (instance, file) in files(count) {
        let path = root.join(instance).join(file);
        if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(size) {
            rds_sim::generate::write_large_log(&path, size)?;
        }
    }
    Ok(())
}

/// Parent: `rounds` rounds of one child per setting (the order reversed
/// every other round), then the medians read against the first setting.
pub async fn run(cli: &Cli) -> anyhow::Result<()> {
    let o = &cli.sync;
    let Some(&reference) = o.records_at_once.first() else {
        bail!("--records-at-once needs at least one setting");
    };
    let rounds = cli.rounds.unwrap_or(2);
    let size = o.sync_file_kib * 1024;
    let root = cli.dir.join("first-sync");
    generate(&root, o.sync_files, size)?;
    let sim = crate::sim::start(root.clone(), ACCESS_KEY, SECRET_KEY).await?;
    sim.faults.set_latency_ms(o.rds_latency_ms);
    let rds = sim.endpoint_url();
    let discard = format!(
        "http://{}",
        serve_s3(crate::discard::DiscardStore::default()).await?
    );
    println!(
        "first sync: {} files of {} KiB ({} instances) from rds-sim under {}, {} ms added to every RDS call \
         and download; SQS batches of {}, one after another, through Worker::process_batch in a separate \
         process; S3 side: discard store; state in memory",
        o.sync_files,
        o.sync_file_kib,
        o.sync_files.div_ceil(PER_INSTANCE),
        root.display(),
        o.rds_latency_ms,
        o.batch_size
    );
    println!(
        "{:>5} {:>8} | {:>7} {:>7} {:>9} | {:>6} {:>8}",
        "round", "at once", "s", "files/s", "x at once", "CPU s", "RSS MiB"
    );
    let mut runs: Vec<(usize, Measured)> = Vec::new();
    for round in 1..=rounds {
        let mut order = o.records_at_once.clone();
        if round % 2 == 0 {
            order.reverse();
        }
        let mut measured = Vec::new();
        for &at_once in &order {
            let m = run_child(cli, (&rds, &discard), size, at_once)?;
            if m.bytes != size * o.sync_files as u64 {
                bail!(
                    "{} bytes shipped, expected {}",
                    m.bytes,
                    size * o.sync_files as u64
                );
            }
            measured.push((at_once, m));
        }
        measured.sort_by_key(|(at_once, _)| o.records_at_once.iter().position(|s| s == at_once));
        let base = files_per_s(&measured[0].1, o.sync_files);
        for (at_once, m) in &measured {
            let rate = files_per_s(m, o.sync_files);
            println!(
                "{:>5} {:>8} | {:>7.2} {:>7.1} {:>9.2} | {:>6.2} {:>8.1}",
                round,
                at_once,
                m.secs,
                rate,
                rate / base,
                m.cpu_secs,
                mib(m.peak_rss_kib)
            );
        }
        runs.extend(measured);
    }
    let median_of = |at_once: usize| {
        median(
            runs.iter()
                .filter(|(a, _)| *a == at_once)
                .map(|(_, m)| files_per_s(m, o.sync_files)),
        )
    };
    let base = median_of(reference);
    // Records start as others finish, but a batch ends with its slowest
    // record: with files that take alike, a batch goes in waves.
    let batch = o.batch_size as usize;
    let waves = |at_once: usize| batch.div_ceil(at_once.max(1));
    println!(
        "medians of {rounds} rounds, against {reference} at once (target for the default, 10 at once: >= 5 x \
         the sequential figure); a batch of {batch} goes in ceil({batch} / at once) waves, which bounds the ratio:"
    );
    for &at_once in &o.records_at_once {
        let peak = runs
            .iter()
            .filter(|(a, _)| *a == at_once)
            .map(|(_, m)| m.peak_rss_kib)
            .max()
            .unwrap_or(0);
        let rate = median_of(at_once);
        println!(
            "  {at_once:>2} at once: {rate:>5.1} files/s, {:>5.2} x ({} a batch: at most {:.2} x); peak RSS {:.1} MiB",
            rate / base,
            match waves(at_once) {
                1 => "one wave".to_owned(),
                n => format!("{n} waves"),
            },
            waves(reference) as f64 / waves(at_once) as f64,
            mib(peak)
        );
    }
    Ok(())
}

fn files_per_s(m: &Measured, files: usize) -> f64 {
    files as f64 / m.secs
}
