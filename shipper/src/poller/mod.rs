//! Polls the work queue the way Lambda's SQS event source does: receive a
//! batch, run the worker handler, delete only the successes, and let failed
//! records come back (and reach the dead-letter queue after maxReceiveCount).

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

use crate::error::Result;
use crate::queue::{ReceivedMessage, ReceivingQueue};
use crate::rds::LogSource;
use crate::sink::ObjectSink;
use crate::state::FileStates;
use crate::worker::{RecordResult, Worker};

#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Messages per batch, 1 to 10.
    pub batch_size: i32,
    /// Seconds a received message stays hidden while it is handled.
    pub visibility_timeout: i32,
    /// Seconds before a failed message is visible again. Lambda waits out the
    /// visibility timeout; a short delay suits local runs.
    pub retry_delay: i32,
    /// Return once the queue has no visible and no in-flight message.
    pub until_empty: bool,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            batch_size: 10,
            visibility_timeout: 300,
            retry_delay: 1,
            until_empty: true,
        }
    }
}

/// Polls until the queue is empty (or forever without `until_empty`),
/// calling `on_result` for each handled record.
pub async fn poll<Q, Src, Snk, St>(
    queue: &Q,
    worker: &Worker<Src, Snk, St>,
    options: &PollOptions,
    mut on_result: impl FnMut(RecordResult),
) -> Result<()>
where
    Q: ReceivingQueue,
    Src: LogSource,
    Snk: ObjectSink,
    St: FileStates,
{
    let batch_size = options.batch_size.clamp(1, 10) as usize;
    loop {
        let messages = queue
            .receive(batch_size, options.visibility_timeout)
            .await?;
        if messages.is_empty() {
            if options.until_empty && queue.approximate_len().await? == 0 {
                return Ok(());
            }
            // In flight elsewhere, or not yet visible again.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = messages.iter().map(event_record).collect();
        let results = worker.process_batch(event).await;
        let (mut succeeded, mut failed) = (Vec::new(), Vec::new());
        for (result, message) in results.into_iter().zip(&messages) {
            let settle = if result.result.is_ok() {
                &mut succeeded
            } else {
                &mut failed
            };
            settle.push(message.receipt.clone());
            on_result(result);
        }
        // An entry the queue could not delete or release comes back when
        // its hold ends, and SQS delivers it again: nothing is lost.
        if !succeeded.is_empty() {
            queue.delete(&succeeded).await?;
        }
        if !failed.is_empty() {
            queue.release(&failed, options.retry_delay).await?;
        }
    }
}

/// The record Lambda's event source would hand the worker for a message.
fn event_record(message: &ReceivedMessage) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(message.id.clone());
    record.receipt_handle = Some(message.receipt.clone());
    record.body = Some(message.body.clone());
    record.event_source = Some("aws:sqs".into());
    if let Some(count) = message.receive_count {
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), count.to_string());
    }
    if let Some(sent) = message.sent_ms {
        record
            .attributes
            .insert("SentTimestamp".into(), sent.to_string());
    }
    record
}

#[cfg(test)]
mod tests;
