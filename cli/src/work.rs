//! `rdslogs work`: drains the work queue with the worker handler, the way
//! Lambda's SQS event source would, and prints what was shipped.

use clap::Args;
use shipper::aws::AwsClients;
use shipper::config::WorkerConfig;
use shipper::poller::{PollOptions, poll};
use shipper::worker::SyncOutcome;

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
) -> anyhow::Result<()> {
    let worker = clients.worker(config);
    let options = PollOptions {
        batch_size: args.batch_size,
        visibility_timeout: args.visibility_timeout,
        retry_delay: args.retry_delay,
        until_empty: args.until_empty,
    };
    let mut shipped = Vec::new();
    let mut failed = 0usize;
    let spinner = output::spinner("messages handled", false);
    let polled = poll(
        &clients.sqs,
        queue_url,
        &worker,
        &options,
        |record| {
            spinner.inc(1);
            match (record.result, record.version) {
                (Ok(SyncOutcome::Shipped { key, bytes, .. }), Some(v)) => {
                    shipped.push((v.instance, v.file, bytes, key));
                }
                (Ok(_), _) => {}
                (Err(e), _) => {
                    failed += 1;
                    spinner.suspend(|| eprintln!("failed, left on the queue (after maxReceiveCount it moves to the dead-letter queue): {e}"));
                }
            }
        },
    )
    .await;
    spinner.finish_and_clear();
    polled?;
    println!("{:<16} {:>10}  {:<44} s3 key", "instance", "bytes", "file");
    for (instance, file, bytes, key) in &shipped {
        println!(
            "{instance:<16} {bytes:>10}  {file:<44} s3://{}/{key}",
            config.bucket
        );
    }
    println!("shipped {} files, {failed} failed attempts", shipped.len());
    Ok(())
}
