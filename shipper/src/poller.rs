//! Polls the work queue the way Lambda's SQS event source does: receive a
//! batch, run the worker handler, delete only the successes, and let failed
//! records come back (and reach the dead-letter queue after maxReceiveCount).

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};

use crate::error::{AwsError, Result};
use crate::queue::queue_error;
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
pub async fn poll<Src, Snk, St>(
    sqs: &Client,
    queue_url: &str,
    worker: &Worker<Src, Snk, St>,
    options: &PollOptions,
    mut on_result: impl FnMut(RecordResult),
) -> Result<()>
where
    Src: LogSource,
    Snk: ObjectSink,
    St: FileStates,
{
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(options.batch_size)
            .visibility_timeout(options.visibility_timeout)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| queue_error(queue_url, "ReceiveMessage", AwsError::from_sdk(e)))?;
        let messages = received.messages();
        if messages.is_empty() {
            if options.until_empty && queue_is_empty(sqs, queue_url).await? {
                return Ok(());
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
            for (k, v) in m.attributes().into_iter().flatten() {
                record.attributes.insert(k.as_str().to_owned(), v.clone());
            }
            event.records.push(record);
        }
        let results = worker.process_batch(event).await;
        let mut deletes = Vec::new();
        for (i, (result, message)) in results.into_iter().zip(messages).enumerate() {
            let succeeded = result.result.is_ok();
            on_result(result);
            let Some(handle) = message.receipt_handle() else {
                continue;
            };
            if succeeded {
                let entry = DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .map_err(|e| {
                        queue_error(
                            queue_url,
                            "DeleteMessageBatch",
                            AwsError::other(e.to_string()),
                        )
                    })?;
                deletes.push(entry);
            } else {
                sqs.change_message_visibility()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(options.retry_delay)
                    .send()
                    .await
                    .map_err(|e| {
                        queue_error(queue_url, "ChangeMessageVisibility", AwsError::from_sdk(e))
                    })?;
            }
        }
        if !deletes.is_empty() {
            sqs.delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(deletes))
                .send()
                .await
                .map_err(|e| queue_error(queue_url, "DeleteMessageBatch", AwsError::from_sdk(e)))?;
        }
    }
}

async fn queue_is_empty(sqs: &Client, queue_url: &str) -> Result<bool> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| queue_error(queue_url, "GetQueueAttributes", AwsError::from_sdk(e)))?;
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
