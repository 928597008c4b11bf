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
mod list_once;
mod output;
mod record;
mod settings;
mod snapshot;
mod status;
mod verify;
mod when;
mod work;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shipper::aws::{AwsClients, check_region_and_credentials, load_sdk_config};
use shipper::config::{self, RawSettings};
use shipper::operator::doctor::AwsAccount;
use shipper::operator::stack::apply_stack;
use shipper::provision;
use shipper::state::DynamoStateTable;

#[derive(Parser)]
#[command(
    version,
    about = "Operate rds-log-shipper: set up, list, ship",
    after_help = "AWS credentials and region come from the standard AWS settings \
                  (AWS_PROFILE, AWS_REGION, ...); RDSLOGS_LOG=info shows more.\n\
                  Exit codes: 0 done, 1 failed, 2 usage or refused, 3 nothing matched, \
                  4 partly done, 5 archive damaged (verify)."
)]
struct Cli {
    #[command(flatten)]
    settings: settings::SettingsArgs,
    #[command(subcommand)]
    command: Command,
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
    ListOnce(list_once::ListOnceArgs),
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
    /// Reconcile what RDS lists, what the state table recorded and what S3
    /// holds, per file version; changes nothing.
    Verify(verify::VerifyArgs),
    /// Check the deployment against the account: table, queues, bucket,
    /// instances, a download and (with --stack) the functions' roles.
    Doctor(doctor::DoctorArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    quiet_on_closed_pipe();
    init_logging();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            tracing::debug!(error = ?e, "the command failed");
            eprintln!("error: {}", output::error_text(&e));
            exit::for_error(&e)
        }
    }
}

/// Logs go to stderr at `RDSLOGS_LOG`'s level, `warn` by default. The
/// default leaves out the SDK's own probes for a region and credentials
/// (IMDS, off EC2: a missing one is named once, before any call) and the
/// handlers' outcome events, which the command prints itself.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RDSLOGS_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "warn,aws_config=error,{}=off",
            shipper::error::OUTCOME_LOG
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
    let sdk = load_sdk_config().await;
    check_region_and_credentials(&sdk).await?;
    let stack = cli.settings.stack();
    let mut from_env = RawSettings::from_env();
    if let Some(stack) = &stack {
        let cloudformation = aws_sdk_cloudformation::Client::new(&sdk);
        let spinner = output::waiting("reading the stack's outputs", false);
        let applied = apply_stack(&cloudformation, stack, &mut from_env).await;
        spinner.finish_and_clear();
        applied?;
    }
    let settings = cli.settings.merge(from_env);
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
            println!(
                "dead letters {dlq} (after {})",
                output::count(max_receive_count as usize, "receive")
            );
        }
        Command::ListOnce(args) => {
            let config = args.scope.merge(settings).lister()?;
            let clients = AwsClients::new(&sdk).await?;
            return list_once::run(&clients, &config, &args).await;
        }
        Command::Work(args) => {
            let worker_config = settings.worker()?;
            let queue_url = settings.queue_url().context(config::QUEUE_URL)?;
            let clients = AwsClients::new(&sdk).await?;
            return work::run(&clients, &worker_config, &queue_url, &args).await;
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
        Command::Verify(args) => {
            let worker_config = settings.worker()?;
            let (rate, burst) = settings.rds_rate()?;
            let clients = AwsClients::new(&sdk).await?;
            let rate = shipper::rds::RdsRate::new(rate, burst);
            return verify::run(&clients, &worker_config, rate, &args).await;
        }
        Command::Snapshot(args) => {
            return snapshot::run(aws_sdk_rds::Client::new(&sdk), args).await;
        }
        Command::Doctor(args) => {
            let clients = AwsClients::new(&sdk).await?;
            let account = AwsAccount::new(&clients, &sdk);
            let region = sdk.region().map(ToString::to_string);
            let settings = args.scope.merge(settings);
            return doctor::run(&clients, &account, &settings, region, stack, &args).await;
        }
    }
    Ok(exit::Outcome::Done)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
