//! `fleet-bench`: one lister cycle over a large simulated fleet (1,000
//! instances with 100 log files each by default) behind the simulated RDS
//! with an injected latency per call, against moto's DynamoDB and SQS.
//! Prints, for a first cycle and for a steady cycle where nothing changed,
//! the wall time and the calls made to RDS (by action), DynamoDB and SQS
//! (by operation), and reads the steady cycle against issue 5's targets.
//! With `--coverage`, scheduled cycles with a time budget cover a fleet
//! larger than one cycle on a simulated clock instead (`coverage.rs`).
//! Run it with `scripts/bench-fleet.sh` (release mode, starts moto).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use clap::Parser;
use futures_util::{StreamExt, stream};
use rds_sim::{ApiRateLimit, RunningSim};
use shipper::aws::AwsClients;
use shipper::config::{self, RawSettings};
use shipper::lister::{Lister, RegionCatalog};
use shipper::queue::WorkQueue;
use shipper::rds::RdsLogCatalog;
use shipper::state::{FileStates, ListerState};
use shipper::version::{FileVersion, ShippedRecord};

mod calls;
mod counting;
mod coverage;
mod sim;
use calls::{CallCounter, CycleFigures, counters_diff, read_targets};
use counting::{CountingQueue, CountingState, Counts};

const ACCESS_KEY: &str = "AKIDFLEETBENCH";
const SECRET_KEY: &str = "fleet-bench-secret";
const REGION: &str = "us-east-1";
const HOUR_MS: i64 = 3_600_000;

#[derive(Parser)]
struct Cli {
    /// Default 1,000; 10,000 with --coverage.
    #[arg(long)]
    instances: Option<usize>,
    /// Log files per instance. Default 100; 24 with --coverage.
    #[arg(long)]
    files: Option<usize>,
    /// Latency RDS adds to every call. Default 20 ms; 100 ms with --coverage.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// The lister's RDS call rate and burst (RDSLOGS_RDS_RATE / _BURST);
    /// not in play with --coverage.
    #[arg(long, default_value_t = 100)]
    rds_rate: u32,
    #[arg(long, default_value_t = 300)]
    rds_burst: u32,
    /// Instances listed at once (RDSLOGS_LISTER_CONCURRENCY). Default 16;
    /// with --coverage the lister's own default (8).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Also run a steady cycle against RDS's default account limit (12
    /// calls/s, burst 300) with the lister's default rate settings.
    #[arg(long)]
    rds_account_limit: bool,
    /// Where the state table and queue live.
    #[arg(long, value_enum, default_value_t = Backend::Memory)]
    backend: Backend,
    /// moto's URL (--backend moto); default: RDSLOGS_TEST_MOTO_URL or .local/moto.url.
    #[arg(long)]
    moto_url: Option<String>,
    /// Instead: scheduled cycles with a time budget on a simulated clock,
    /// until every instance has been listed (see coverage.rs).
    #[arg(long)]
    coverage: bool,
    #[command(flatten)]
    schedule: coverage::Schedule,
}

impl Cli {
    fn instances(&self) -> usize {
        self.instances
            .unwrap_or(if self.coverage { 10_000 } else { 1_000 })
    }

    fn files(&self) -> usize {
        self.files.unwrap_or(if self.coverage { 24 } else { 100 })
    }

    fn latency_ms(&self) -> u64 {
        self.latency_ms
            .unwrap_or(if self.coverage { 100 } else { 20 })
    }
}

fn log_name(f: usize) -> String {
    format!(
        "error/postgresql.log.2026-11-{:02}-{:02}",
        17 + f / 24,
        f % 24
    )
}

fn content(instance: &str, f: usize) -> String {
    format!("{instance} line {f}\n")
}

/// Two days old, a minute apart: older than any listing bound.
fn mtime(now_ms: i64, f: usize) -> i64 {
    now_ms - 48 * HOUR_MS + f as i64 * 60_000
}

/// Writes `instances` folders of `files` tiny log files, two days old, and a
/// fleet.json with a mix of engines.
fn generate(
    root: &std::path::Path,
    instances: usize,
    files: usize,
    now_ms: i64,
) -> anyhow::Result<()> {
    let engines = ["postgres", "mysql", "aurora-postgresql", "aurora-mysql"];
    let mut described = Vec::new();
    for i in 0..instances {
        let id = format!("db-{i:04}");
        described.push(serde_json::json!({
            "id": id, "engine": engines[i % engines.len()], "tags": {"env": "prod"}
        }));
        std::fs::create_dir_all(root.join(&id).join("error"))?;
        for f in 0..files {
            let path = root.join(&id).join(log_name(f));
            std::fs::write(&path, content(&id, f))?;
            let time =
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(mtime(now_ms, f) as u64);
            std::fs::File::options()
                .write(true)
                .open(&path)?
                .set_modified(time)?;
        }
    }
    std::fs::write(
        root.join("fleet.json"),
        serde_json::json!({ "instances": described }).to_string(),
    )?;
    Ok(())
}

