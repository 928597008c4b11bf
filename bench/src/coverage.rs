//! `fleet-bench --coverage`: a fleet larger than one cycle (10,000 instances)
//! covered by scheduled lister cycles, each within the Lambda's time budget,
//! on tokio's paused clock, so an hour of schedule runs in seconds. RDS is
//! modelled here (the account's describe-call limit as a token bucket on
//! tokio's clock, a latency per call); the lister is the real one, unchanged.
//!
//! Why not the simulated RDS behind `RdsLogCatalog`: its rate limiter
//! (`governor`) and the HTTP stack run on the real clock, and 10,000
//! instances at 12 calls a second take 14 minutes per coverage.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::bail;
use shipper::config::{self, RawSettings};
use shipper::fleet::DbInstance;
use shipper::lister::{CycleReport, Lister, ListerSettings, RegionCatalog};
use shipper::message::ShipRequest;
use shipper::rds::{ListedFile, LogCatalog};
use shipper::state::{FileStates, MemoryStateTable};
use shipper::version::{FileVersion, ShippedRecord};
use tokio::time::Instant;

use crate::counting::{CountingQueue, CountingState};
use crate::{Cli, HOUR_MS, log_name};

/// Records per page of `DescribeDBInstances` and `DescribeDBLogFiles`.
const PAGE: usize = 100;

/// Gives up when a full coverage takes this many times the cycles that
/// docs/fleet.md's rule of thumb predicts: something is wrong.
const PATIENCE: usize = 5;

/// The schedule and the modelled AWS side of `--coverage`.
#[derive(clap::Args)]
pub struct Schedule {
    /// --coverage: the lister's Lambda timeout; each cycle's budget is this
    /// less the margin, as the Lambda handler computes it.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// --coverage: RDSLOGS_LISTER_MARGIN_SECS (the handler takes at most a
    /// tenth of the timeout).
    #[arg(long, default_value_t = 30)]
    margin_secs: u64,
    /// --coverage: from one cycle's start to the next (the schedule).
    #[arg(long, default_value_t = 300)]
    every_secs: u64,
    /// --coverage: RDS's describe calls per second for the account and
    /// region, and the burst it allows.
    #[arg(long, default_value_t = 12)]
    account_rate: u32,
    #[arg(long, default_value_t = 300)]
    account_burst: u32,
    /// --coverage: latency of every DynamoDB and SQS call.
    #[arg(long, default_value_t = 10)]
    store_latency_ms: u64,
    /// --coverage: run until every instance has been listed this many
    /// times (the second coverage shows the listing age in steady state).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    coverages: u32,
}

/// RDS's describe-call limit of an account and region: a bucket of `burst`
/// tokens refilled at `rate` a second, on tokio's clock. As GCRA: each call
/// reserves the next free slot and waits for it, in order of arrival.
struct AccountLimit {
    /// When the bucket would be full again with no further call.
    full_at: Mutex<Instant>,
    interval: Duration,
    /// How far ahead of `full_at` a call may go: the burst.
    burst: Duration,
}

impl AccountLimit {
    fn new(rate: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(1) / rate.max(1);
        Self {
            full_at: Mutex::new(Instant::now()),
            interval,
            burst: interval * burst.max(1),
        }
    }

    async fn turn(&self) {
        let at = {
            let mut full_at = self.full_at.lock().expect("limit lock");
            let now = Instant::now();
            let after = (*full_at).max(now) + self.interval;
            *full_at = after;
            after
                .checked_sub(self.burst)
                .map_or(now, |slot| slot.max(now))
        };
        tokio::time::sleep_until(at).await;
    }
}

/// One region's RDS as the lister sees it: `instances`, each with the same
/// `files`; every page waits for the account limit, then takes `latency`.
/// A call over the limit waits here where RDS would answer `Throttling`
/// and the SDK retry later: the model is a lister that keeps to the limit.
struct ModelledRds {
    instances: Vec<DbInstance>,
    files: Vec<ListedFile>,
    limit: AccountLimit,
    latency: Duration,
    calls: AtomicU64,
}

impl ModelledRds {
    async fn page(&self) {
        self.limit.turn().await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.latency).await;
    }

    async fn pages(&self, records: usize) {
        for _ in 0..records.div_ceil(PAGE).max(1) {
            self.page().await;
        }
    }
}

impl LogCatalog for ModelledRds {
    async fn instances(&self) -> shipper::Result<Vec<DbInstance>> {
        self.pages(self.instances.len()).await;
        Ok(self.instances.clone())
    }

