//! A queue in SQS, by URL: sending (`SendMessageBatch`), receiving with a
//! hold, batch release and delete (ten entries a call), counts and purge.

use std::future::Future;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::BuildError;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

use super::{EntryFailure, MAX_BATCH, ReceivedMessage, ReceivingQueue, WorkQueue, queue_error};
use crate::error::{AwsError, Error, Result};

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    fn error(&self, op: &'static str, source: AwsError) -> Error {
        queue_error(&self.queue_url, op, source)
    }

    /// A batch's entries, each `build` from its id (its position) and item.
    fn entries<E>(
        &self,
        op: &'static str,
        items: &[String],
        build: impl Fn(String, &String) -> std::result::Result<E, BuildError>,
    ) -> Result<Vec<E>> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| build(i.to_string(), item))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.error(op, AwsError::other(e.to_string())))
    }
}

/// The failed entries of a batch answer, indexed into the batch (entry ids
/// are positions) and shifted by `offset`.
fn entry_failures(failed: &[BatchResultErrorEntry], offset: usize) -> Vec<EntryFailure> {
    failed
        .iter()
        .filter_map(|f| {
            Some(EntryFailure {
                index: offset + f.id().parse::<usize>().ok()?,
                reason: format!("{}: {}", f.code(), f.message().unwrap_or("")),
                sender_fault: f.sender_fault(),
            })
        })
        .collect()
}

/// Calls `call` with batches of at most ten receipts and returns the failed
/// entries, indexed into `receipts`.
async fn in_batches<F, Fut>(receipts: &[String], mut call: F) -> Result<Vec<EntryFailure>>
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<BatchResultErrorEntry>>>,
{
    let mut failed = Vec::new();
    for (chunk_no, chunk) in receipts.chunks(MAX_BATCH).enumerate() {
        let errors = call(chunk.to_vec()).await?;
        failed.extend(entry_failures(&errors, chunk_no * MAX_BATCH));
    }
    Ok(failed)
}

impl WorkQueue for SqsQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<EntryFailure>> {
        const OP: &str = "SendMessageBatch";
        let entries = self.entries(OP, bodies, |id, body| {
            SendMessageBatchRequestEntry::builder()
                .id(id)
                .message_body(body)
                .build()
        })?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| self.error(OP, AwsError::from_sdk(e)))?;
        Ok(entry_failures(out.failed(), 0))
    }
}

impl ReceivingQueue for SqsQueue {
    async fn receive(&self, max: usize, hold_secs: i32) -> Result<Vec<ReceivedMessage>> {
        // Long polling asks every SQS server, so an empty answer means empty.
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .visibility_timeout(hold_secs)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.error("ReceiveMessage", AwsError::from_sdk(e)))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let attribute = |name: MessageSystemAttributeName| {
                    m.attributes()
                        .and_then(|a| a.get(&name))
                        .and_then(|v| v.parse().ok())
                };
                Some(ReceivedMessage {
                    id: m.message_id()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    sent_ms: attribute(MessageSystemAttributeName::SentTimestamp),
                    receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                        .map(|n: i64| n.max(0) as u64),
                })
            })
            .collect())
    }

    async fn release(&self, receipts: &[String], after_secs: i32) -> Result<Vec<EntryFailure>> {
        const OP: &str = "ChangeMessageVisibilityBatch";
        in_batches(receipts, |chunk| async move {
            let entries = self.entries(OP, &chunk, |id, receipt| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(receipt)
                    .visibility_timeout(after_secs)
                    .build()
            })?;
            let out = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.error(OP, AwsError::from_sdk(e)))?;
            Ok(out.failed().to_vec())
        })
        .await
    }

    async fn delete(&self, receipts: &[String]) -> Result<Vec<EntryFailure>> {
        const OP: &str = "DeleteMessageBatch";
        in_batches(receipts, |chunk| async move {
            let entries = self.entries(OP, &chunk, |id, receipt| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(receipt)
                    .build()
            })?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.error(OP, AwsError::from_sdk(e)))?;
            Ok(out.failed().to_vec())
        })
        .await
    }

    async fn approximate_len(&self) -> Result<u64> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| self.error("GetQueueAttributes", AwsError::from_sdk(e)))?;
        let count = |name: QueueAttributeName| {
            out.attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }

    async fn purge(&self) -> Result<()> {
        self.client
            .purge_queue()
            .queue_url(&self.queue_url)
            .send()
            .await
            .map_err(|e| self.error("PurgeQueue", AwsError::from_sdk(e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