fn moto_url(cli: &Cli) -> anyhow::Result<String> {
    if let Some(url) = &cli.moto_url {
        return Ok(url.clone());
    }
    if let Ok(url) = std::env::var("RDSLOGS_TEST_MOTO_URL") {
        return Ok(url);
    }
    std::fs::read_to_string(".local/moto.url")
        .map(|s| s.trim().to_owned())
        .context("no moto: run scripts/bench-fleet.sh, or pass --moto-url")
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "bench",
        )))
        .build()
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    /// In-memory state table and queue, calls counted per operation.
    Memory,
    /// moto's DynamoDB and SQS, real SDK calls counted (slow at full scale).
    Moto,
}

/// The RDS catalogs of a lister with another rate and burst.
type RegionsAt<'a> = &'a dyn Fn(u32, u32) -> anyhow::Result<Vec<RegionCatalog<RdsLogCatalog>>>;

/// Reads and resets the DynamoDB and SQS call counts.
type TakeCounts<'a> = &'a dyn Fn() -> (BTreeMap<String, u64>, BTreeMap<String, u64>);

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.coverage {
        // tokio's paused clock needs a runtime on one thread.
        return tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()?
            .block_on(coverage::run(&cli));
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(fleet_cycles(cli))
}

/// The first and steady cycles (and those at RDS's account limit).
async fn fleet_cycles(cli: Cli) -> anyhow::Result<()> {
    let now = shipper::now_ms();
    let fleet = tempfile::tempdir_in(std::env::temp_dir())?;
    let started = Instant::now();
    let (instances, files) = (cli.instances(), cli.files());
    let concurrency = cli.concurrency.unwrap_or(16);
    generate(fleet.path(), instances, files, now)?;
    println!(
        "fleet: {} instances x {} files generated in {:.1} s; RDS latency {} ms per call; lister {} calls/s (burst {}), {} at once; state and queue: {}",
        instances,
        files,
        started.elapsed().as_secs_f64(),
        cli.latency_ms(),
        cli.rds_rate,
        cli.rds_burst,
        concurrency,
        match cli.backend {
            Backend::Memory => "in memory, calls counted per DynamoDB/SQS operation",
            Backend::Moto => "moto",
        }
    );
    let sim = sim::start(fleet.path().to_path_buf(), ACCESS_KEY, SECRET_KEY).await?;
    sim.faults.set_latency_ms(cli.latency_ms());
    let moto = match cli.backend {
        Backend::Moto => moto_url(&cli)?,
        // Never called: the lister gets in-memory state and queue.
        Backend::Memory => "http://127.0.0.1:9".to_owned(),
    };
    let mut clients =
        AwsClients::with_rds_config(&sdk_config(&moto), &sdk_config(&sim.endpoint_url())).await?;
    let id = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let table = format!("fleet-bench-{id}");
    let queue = format!("{moto}/123456789012/fleet-bench-{id}");
    let settings = |rate: u32, burst: u32| {
        let pairs = [
            (config::ALL_INSTANCES, "true".to_owned()),
            (config::STATE_TABLE, table.clone()),
            (config::QUEUE_URL, queue.clone()),
            (config::RDS_RATE, rate.to_string()),
            (config::RDS_BURST, burst.to_string()),
            (config::LISTER_CONCURRENCY, concurrency.to_string()),
        ];
        RawSettings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .lister()
    };
    let config = settings(cli.rds_rate, cli.rds_burst)?;
    // Only the RDS side of these clients is used.
    let rds_clients = clients.clone();
    let regions_at =
        |rate: u32, burst: u32| anyhow::Ok(rds_clients.lister(&settings(rate, burst)?).regions);
    match cli.backend {
        Backend::Memory => {
            let (dynamodb, sqs) = (Counts::default(), Counts::default());
            let base = clients.lister(&config);
            let mut lister = Lister {
                regions: base.regions,
                state: CountingState {
                    counts: dynamodb.clone(),
                    ..CountingState::default()
                },
                queue: CountingQueue {
                    counts: sqs.clone(),
                    ..CountingQueue::default()
                },
                settings: base.settings,
            };
            let take = || (dynamodb.take(), sqs.take());
            cycles(&cli, &sim, &mut lister, &take, now, &regions_at).await
        }
        Backend::Moto => {
            let (dynamodb, sqs) = (CallCounter::default(), CallCounter::default());
            clients.dynamodb = aws_sdk_dynamodb::Client::from_conf(
                clients
                    .dynamodb
                    .config()
                    .to_builder()
                    .interceptor(dynamodb.clone())
                    .build(),
            );
            clients.sqs = aws_sdk_sqs::Client::from_conf(
                clients
                    .sqs
                    .config()
                    .to_builder()
                    .interceptor(sqs.clone())
                    .build(),
            );
            let dlq = format!("{moto}/123456789012/fleet-bench-dlq-{id}");
            shipper::provision::ensure_state_table(&clients, &table).await?;
            shipper::provision::ensure_queues(&clients, &queue, &dlq, 5).await?;
            let mut lister = clients.lister(&config);
            let take = || (dynamodb.take(), sqs.take());
            cycles(&cli, &sim, &mut lister, &take, now, &regions_at).await
        }
    }
}

