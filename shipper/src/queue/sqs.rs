//! The work queue in SQS (`SendMessageBatch`).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::{EntryFailure, WorkQueue, queue_error};
use crate::error::{AwsError, Result};

#[derive(Debug, Clone)]
pub struct SqsWorkQueue {
    client: Client,
    queue_url: String,
}

impl SqsWorkQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl WorkQueue for SqsWorkQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<EntryFailure>> {
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| {
                queue_error(
                    &self.queue_url,
                    "SendMessageBatch",
                    AwsError::other(e.to_string()),
                )
            })?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| queue_error(&self.queue_url, "SendMessageBatch", AwsError::from_sdk(e)))?;
        Ok(out
            .failed()
            .iter()
            .filter_map(|f| {
                Some(EntryFailure {
                    index: f.id().parse().ok()?,
                    reason: format!("{}: {}", f.code(), f.message().unwrap_or("")),
                    sender_fault: f.sender_fault(),
                })
            })
            .collect())
    }
}
