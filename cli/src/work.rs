//! `rdslogs work`: receives batches from the work queue the way Lambda's SQS
//! event source does, runs the worker handler, deletes only the successes.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use clap::Args;
use shipper::aws::AwsClients;
use shipper::config::WorkerConfig;
use shipper::worker::SyncOutcome;

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
    /// Seconds before a failed message is visible again (Lambda waits for
    /// the visibility timeout; a short delay suits local runs).
    #[arg(long, default_value_t = 1)]
    retry_delay: i32,
}

/// Lines of what was shipped, printed at the end.
struct Shipped {
    instance: String,
    file: String,
    bytes: u64,
    key: String,
}

pub async fn run(
    clients: &AwsClients,
    config: &WorkerConfig,
    queue_url: &str,
    args: &WorkArgs,
) -> anyhow::Result<()> {
    let worker = clients.worker(config);
    let sqs = &clients.sqs;
    let mut shipped = Vec::new();
    let mut failures = 0usize;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(args.batch_size)
            .visibility_timeout(args.visibility_timeout)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot receive from {queue_url}: {}",
                    shipper::error::AwsError::from_sdk(e)
                )
            })?;
        let messages = received.messages();
        if messages.is_empty() {
            if args.until_empty && queue_is_empty(clients, queue_url).await? {
                break;
            }
            continue;
        }
        let mut event = SqsEvent::default();
        for m in messages {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id().map(str::to_owned);
            record.receipt_handle = m.receipt_handle().map(str::to_owned);
            record.body = m.body().map(str::to_owned);
            record.event_source = Some("aws:sqs".into());
            if let Some(attrs) = m.attributes() {
                for (k, v) in attrs {
                    record.attributes.insert(k.as_str().to_owned(), v.clone());
                }
            }
            event.records.push(record);
        }
        let results = worker.process_batch(event).await;
        let mut deletes = Vec::new();
        for (i, r) in results.iter().enumerate() {
            let handle = messages
                .iter()
                .find(|m| m.message_id() == Some(r.message_id.as_str()))
                .and_then(|m| m.receipt_handle());
            let Some(handle) = handle else { continue };
            match &r.result {
                Ok(outcome) => {
                    if let SyncOutcome::Shipped { key, bytes, .. } = outcome {
                        let request =
                            shipper::message::ShipRequest::parse(messages[i].body().unwrap_or(""));
                        if let Ok(v) = request {
                            shipped.push(Shipped {
                                instance: v.instance,
                                file: v.file,
                                bytes: *bytes,
                                key: key.clone(),
                            });
                        }
                    }
                    deletes.push(
                        DeleteMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .receipt_handle(handle)
                            .build()?,
                    );
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("failed: {e}");
                    sqs.change_message_visibility()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .visibility_timeout(args.retry_delay)
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "cannot release a failed message: {}",
                                shipper::error::AwsError::from_sdk(e)
                            )
                        })?;
                }
            }
        }
        if !deletes.is_empty() {
            sqs.delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(deletes))
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot delete handled messages: {}",
                        shipper::error::AwsError::from_sdk(e)
                    )
                })?;
        }
    }
    println!("{:<16} {:>10}  {:<44} s3 key", "instance", "bytes", "file");
    for s in &shipped {
        println!(
            "{:<16} {:>10}  {:<44} s3://{}/{}",
            s.instance, s.bytes, s.file, config.bucket, s.key
        );
    }
    println!(
        "shipped {} files, {} failed attempts",
        shipped.len(),
        failures
    );
    Ok(())
}

async fn queue_is_empty(clients: &AwsClients, queue_url: &str) -> anyhow::Result<bool> {
    let attrs = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read queue attributes: {}",
                shipper::error::AwsError::from_sdk(e)
            )
        })?;
    let count = |name: QueueAttributeName| {
        attrs
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let pending = count(QueueAttributeName::ApproximateNumberOfMessages)
        + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
    if pending > 0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(pending == 0)
}
