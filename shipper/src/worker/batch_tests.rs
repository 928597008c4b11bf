//! A batch's records at once, and within the invocation's deadline (on
//! tokio's paused clock: no test waits for real time).
use super::*;
use crate::rds::LogStream;
use crate::sink::MemorySink;
use crate::state::MemoryStateTable;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_lambda_events::event::sqs::SqsMessage;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// Serves each file in 10-byte chunks, one per `chunk_delay`, and counts
/// the downloads open at once.
#[derive(Default)]
struct SlowSource {
    files: Mutex<HashMap<String, Vec<u8>>>,
    chunk_delay: Duration,
    open_now: Arc<AtomicUsize>,
    most_open: Arc<AtomicUsize>,
}

impl LogSource for SlowSource {
    fn incarnation(&self, _region: Option<&str>, _instance: &str) -> crate::rds::IncarnationLookup {
        crate::rds::known_incarnation(None)
    }

    async fn open(&self, _region: Option<&str>, _instance: &str, file: &str) -> Result<LogStream> {
        let bytes = self.files.lock().unwrap()[file].clone();
        let now = self.open_now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_open.fetch_max(now, Ordering::SeqCst);
        let (delay, open_now) = (self.chunk_delay, self.open_now.clone());
        let chunks: Vec<Bytes> = bytes.chunks(10).map(Bytes::copy_from_slice).collect();
        let body = futures_util::stream::iter(chunks).then(move |chunk| async move {
            tokio::time::sleep(delay).await;
            Ok(chunk)
        });
        // Closed when the body ends or is dropped.
        let closed = futures_util::stream::once(async move {
            open_now.fetch_sub(1, Ordering::SeqCst);
            None
        })
        .filter_map(std::future::ready);
        Ok(Box::pin(body.chain(closed)))
    }
}

fn worker(
    records_at_once: usize,
    chunk_delay: Duration,
) -> Worker<SlowSource, MemorySink, MemoryStateTable> {
    Worker {
        source: SlowSource {
            chunk_delay,
            ..SlowSource::default()
        },
        sink: MemorySink::default(),
        state: MemoryStateTable::default(),
        layout: KeyLayout::new("{prefix}/{instance}/{file}", "logs", Compression::None).unwrap(),
        batch: BatchSettings {
            records_at_once,
            min_record_time: Duration::from_secs(4),
        },
    }
}

/// A batch of `files` (name, size), each served as `size` bytes.
fn batch(
    w: &Worker<SlowSource, MemorySink, MemoryStateTable>,
    files: &[(&str, usize)],
) -> SqsEvent {
    let mut event = SqsEvent::default();
    for (name, size) in files {
        w.source
            .files
            .lock()
            .unwrap()
            .insert(name.to_string(), vec![b'x'; *size]);
        let mut m = SqsMessage::default();
        m.message_id = Some(name.to_string());
        m.body = Some(
            ShipRequest::new(&LogFileVersion {
                instance: "db-1".into(),
                file: name.to_string(),
                version: FileVersion::new(*size as u64, 1),
                region: None,
                incarnation: None,
            })
            .to_json(),
        );
        event.records.push(m);
    }
    event
}

#[tokio::test(start_paused = true)]
async fn a_batch_ships_its_records_at_once_up_to_the_setting_and_answers_in_order() {
    let w = worker(3, Duration::from_millis(100));
    let files: Vec<(String, usize)> = (0..7).map(|i| (format!("f{i}.log"), 50)).collect();
    let refs: Vec<(&str, usize)> = files.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let results = w.process_batch(batch(&w, &refs)).await;
    assert_eq!(w.source.most_open.load(Ordering::SeqCst), 3);
    let ids: Vec<&str> = results.iter().map(|r| r.message_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "f0.log", "f1.log", "f2.log", "f3.log", "f4.log", "f5.log", "f6.log"
        ]
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r.result, Ok(SyncOutcome::Shipped { .. })))
    );
    assert_eq!(w.sink.keys().len(), 7);
}

#[tokio::test(start_paused = true)]
async fn near_the_deadline_a_download_is_cut_and_recorded_and_the_next_record_waits() {
    // GIVEN one record at a time, 8 s left, and a file that takes 10 s
    let w = worker(1, Duration::from_secs(1));
    let event = batch(
        &w,
        &[("quick.log", 10), ("slow.log", 100), ("next.log", 10)],
    );
    let deadline = Instant::now() + Duration::from_secs(8);
    // WHEN the batch runs
    let response = w.handle_batch_until(event, Some(deadline)).await;
    // THEN the quick file shipped, the slow one was cut before the deadline
    // with nothing left in S3, and the last was not started
    assert!(Instant::now() <= deadline);
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["slow.log", "next.log"]);
    assert_eq!(w.sink.keys(), ["logs/db-1/quick.log"]);
    let slow = w.state.get("db-1", "slow.log").await.unwrap().unwrap();
    let failure = slow.failure.unwrap();
    assert_eq!(failure.reason, "timed_out");
    assert!(
        failure.last_error.contains("after 50 bytes"),
        "{}",
        failure.last_error
    );
    assert!(!failure.permanent);
    // AND a record not started counts no failure against its file
    assert_eq!(w.state.get("db-1", "next.log").await.unwrap(), None);
}
