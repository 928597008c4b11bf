//! Enqueueing file versions, the one way the lister and `rdslogs backfill`
//! do it: send to the work queue first, then record each sent version as
//! enqueued. A crash in between only enqueues a version once more, which
//! the worker skips; the other order could record a version never sent.

use crate::error::Error;
use crate::message::ShipRequest;
use crate::queue::{WorkQueue, enqueue_all};
use crate::state::FileStates;
use crate::version::LogFileVersion;

/// What became of one version.
#[derive(Debug)]
pub enum Enqueued {
    /// Sent and recorded as enqueued.
    Recorded,
    /// Sent, but the state table did not take the record: the worker ships
    /// it all the same and records it then.
    NotRecorded(Error),
    /// Not on the queue, with why (the next cycle tries again).
    NotSent(String),
}

/// Sends every version (in batches) and records the sent ones, in the
/// order given; one result per version.
pub async fn send_and_record<Q: WorkQueue, S: FileStates>(
    queue: &Q,
    state: &S,
    versions: &[LogFileVersion],
    now_ms: i64,
) -> Vec<Enqueued> {
    let bodies: Vec<String> = versions
        .iter()
        .map(|v| ShipRequest::new(v).to_json())
        .collect();
    let sent = enqueue_all(queue, &bodies).await;
    let mut results: Vec<Option<Enqueued>> = versions.iter().map(|_| None).collect();
    for (index, reason) in sent.failed {
        results[index] = Some(Enqueued::NotSent(reason));
    }
    let records = sent.sent.iter().map(|&index| async move {
        (index, state.record_enqueued(&versions[index], now_ms).await)
    });
    for (index, recorded) in futures_util::future::join_all(records).await {
        results[index] = Some(match recorded {
            Ok(()) => Enqueued::Recorded,
            Err(e) => Enqueued::NotRecorded(e),
        });
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Enqueued::NotSent("not sent".into())))
        .collect()
}
