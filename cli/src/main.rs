//! `rdslogs`, the operator CLI: set up resources, run a lister cycle, drain
//! the work queue with the worker handler (all with the Lambdas' own code),
//! and operate: dead letters, status, backfill, snapshots, and check a
//! deployment against its account (doctor).

// The SDK upload futures nest deeply; their layout needs more than the
// default query depth.
#![recursion_limit = "256"]

mod args;
mod backfill;
mod dlq;
mod doctor;
mod exit;
mod output;
mod record;
mod snapshot;
mod status;
mod when;
mod work;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use shipper::aws::{AwsClients, load_sdk_config};
use shipper::config::{self, RawSettings};
use shipper::operator::doctor::AwsAccount;
use shipper::provision;
use shipper::state::DynamoStateTable;

#[derive(Parser)]
#[command(version, about = "Operate rds-log-shipper: set up, list, ship")]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags that override the `RDSLOGS_*` environment variables.
#[derive(Args)]
struct SettingsArgs {
    /// Comma-separated DB instance identifiers [env: RDSLOGS_INSTANCES]
    #[arg(long, global = true)]
    instances: Option<String>,
    /// Destination bucket [env: RDSLOGS_BUCKET]
    #[arg(long, global = true)]
    bucket: Option<String>,
    /// Key prefix in the bucket [env: RDSLOGS_PREFIX, default: rds-logs]
    #[arg(long, global = true)]
    prefix: Option<String>,
    /// DynamoDB state table [env: RDSLOGS_STATE_TABLE]
    #[arg(long, global = true)]
    state_table: Option<String>,
    /// Work queue URL [env: RDSLOGS_QUEUE_URL]
    #[arg(long, global = true)]
    queue_url: Option<String>,
    /// Dead-letter queue URL [env: RDSLOGS_DLQ_URL]
    #[arg(long, global = true)]
    dlq_url: Option<String>,
}

impl SettingsArgs {
    fn merge(self, mut raw: RawSettings) -> RawSettings {
        let pick = |flag: Option<String>, env: &mut Option<String>| {
            if flag.is_some() {
                *env = flag;
            }
        };
        pick(self.instances, &mut raw.instances);
        pick(self.bucket, &mut raw.bucket);
        pick(self.prefix, &mut raw.prefix);
        pick(self.state_table, &mut raw.state_table);
        pick(self.queue_url, &mut raw.queue_url);
        pick(self.dlq_url, &mut raw.dlq_url);
        raw
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create the bucket, state table, work queue and dead-letter queue if missing.
    Setup {
        /// Receives before a failing message moves to the dead-letter queue.
        #[arg(long, default_value_t = 5)]
        max_receive_count: u32,
    },
    /// Run one lister cycle, as the scheduled Lambda does.
    ListOnce {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Start no listing after this many seconds, as the Lambda does
        /// before its deadline; the next run carries on where this stopped.
        #[arg(long, value_name = "SECONDS")]
        budget_secs: Option<u64>,
    },
    /// Poll the work queue as Lambda's SQS event source does and ship each file.
    Work(work::WorkArgs),
    /// Inspect, redrive and purge the dead-letter queue.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// Enqueue every file version of an instance last written in a time window.
    Backfill(backfill::BackfillArgs),
    /// Per instance: files shipped, pending, failed, lost, bytes, lag, last lister cycle.
    Status(status::StatusArgs),
    /// Create a manual DB snapshot tagged created-by=rdslogs, now or at a given time.
    Snapshot(snapshot::SnapshotArgs),
    /// Check the deployment against the account: table, queues, bucket,
    /// instances, a download and (with --stack) the functions' roles.
    Doctor(doctor::DoctorArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    quiet_on_closed_pipe();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RDSLOGS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::for_error(&e)
        }
    }
}

/// A reader that stops early (`| head`, `| less` quit) ends `rdslogs` as it
/// ends other Unix tools, by SIGPIPE, instead of a panic on the next print
/// (Rust ignores SIGPIPE by default).
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal before any thread
    // writes; no handler is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

