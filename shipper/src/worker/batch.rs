//! A batch of SQS records: shipped some at once, within the invocation's
//! deadline, answered as a partial batch response.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::StreamExt;
use tokio::time::Instant;
use tracing::Instrument;

use super::SyncOutcome;
use super::Worker;
use crate::error::{Error, OUTCOME_LOG, Result};
use crate::message::ShipRequest;
use crate::now_ms;
use crate::rds::LogSource;
use crate::sink::ObjectSink;
use crate::state::FileStates;
use crate::version::LogFileVersion;

/// At most this long before the deadline a running download is cut: time
/// to abort its upload and record why (less with a short minimum record time).
const FINISH_MARGIN: Duration = Duration::from_secs(10);

impl<Src: LogSource, Snk: ObjectSink, St: FileStates> Worker<Src, Snk, St> {
    /// Handles every record of a batch on its own, `batch.records_at_once`
    /// at a time; results come back in the batch's order.
    pub async fn process_batch(&self, event: SqsEvent) -> Vec<RecordResult> {
        self.process_batch_until(event, None).await
    }

    /// `process_batch` within an invocation that ends at `deadline`: a
    /// record is not started with less than `batch.min_record_time` left
    /// (it fails as `Deferred`, with no failure recorded against its file),
    /// and a download still running near the deadline is cut, its upload
    /// aborted, and recorded as timed out.
    pub async fn process_batch_until(
        &self,
        event: SqsEvent,
        deadline: Option<Instant>,
    ) -> Vec<RecordResult> {
        // Time to abort a cut upload and record why, before the deadline.
        let cut_at = deadline.map(|d| d - (self.batch.min_record_time / 2).min(FINISH_MARGIN));
        futures_util::stream::iter(event.records)
            .map(|record| async move {
                let message_id = record.message_id.clone().unwrap_or_default();
                let body = record.body.as_deref().unwrap_or("");
                let span = tracing::info_span!(
                    "message",
                    message_id = %message_id,
                    instance = tracing::field::Empty,
                    file = tracing::field::Empty
                );
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                let (version, result) = match left {
                    Some(left) if left < self.batch.min_record_time => (
                        ShipRequest::parse(body).ok(),
                        Err(Error::Deferred {
                            left_ms: left.as_millis() as u64,
                        }),
                    ),
                    _ => {
                        self.handle_record(body, cut_at)
                            .instrument(span.clone())
                            .await
                    }
                };
                let _entered = span.enter();
                match &result {
                    Ok(outcome) => tracing::info!(outcome = ?outcome, "done"),
                    Err(e) => {
                        tracing::error!(target: OUTCOME_LOG, error = %e, transient = e.is_transient(), reason = e.reason_code(), "failed")
                    }
                }
                RecordResult {
                    message_id,
                    version,
                    result,
                }
            })
            .buffered(self.batch.records_at_once.max(1))
            .collect()
            .await
    }

    /// The SQS handler: failed records are returned as `batchItemFailures`
    /// so SQS redelivers only them.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_batch_until(event, None).await
    }

    /// `handle_batch` within an invocation that ends at `deadline`.
    pub async fn handle_batch_until(
        &self,
        event: SqsEvent,
        deadline: Option<Instant>,
    ) -> SqsBatchResponse {
        let results = self.process_batch_until(event, deadline).await;
        crate::metrics::record_batch(&results, now_ms());
        batch_response(&results)
    }
}

/// How one SQS record ended.
#[derive(Debug)]
pub struct RecordResult {
    pub message_id: String,
    /// The file version the record asked for, when it could be parsed.
    pub version: Option<LogFileVersion>,
    pub result: Result<SyncOutcome>,
}

/// The partial batch response for a set of record results.
pub fn batch_response(results: &[RecordResult]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for r in results.iter().filter(|r| r.result.is_err()) {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = r.message_id.clone();
        response.batch_item_failures.push(failure);
    }
    response
}
