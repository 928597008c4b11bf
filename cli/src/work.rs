//! `rdslogs work`: drains the work queue with the worker handler, the way
//! Lambda's SQS event source would, and prints what was shipped.

use clap::Args;
use shipper::aws::AwsClients;
use shipper::config::WorkerConfig;
use shipper::poller::{PollOptions, poll};
use shipper::queue::SqsQueue;
use shipper::version::LogFileVersion;
use shipper::worker::SyncOutcome;

use crate::exit::Outcome;
use crate::output;

#[derive(Args)]
pub struct WorkArgs {
    /// Stop once the queue holds no visible or in-flight message.
    #[arg(long)]
    until_empty: bool,
    /// Messages per batch (1 to 10).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=10))]
    batch_size: i32,
    /// Seconds a received message stays hidden while it is handled.
    #[arg(long, default_value_t = 300)]
    visibility_timeout: i32,
    /// Seconds before a failed message is visible again (Lambda waits out
    /// the visibility timeout; a short delay suits local runs).
    #[arg(long, default_value_t = 1)]
    retry_delay: i32,
}

pub async fn run(
    clients: &AwsClients,
    config: &WorkerConfig,
    queue_url: &str,
    args: &WorkArgs,
) -> anyhow::Result<Outcome> {
    let worker = clients.worker(config);
    let options = PollOptions {
        batch_size: args.batch_size,
        visibility_timeout: args.visibility_timeout,
        retry_delay: args.retry_delay,
        until_empty: args.until_empty,
    };
    let mut handled = Vec::new();
    let mut failed = 0usize;
    let spinner = output::spinner("messages handled", false);
    let queue = SqsQueue::new(clients.sqs.clone(), queue_url);
    let polled = poll(&queue, &worker, &options, |record| {
        spinner.inc(1);
        match record.result {
            Ok(outcome) => handled.push((record.version, outcome)),
            Err(e) => {
                failed += 1;
                spinner.suspend(|| {
                    eprintln!(
                        "not shipped, left on the queue (after its maxReceiveCount it moves \
                         to the dead-letter queue): {}",
                        shipper::error::causes(&e)
                    )
                });
            }
        }
    })
    .await;
    spinner.finish_and_clear();
    polled?;
    print(&handled, failed, &config.bucket);
    // A failed attempt stays on the queue: partly done (exit 4).
    Ok(if failed > 0 {
        Outcome::Partial
    } else {
        Outcome::Done
    })
}

/// One row per message handled, and what became of it.
fn print(handled: &[(Option<LogFileVersion>, SyncOutcome)], failed: usize, bucket: &str) {
    if handled.is_empty() && failed == 0 {
        println!("nothing to ship: the work queue is empty");
        return;
    }
    let mut table = output::table(&["instance", "file", "size", "outcome", "s3 key"], &[2]);
    let mut shipped = 0;
    for (version, outcome) in handled {
        let dash = || "-".to_owned();
        let mut size = version
            .as_ref()
            .map_or_else(dash, |v| output::bytes(v.version.size));
        let (what, key) = match outcome {
            SyncOutcome::Shipped { key, bytes, .. } => {
                shipped += 1;
                size = output::bytes(*bytes);
                ("shipped".to_owned(), format!("s3://{bucket}/{key}"))
            }
            SyncOutcome::AlreadyShipped => ("already shipped".to_owned(), "-".to_owned()),
            SyncOutcome::Superseded { key, .. } => (
                "written, a newer version was recorded".to_owned(),
                format!("s3://{bucket}/{key}"),
            ),
            SyncOutcome::Gone { reason } => (format!("gone from RDS: {reason}"), "-".to_owned()),
            SyncOutcome::Lost { reason } => (format!("lost: {reason}"), "-".to_owned()),
        };
        table.add_row(vec![
            version.as_ref().map_or_else(dash, |v| v.instance.clone()),
            version.as_ref().map_or_else(dash, |v| v.file.clone()),
            size,
            what,
            key,
        ]);
    }
    if !handled.is_empty() {
        println!("{table}");
    }
    let others = handled.len() - shipped;
    let mut summary = format!("shipped {}", output::count(shipped, "file"));
    if others > 0 {
        summary.push_str(&format!(
            ", {others} handled otherwise (the outcome column says how)"
        ));
    }
    summary.push_str(&format!(", {}", output::count(failed, "failed attempt")));
    println!("{summary}");
}
