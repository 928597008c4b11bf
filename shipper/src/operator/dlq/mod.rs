//! The dead-letter queue as an operator handles it: read every message
//! without consuming it, join each with the state table, move some back.

mod entry;

use std::collections::{BTreeSet, HashMap};

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

pub use entry::{DlqEntry, EntryState, IdMatch, Selector, resolve_id};

use crate::error::Result;
use crate::queue::{
    EntryFailure, MAX_BATCH, ReceivedMessage, ReceivingQueue, WorkQueue, enqueue_all,
};
use crate::state::FileStates;
use crate::version::FileState;

/// State table reads in flight at once while joining.
const STATE_READS: usize = 8;

/// A message received from the dead-letter queue.
pub type DeadLetter = ReceivedMessage;

/// Every message read from the queue, each held until released or moved.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Distinct messages in the order they were received.
    pub letters: Vec<DeadLetter>,
    /// False when the scan stopped before the queue ran dry: the limit was
    /// reached, or held messages came back because the hold was too short.
    pub complete: bool,
}

/// Reads the queue until a receive comes back empty, holding every message
/// for `hold_secs` so each is seen once, up to `limit` messages (a last
/// batch may add up to nine more). `progress` gets the running count. On an
/// error, what was received is released before the error is returned.
pub async fn scan<Q: ReceivingQueue>(
    dlq: &Q,
    limit: usize,
    hold_secs: i32,
    mut progress: impl FnMut(usize),
) -> Result<Scan> {
    let mut scan = Scan::default();
    let mut position: HashMap<String, usize> = HashMap::new();
    loop {
        let batch = match dlq.receive(MAX_BATCH, hold_secs).await {
            Ok(batch) => batch,
            Err(e) => {
                release_all(dlq, &scan.letters).await;
                return Err(e);
            }
        };
        if batch.is_empty() {
            scan.complete = true;
            break;
        }
        let mut new = 0;
        for letter in batch {
            match position.get(&letter.id) {
                // Seen before: its hold ran out. Keep the newest receipt.
                Some(&i) => scan.letters[i] = letter,
                None => {
                    position.insert(letter.id.clone(), scan.letters.len());
                    scan.letters.push(letter);
                    new += 1;
                }
            }
        }
        progress(scan.letters.len());
        if new == 0 {
            tracing::warn!(
                hold_secs,
                "held messages came back before the scan ended; stopping"
            );
            break;
        }
        if scan.letters.len() >= limit {
            break;
        }
    }
    Ok(scan)
}