async fn run(cli: Cli) -> anyhow::Result<exit::Outcome> {
    let settings = cli.settings.merge(RawSettings::from_env());
    let sdk = load_sdk_config().await;
    match cli.command {
        Command::Setup { max_receive_count } => {
            let worker = settings.worker()?;
            let (queue, dlq) = (settings.queue_url()?, settings.dlq_url()?);
            let clients = AwsClients::new(&sdk).await?;
            let spinner = output::waiting("creating what is missing", false);
            let provisioned = async {
                provision::ensure_bucket(&clients, &worker.bucket).await?;
                provision::ensure_state_table(&clients, &worker.state_table).await?;
                provision::ensure_queues(&clients, &queue, &dlq, max_receive_count).await
            }
            .await;
            spinner.finish_and_clear();
            provisioned?;
            println!("bucket       {}", worker.bucket);
            println!("state table  {}", worker.state_table);
            println!("work queue   {queue}");
            println!("dead letters {dlq} (after {max_receive_count} receives)");
        }
        Command::ListOnce { json, budget_secs } => {
            let config = settings.lister()?;
            let clients = AwsClients::new(&sdk).await?;
            let spinner = output::waiting("listing the fleet", json);
            let budget = budget_secs.map(std::time::Duration::from_secs);
            let report = clients
                .lister(&config)
                .run_cycle_within(shipper::now_ms(), budget)
                .await;
            spinner.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_cycle(&report);
            }
            let problems = report.problems();
            anyhow::ensure!(
                problems.is_empty(),
                "lister cycle incomplete: {}",
                problems.join("; ")
            );
        }
        Command::Work(args) => {
            let worker_config = settings.worker()?;
            let queue_url = settings.queue_url().context(config::QUEUE_URL)?;
            let clients = AwsClients::new(&sdk).await?;
            work::run(&clients, &worker_config, &queue_url, &args).await?;
        }
        Command::Dlq(command) => {
            let clients = AwsClients::new(&sdk).await?;
            return dlq::run(&clients, &settings, command).await;
        }
        Command::Backfill(args) => {
            let clients = AwsClients::new(&sdk).await?;
            return backfill::run(&clients, &settings, &args).await;
        }
        Command::Status(args) => {
            let table = settings.state_table()?;
            let clients = AwsClients::new(&sdk).await?;
            let state = DynamoStateTable::new(clients.dynamodb.clone(), table);
            return status::run(&state, &args).await;
        }
        Command::Snapshot(args) => {
            return snapshot::run(aws_sdk_rds::Client::new(&sdk), args).await;
        }
        Command::Doctor(args) => {
            let clients = AwsClients::new(&sdk).await?;
            let account = AwsAccount::new(&clients, &sdk);
            let region = sdk.region().map(ToString::to_string);
            return doctor::run(&clients, &account, &settings, region, &args).await;
        }
    }
    Ok(exit::Outcome::Done)
}

fn print_cycle(report: &shipper::lister::CycleReport) {
    println!(
        "{:<24} {:>6} {:>9} {:>9} {:>8} {:>5}  error",
        "instance", "listed", "unchanged", "in-flight", "enqueued", "lost"
    );
    for i in &report.instances {
        println!(
            "{:<24} {:>6} {:>9} {:>9} {:>8} {:>5}  {}",
            i.instance,
            i.listed,
            i.unchanged,
            i.in_flight,
            i.enqueued,
            i.lost,
            i.error.as_deref().unwrap_or("")
        );
    }
    for s in &report.skipped {
        println!("{:<24} skipped: {}", s.instance, s.reason);
    }
    println!(
        "enqueued {} file versions, {} lost, {} near RDS's retention, {} throttled calls",
        report.enqueued(),
        report.lost(),
        report.near_retention(),
        report.throttled
    );
    if !report.not_reached.is_empty() {
        println!(
            "{} instances not reached in time (the next cycle starts with them){}",
            report.not_reached.len(),
            report
                .oldest_listing_age_ms
                .map_or(String::new(), |age| format!(
                    "; the oldest was listed {} ago",
                    output::age(age)
                ))
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