    async fn log_files(
        &self,
        _instance: &str,
        written_since_ms: Option<i64>,
    ) -> shipper::Result<Vec<ListedFile>> {
        let files: Vec<ListedFile> = self
            .files
            .iter()
            .filter(|f| written_since_ms.is_none_or(|since| f.version.last_written_ms >= since))
            .cloned()
            .collect();
        self.pages(files.len()).await;
        Ok(files)
    }
}

fn fleet(instances: usize, files: usize, now_ms: i64) -> (Vec<DbInstance>, Vec<ListedFile>) {
    let engines = ["postgres", "mysql", "aurora-postgresql", "aurora-mysql"];
    let described = (0..instances)
        .map(|i| {
            let id = format!("db-{i:05}");
            DbInstance {
                engine: engines[i % engines.len()].into(),
                status: "available".into(),
                cluster: None,
                tags: vec![("env".into(), "prod".into())],
                resource_id: Some(rds_sim::resource_id::derive(&id, 0)),
                id,
            }
        })
        .collect();
    // Two days old, a minute apart; not written to again.
    let listed = (0..files)
        .map(|f| ListedFile {
            name: log_name(f),
            version: FileVersion::new(4096 + f as u64, now_ms - 48 * HOUR_MS + f as i64 * 60_000),
        })
        .collect();
    (described, listed)
}

/// The workers' part, all at once after each cycle: every version sent
/// since `from` recorded as shipped, so a later listing finds it unchanged.
async fn ship(
    state: &MemoryStateTable,
    bodies: &[String],
    from: usize,
    now_ms: i64,
) -> anyhow::Result<()> {
    for body in bodies.get(from..).unwrap_or_default() {
        let v = ShipRequest::parse(body)?;
        let record = ShippedRecord {
            version: v.version,
            at_ms: now_ms,
            key: format!("rds-logs/{}/{}", v.instance, v.file),
            listed_size: v.version.size,
            stored_bytes: v.version.size,
            crc32c: String::new(),
            raw_crc32c: String::new(),
            incarnation: v.incarnation.clone(),
        };
        state.record_shipped(&v.instance, &v.file, &record).await?;
    }
    Ok(())
}

fn cycles(n: usize) -> String {
    match n {
        1 => "one cycle".to_owned(),
        n => format!("{n} cycles"),
    }
}

fn minutes(ms: i64) -> String {
    format!("{:.1} m", ms as f64 / 60_000.0)
}