/// The first cycle, the workers' part (simulated), the steady cycle, and
/// optionally a steady cycle against RDS's default account limit.
async fn cycles<S: ListerState, Q: WorkQueue>(
    cli: &Cli,
    sim: &RunningSim,
    lister: &mut Lister<RdsLogCatalog, S, Q>,
    take_counts: TakeCounts<'_>,
    now: i64,
    regions_at: RegionsAt<'_>,
) -> anyhow::Result<()> {
    measure("first cycle (everything new)", sim, lister, take_counts).await;
    let started = Instant::now();
    mark_shipped(&lister.state, cli.instances(), cli.files(), now).await?;
    take_counts();
    println!(
        "(the workers' part, simulated: every version recorded as shipped in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let steady = measure("steady cycle (nothing changed)", sim, lister, take_counts).await;
    read_targets(&steady, cli.instances());
    if cli.rds_account_limit {
        sim.faults.set_api_rate_limit(Some(ApiRateLimit {
            per_second: 12,
            burst: 300,
        }));
        lister.regions = regions_at(10, 100)?;
        measure(
            "steady cycle at RDS's default account limit (12/s, burst 300), lister defaults (10/s, burst 100)",
            sim,
            lister,
            take_counts,
        )
        .await;
        // Let RDS's bucket refill, then run a lister configured far above
        // the limit: RDS throttles and the adaptive retry has to absorb it.
        tokio::time::sleep(std::time::Duration::from_secs(25)).await;
        lister.regions = regions_at(cli.rds_rate, cli.rds_burst)?;
        measure(
            "steady cycle at RDS's default account limit, lister above it (--rds-rate, --rds-burst): throttled",
            sim,
            lister,
            take_counts,
        )
        .await;
    }
    Ok(())
}

async fn measure<S: ListerState, Q: WorkQueue>(
    name: &'static str,
    sim: &RunningSim,
    lister: &Lister<RdsLogCatalog, S, Q>,
    take_counts: TakeCounts<'_>,
) -> CycleFigures {
    let before = sim.faults.counters();
    take_counts();
    let started = Instant::now();
    let report = lister.run_cycle(shipper::now_ms()).await;
    let secs = started.elapsed().as_secs_f64();
    let (dynamodb, sqs) = take_counts();
    let figures = CycleFigures {
        name,
        secs,
        rds: counters_diff(sim.faults.counters(), &before),
        dynamodb,
        sqs,
        report,
    };
    figures.print();
    figures
}

/// Records every generated version as shipped, as the workers would have.
async fn mark_shipped<S: FileStates>(
    state: &S,
    instances: usize,
    files: usize,
    now: i64,
) -> anyhow::Result<()> {
    let versions = (0..instances).flat_map(|i| (0..files).map(move |f| (i, f)));
    let results: Vec<_> = stream::iter(versions)
        .map(|(i, f)| async move {
            let instance = format!("db-{i:04}");
            let file = log_name(f);
            let record = ShippedRecord {
                version: FileVersion::new(content(&instance, f).len() as u64, mtime(now, f)),
                at_ms: now,
                key: format!("rds-logs/{instance}/{file}"),
                listed_size: content(&instance, f).len() as u64,
                stored_bytes: content(&instance, f).len() as u64,
                crc32c: String::new(),
                raw_crc32c: String::new(),
                incarnation: None,
            };
            state.record_shipped(&instance, &file, &record).await
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for result in results {
        result?;
    }
    Ok(())
}
