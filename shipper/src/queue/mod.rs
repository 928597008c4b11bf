//! The queues: a port that sends (a batch of at most ten bodies) and one
//! that receives and settles messages, the SQS adapter of both, an
//! in-memory one, and the batching and retry around them.

mod memory;
mod sqs;

use std::future::Future;
use std::time::Duration;

pub use memory::MemoryQueue;
pub use sqs::SqsQueue;

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

/// Sending to a queue: the lister, backfill and redrive.
pub trait WorkQueue: Send + Sync {
    /// Sends up to [`MAX_BATCH`] message bodies; returns the entries that failed.
    fn send_batch(
        &self,
        bodies: &[String],
    ) -> impl Future<Output = Result<Vec<EntryFailure>>> + Send;
}

/// One message as received, held from other readers until released,
/// deleted, or its hold ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// SQS's message id; it stays the same when SQS moves the message to the
    /// dead-letter queue, and changes when `rdslogs` redrives it.
    pub id: String,
    /// The receipt handle of this receive, valid while the message is held.
    pub receipt: String,
    pub body: String,
    /// When the message was first sent (SQS keeps the original time when it
    /// moves a message to the dead-letter queue).
    pub sent_ms: Option<i64>,
    /// Receives so far, this one included.
    pub receive_count: Option<u64>,
}

/// Receiving from a queue and settling what was received: the poller of
/// `rdslogs work` and the dead-letter commands. Batches of at most
/// [`MAX_BATCH`] are the adapter's business.
pub trait ReceivingQueue: Send + Sync {
    /// Up to `max` (at most ten) visible messages, each hidden for
    /// `hold_secs` from now; waits up to a second for the first.
    fn receive(
        &self,
        max: usize,
        hold_secs: i32,
    ) -> impl Future<Output = Result<Vec<ReceivedMessage>>> + Send;

    /// Makes held messages visible again `after_secs` from now (0: at once);
    /// returns what could not be released (those come back by themselves
    /// when their hold ends).
    fn release(
        &self,
        receipts: &[String],
        after_secs: i32,
    ) -> impl Future<Output = Result<Vec<EntryFailure>>> + Send;

    /// Deletes held messages; returns the entries that were not deleted.
    fn delete(&self, receipts: &[String])
    -> impl Future<Output = Result<Vec<EntryFailure>>> + Send;

    /// The queue's approximate count of visible and held messages.
    fn approximate_len(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Deletes every message (SQS allows one purge a minute).
    fn purge(&self) -> impl Future<Output = Result<()>> + Send;
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