/// Cycles on the schedule until every instance has been listed
/// `--coverages` times; one line per cycle, then the coverage read against
/// docs/fleet.md's rule of thumb. Needs tokio's clock paused.
pub async fn run(cli: &Cli) -> anyhow::Result<()> {
    let s = &cli.schedule;
    let (instances, files) = (cli.instances(), cli.files());
    let started = std::time::Instant::now();
    // The simulated wall clock: real at the start, then tokio's.
    let (base_ms, origin) = (shipper::now_ms(), Instant::now());
    let now_ms = || base_ms + origin.elapsed().as_millis() as i64;
    let (described, listed) = fleet(instances, files, base_ms);
    let margin = s.margin_secs.to_string();
    let concurrency = cli.concurrency.map(|c| c.to_string());
    let pairs = [
        (config::ALL_INSTANCES, Some("true")),
        (config::STATE_TABLE, Some("coverage-bench")),
        (
            config::QUEUE_URL,
            Some("http://127.0.0.1:9/123456789012/coverage-bench"),
        ),
        (config::LISTER_MARGIN_SECS, Some(margin.as_str())),
        (config::LISTER_CONCURRENCY, concurrency.as_deref()),
    ];
    let config = RawSettings::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.map(str::to_owned))
    })
    .lister()?;
    let store_latency = Duration::from_millis(s.store_latency_ms);
    let lister = Lister {
        regions: vec![RegionCatalog {
            region: None,
            catalog: ModelledRds {
                instances: described,
                files: listed,
                limit: AccountLimit::new(s.account_rate, s.account_burst),
                latency: Duration::from_millis(cli.latency_ms()),
                calls: AtomicU64::new(0),
            },
        }],
        state: CountingState {
            latency: store_latency,
            ..CountingState::default()
        },
        queue: CountingQueue {
            latency: store_latency,
            ..CountingQueue::default()
        },
        settings: ListerSettings::from_config(&config),
    };
    let timeout = Duration::from_secs(s.timeout_secs);
    // What Lister::handle_scheduled gives a cycle of an invocation that
    // has `timeout` left.
    let budget = ListerSettings::from_config(&config).budget(timeout);
    let every = Duration::from_secs(s.every_secs);
    let per_cycle = f64::from(s.account_rate) * budget.as_secs_f64();
    let rule_cycles = (instances as f64 / per_cycle).ceil() as usize;
    println!(
        "coverage: {instances} instances x {files} log files; RDS modelled at {}/s, burst {}, {} ms a call \
         (the lister's RDSLOGS_RDS_RATE limiter is not in play); DynamoDB and SQS in memory, {} ms a call; \
         lister concurrency {}; a cycle every {} s with a {} s timeout, so a budget of {} s; simulated clock",
        s.account_rate,
        s.account_burst,
        cli.latency_ms(),
        s.store_latency_ms,
        config.concurrency,
        s.every_secs,
        s.timeout_secs,
        budget.as_secs_f64()
    );
    println!(
        "{:>5} {:>8} | {:>6} {:>6} {:>7} {:>8} | {:>11} {:>9} {:>9} | {:>5} {:>7} | {:>7} {:>9} {:>11}",
        "cycle",
        "starts",
        "listed",
        "new",
        "covered",
        "enqueued",
        "not reached",
        "oldest",
        "(actual)",
        "RDS",
        "calls/s",
        "took s",
        "vs budget",
        "vs deadline"
    );
    // Per instance: how often, and when last, a cycle listed it.
    let mut listed: HashMap<String, (u32, i64)> = HashMap::new();
    let (mut shipped, mut covered_in, mut all_inside, mut problems) = (0, None, true, 0);
    let mut cycle = 0;
    while listed.len() < instances || listed.values().any(|&(n, _)| n < s.coverages) {
        if cycle >= PATIENCE * rule_cycles.max(1) * s.coverages as usize {
            bail!("no full coverage after {cycle} cycles");
        }
        let start = origin + every * cycle as u32;
        cycle += 1;
        tokio::time::sleep_until(start).await;
        let calls = lister.regions[0].catalog.calls.load(Ordering::Relaxed);
        let cycle_ms = now_ms();
        let report: CycleReport = lister.run_cycle_within(cycle_ms, Some(budget)).await;
        let took = start.elapsed();
        let calls = lister.regions[0].catalog.calls.load(Ordering::Relaxed) - calls;
        // The oldest listing among the instances not reached, as this bench
        // saw the listings (the report reads the lister's records).
        let actual_age = report
            .not_reached
            .iter()
            .filter_map(|name| listed.get(name))
            .map(|&(_, at)| cycle_ms - at)
            .max();
        let mut new = 0;
        for r in &report.instances {
            let (n, at) = listed.entry(r.instance.clone()).or_default();
            new += usize::from(*n == 0);
            (*n, *at) = (*n + 1, cycle_ms);
        }
        problems += report.problems().len() + report.skipped.len();
        let bodies = lister.queue.inner.bodies();
        ship(&lister.state.inner, &bodies, shipped, now_ms()).await?;
        shipped = bodies.len();
        let inside = took <= timeout;
        all_inside &= inside;
        if covered_in.is_none() && listed.len() == instances {
            covered_in = Some(cycle);
        }
        let age = |ms: Option<i64>| ms.map_or_else(|| "-".to_owned(), minutes);
        println!(
            "{:>5} {:>8} | {:>6} {:>6} {:>7} {:>8} | {:>11} {:>9} {:>9} | {:>5} {:>7.2} | {:>7.1} {:>+8.1}s {:>11}",
            cycle,
            minutes((start - origin).as_millis() as i64),
            report.instances.len(),
            new,
            listed.len(),
            report.enqueued(),
            report.not_reached.len(),
            age(report.oldest_listing_age_ms),
            age(actual_age),
            calls,
            calls as f64 / took.as_secs_f64(),
            took.as_secs_f64(),
            took.as_secs_f64() - budget.as_secs_f64(),
            if inside {
                format!("{:.1} s left", (timeout - took).as_secs_f64())
            } else {
                "PAST IT".to_owned()
            }
        );
    }
    let covered_in = covered_in.unwrap_or(cycle);
    let mean = listed.values().map(|&(n, _)| f64::from(n)).sum::<f64>() / cycle as f64;
    println!(
        "{instances} instances covered in {}; every cycle ended before its deadline: {}; \
         {problems} instances failed or skipped; simulated {} in {:.1} s",
        cycles(covered_in),
        if all_inside { "yes" } else { "NO" },
        minutes(now_ms() - base_ms),
        started.elapsed().as_secs_f64()
    );
    let discovery = instances.div_ceil(PAGE);
    println!(
        "docs/fleet.md's rule of thumb, rate x (timeout - margin): {:.0} instances a cycle, so {}; \
         measured {mean:.0} listings a cycle; with the burst and the {discovery} DescribeDBInstances pages a cycle: \
         {} + {:.0} - {discovery} = {:.0}",
        per_cycle,
        cycles(rule_cycles),
        s.account_burst,
        per_cycle,
        f64::from(s.account_burst) + per_cycle - discovery as f64
    );
    Ok(())
}
