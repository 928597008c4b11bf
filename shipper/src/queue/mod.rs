//! The work queue: one trait that sends a batch of at most ten bodies, the
//! SQS adapter, an in-memory one, and the batching and retry around them.

mod memory;
mod sqs;

use std::future::Future;
use std::time::Duration;

pub use memory::MemoryQueue;
pub use sqs::SqsWorkQueue;

use crate::error::{AwsCall, AwsError, Error, Result};
use crate::retry::RetryPolicy;

/// SQS's limit on entries per `SendMessageBatch`.
pub const MAX_BATCH: usize = 10;

/// How entries a batch reports as failed are sent again: three more tries,
/// waiting up to 200, 400 and 800 ms.
const ENTRY_RETRY: RetryPolicy = RetryPolicy {
    attempts: 4,
    base: Duration::from_millis(200),
    cap: Duration::from_millis(800),
};

/// An SQS call on `queue_url` that failed, with the fix of a permanent error
/// named for the IAM action the operation needs.
pub fn queue_error(queue_url: &str, op: &'static str, source: AwsError) -> Error {
    // The batch operations are authorised as their single-message actions.
    let action = format!("sqs:{}", op.trim_end_matches("Batch"));
    let resource = format!("queue {queue_url}");
    Error::Queue {
        queue: queue_url.to_owned(),
        op,
        source: source.in_call(AwsCall {
            action: &action,
            resource: &resource,
        }),
    }
}

/// One entry of a batch that the queue did not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    /// Index of the entry in the batch that was sent.
    pub index: usize,
    pub reason: String,
    /// True when the entry itself is at fault and sending it again cannot help.
    pub sender_fault: bool,
}

pub trait WorkQueue: Send + Sync {
    /// Sends up to [`MAX_BATCH`] message bodies; returns the entries that failed.
    fn send_batch(
        &self,
        bodies: &[String],
    ) -> impl Future<Output = Result<Vec<EntryFailure>>> + Send;
}

/// Which bodies were sent and which were not, by index into the input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EnqueueReport {
    pub sent: Vec<usize>,
    pub failed: Vec<(usize, String)>,
}

/// Sends every body in batches of ten, retrying entries that failed for
/// reasons other than their own content. A whole batch call that fails
/// counts all its entries as failed, so no body is silently skipped.
pub async fn enqueue_all<Q: WorkQueue>(queue: &Q, bodies: &[String]) -> EnqueueReport {
    let mut report = EnqueueReport::default();
    for (chunk_no, chunk) in bodies.chunks(MAX_BATCH).enumerate() {
        let base = chunk_no * MAX_BATCH;
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        for attempt in 1..=ENTRY_RETRY.attempts {
            if attempt > 1 {
                ENTRY_RETRY.wait(attempt - 1).await;
            }
            let batch: Vec<String> = pending.iter().map(|&i| chunk[i].clone()).collect();
            let failures = match queue.send_batch(&batch).await {
                Ok(f) => f,
                Err(e) => (0..batch.len())
                    .map(|index| EntryFailure {
                        index,
                        reason: e.to_string(),
                        sender_fault: false,
                    })
                    .collect(),
            };
            let failed_positions: Vec<usize> = failures.iter().map(|f| f.index).collect();
            for (pos, &i) in pending.iter().enumerate() {
                if !failed_positions.contains(&pos) {
                    report.sent.push(base + i);
                }
            }
            let last = attempt == ENTRY_RETRY.attempts;
            let mut retry = Vec::new();
            for failure in failures {
                let Some(&i) = pending.get(failure.index) else {
                    continue;
                };
                if failure.sender_fault || last {
                    report.failed.push((base + i, failure.reason));
                } else {
                    retry.push(i);
                }
            }
            pending = retry;
            if pending.is_empty() {
                break;
            }
        }
    }
    report.sent.sort_unstable();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sends_in_batches_of_ten_and_retries_failed_entries() {
        let queue = MemoryQueue::default();
        queue.fail_next_entries(3);
        let bodies: Vec<String> = (0..23).map(|i| format!("m{i}")).collect();
        let report = enqueue_all(&queue, &bodies).await;
        assert_eq!(report.sent, (0..23).collect::<Vec<_>>());
        assert!(report.failed.is_empty());
        let mut got = queue.bodies();
        got.sort();
        let mut want = bodies.clone();
        want.sort();
        assert_eq!(got, want);
        assert!(queue.batch_sizes().iter().all(|&n| n <= MAX_BATCH));
    }

    #[tokio::test]
    async fn entries_that_keep_failing_are_reported_not_dropped() {
        let queue = MemoryQueue::default();
        queue.fail_next_entries(100);
        let bodies: Vec<String> = (0..2).map(|i| format!("m{i}")).collect();
        let report = enqueue_all(&queue, &bodies).await;
        assert!(report.sent.is_empty());
        assert_eq!(report.failed.len(), 2);
    }
}