/// Makes messages visible again; failures only delay them until their hold
/// ends, so they are logged, not returned.
pub async fn release_all<Q: ReceivingQueue>(dlq: &Q, letters: &[DeadLetter]) {
    let receipts: Vec<String> = letters.iter().map(|l| l.receipt.clone()).collect();
    match dlq.release(&receipts, 0).await {
        Ok(failures) => {
            for f in failures {
                tracing::warn!(
                    reason = f.reason,
                    "message stays hidden until its hold ends"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "messages stay hidden until their hold ends"),
    }
}

/// Joins each message with its file's state table record, one read per
/// distinct file.
pub async fn entries<S: FileStates>(
    state: &S,
    letters: &[DeadLetter],
    now_ms: i64,
) -> Result<Vec<DlqEntry>> {
    let files: BTreeSet<(String, String)> = letters
        .iter()
        .filter_map(|l| entry::parse(&l.body).0)
        .collect();
    let states: HashMap<(String, String), FileState> = stream::iter(files)
        .map(|(instance, file)| async move {
            let found = state.get(&instance, &file).await?;
            Ok::<_, crate::Error>(found.map(|s| ((instance, file), s)))
        })
        .buffer_unordered(STATE_READS)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await?;
    Ok(letters
        .iter()
        .map(|l| {
            let found = entry::parse(&l.body).0.and_then(|key| states.get(&key));
            DlqEntry::new(l, found, now_ms)
        })
        .collect())
}

/// What a redrive did, by message id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    pub dry_run: bool,
    /// Messages the selection matched.
    pub selected: Vec<String>,
    /// Sent to the work queue and deleted from the dead-letter queue.
    pub moved: Vec<String>,
    /// Not sent; they stay in the dead-letter queue.
    pub not_sent: Vec<(String, String)>,
    /// Sent but not deleted: they are on both queues and will be shipped
    /// once (the worker skips a version already shipped).
    pub not_deleted: Vec<(String, String)>,
}

impl RedriveReport {
    /// True when every selected message was moved (or would be, dry).
    pub fn all_moved(&self) -> bool {
        self.dry_run || (self.not_sent.is_empty() && self.not_deleted.is_empty())
    }
}

/// Moves the selected messages of a scan to the work queue: send first,
/// delete after, so a crash in between duplicates a message rather than
/// losing it. Everything not moved is released. `progress` gets the number
/// of selected messages handled so far.
pub async fn redrive<D: ReceivingQueue, W: WorkQueue>(
    dlq: &D,
    work: &W,
    scan: Scan,
    selector: &Selector,
    dry_run: bool,
    mut progress: impl FnMut(usize),
) -> RedriveReport {
    let (selected, mut keep): (Vec<DeadLetter>, Vec<DeadLetter>) =
        scan.letters.into_iter().partition(|l| selector.matches(l));
    let mut report = RedriveReport {
        dry_run,
        selected: selected.iter().map(|l| l.id.clone()).collect(),
        ..RedriveReport::default()
    };
    if dry_run {
        keep.extend(selected);
        release_all(dlq, &keep).await;
        return report;
    }
    let mut handled = 0;
    for chunk in selected.chunks(MAX_BATCH) {
        let bodies: Vec<String> = chunk.iter().map(|l| l.body.clone()).collect();
        let sent = enqueue_all(work, &bodies).await;
        for (i, reason) in sent.failed {
            report.not_sent.push((chunk[i].id.clone(), reason));
            keep.push(chunk[i].clone());
        }
        let sent: Vec<&DeadLetter> = sent.sent.iter().map(|&i| &chunk[i]).collect();
        let receipts: Vec<String> = sent.iter().map(|l| l.receipt.clone()).collect();
        let failures = dlq.delete(&receipts).await.unwrap_or_else(|e| {
            (0..receipts.len())
                .map(|index| EntryFailure {
                    index,
                    reason: e.to_string(),
                    sender_fault: false,
                })
                .collect()
        });
        for (i, letter) in sent.iter().enumerate() {
            match failures.iter().find(|f| f.index == i) {
                Some(f) => report
                    .not_deleted
                    .push((letter.id.clone(), f.reason.clone())),
                None => report.moved.push(letter.id.clone()),
            }
        }
        handled += chunk.len();
        progress(handled);
    }
    release_all(dlq, &keep).await;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ShipRequest;
    use crate::queue::MemoryQueue;

    fn body(instance: &str, file: &str) -> String {
        format!(
            r#"{{"schema":1,"instance":"{instance}","file":"{file}","size":3,"last_written_ms":5}}"#
        )
    }

    fn dlq_with(n: usize) -> MemoryQueue {
        let dlq = MemoryQueue::default();
        for i in 0..n {
            let instance = if i % 2 == 0 { "db-even" } else { "db-odd" };
            dlq.push(&body(instance, &format!("f{i}.log")));
        }
        dlq
    }

    #[tokio::test]
    async fn a_scan_reads_more_than_one_batch_and_consumes_nothing() {
        let dlq = dlq_with(23);
        let mut seen = Vec::new();
        let scan = scan(&dlq, 1000, 60, |n| seen.push(n)).await.unwrap();
        assert!(scan.complete);
        assert_eq!(scan.letters.len(), 23);
        assert_eq!(seen, [10, 20, 23]);
        release_all(&dlq, &scan.letters).await;
        assert_eq!(dlq.visible(), 23);
    }

    #[tokio::test]
    async fn a_scan_stops_at_the_limit_and_says_so() {
        let dlq = dlq_with(25);
        let scan = scan(&dlq, 10, 60, |_| {}).await.unwrap();
        assert!(!scan.complete);
        assert_eq!(scan.letters.len(), 10);
    }

    #[tokio::test]
    async fn a_scan_whose_hold_runs_out_stops_instead_of_looping() {
        let dlq = dlq_with(3);
        dlq.holds_expire_at_once();
        let scan = scan(&dlq, 1000, 60, |_| {}).await.unwrap();
        assert!(!scan.complete);
        assert_eq!(scan.letters.len(), 3);
    }

    #[tokio::test]
    async fn redrive_moves_only_the_selection_and_releases_the_rest() {
        let dlq = dlq_with(12);
        let work = MemoryQueue::default();
        let scanned = scan(&dlq, 1000, 60, |_| {}).await.unwrap();
        let selector = Selector::Instance("db-odd".into());
        let report = redrive(&dlq, &work, scanned, &selector, false, |_| {}).await;
        assert_eq!(report.moved.len(), 6);
        assert!(report.all_moved());
        assert_eq!(work.bodies().len(), 6);
        assert!(work.bodies().iter().all(|b| b.contains("db-odd")));
        assert_eq!(dlq.visible(), 6, "the others are visible again");
        assert_eq!(dlq.len(), 6);
    }

    #[tokio::test]
    async fn entries_join_each_message_with_its_files_record() {
        use crate::state::{FailureNote, MemoryStateTable};
        let dlq = dlq_with(3);
        let state = MemoryStateTable::default();
        let failed = ShipRequest::parse(&body("db-odd", "f1.log")).unwrap();
        let note = FailureNote {
            error: "AccessDenied",
            reason: "download",
            permanent: true,
        };
        state.record_failure(&failed, &note, 7).await.unwrap();
        let scanned = scan(&dlq, 1000, 60, |_| {}).await.unwrap();
        let joined = entries(&state, &scanned.letters, 10).await.unwrap();
        let states: Vec<EntryState> = joined.iter().map(|e| e.state).collect();
        assert_eq!(
            states,
            [
                EntryState::Unrecorded,
                EntryState::Failing,
                EntryState::Unrecorded
            ]
        );
        assert_eq!(joined[1].failure().unwrap().last_error, "AccessDenied");
    }

    #[tokio::test]
    async fn a_dry_run_moves_nothing() {
        let dlq = dlq_with(4);
        let work = MemoryQueue::default();
        let scanned = scan(&dlq, 1000, 60, |_| {}).await.unwrap();
        let report = redrive(&dlq, &work, scanned, &Selector::All, true, |_| {}).await;
        assert_eq!(report.selected.len(), 4);
        assert!(report.moved.is_empty());
        assert!(work.bodies().is_empty());
        assert_eq!(dlq.visible(), 4);
    }

    #[tokio::test]
    async fn a_message_that_cannot_be_sent_stays_and_one_not_deleted_is_reported() {
        // GIVEN three messages, the work queue refusing one of them
        let dlq = dlq_with(3);
        let work = MemoryQueue::default();
        work.fail_next_entries(10);
        dlq.fail_next_deletes(1);
        let scanned = scan(&dlq, 1000, 60, |_| {}).await.unwrap();
        let report = redrive(&dlq, &work, scanned, &Selector::All, false, |_| {}).await;
        // THEN the unsent one is still in the dead-letter queue, visible
        assert_eq!(report.not_sent.len(), 1, "{report:?}");
        assert_eq!(report.not_deleted.len(), 1, "{report:?}");
        assert_eq!(report.moved.len(), 1);
        assert!(!report.all_moved());
        assert_eq!(work.bodies().len(), 2, "sent before any delete");
        assert_eq!(dlq.len(), 2);
    }
}
