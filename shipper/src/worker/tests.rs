//! Unit tests of the worker with an in-memory source, sink and state.
use super::*;
use crate::layout::Compression;
use crate::rds::LogStream;
use crate::sink::MemorySink;
use crate::state::MemoryStateTable;
use crate::version::FileVersion;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_lambda_events::event::sqs::SqsMessage;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct FakeSource {
    pub(crate) files: Mutex<HashMap<String, Vec<u8>>>,
    /// The `DbiResourceId` RDS reports for the instance now.
    serving: Mutex<Option<String>>,
}

impl LogSource for FakeSource {
    fn incarnation(&self, _region: Option<&str>, _instance: &str) -> crate::rds::IncarnationLookup {
        crate::rds::known_incarnation(self.serving.lock().unwrap().clone())
    }

    async fn open(&self, _region: Option<&str>, instance: &str, file: &str) -> Result<LogStream> {
        let bytes = self
            .files
            .lock()
            .unwrap()
            .get(file)
            .cloned()
            .ok_or_else(|| Error::LogFileGone {
                instance: instance.into(),
                file: file.into(),
                reason: "DBLogFileNotFoundFault".into(),
            })?;
        Ok(Box::pin(futures_util::stream::iter(vec![Ok(Bytes::from(
            bytes,
        ))])))
    }
}

pub(crate) fn worker() -> Worker<FakeSource, MemorySink, MemoryStateTable> {
    Worker {
        source: FakeSource::default(),
        sink: MemorySink::default(),
        state: MemoryStateTable::default(),
        // The old flat layout keeps these tests about shipping, not keys.
        layout: KeyLayout::new("{prefix}/{instance}/{file}", "logs", Compression::None).unwrap(),
        batch: Default::default(),
    }
}

pub(crate) fn body(file: &str, size: u64, lw: i64) -> String {
    ShipRequest::new(&LogFileVersion {
        instance: "db-1".into(),
        file: file.into(),
        version: FileVersion::new(size, lw),
        region: None,
        incarnation: None,
    })
    .to_json()
}

fn record(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body.into());
    m
}

#[tokio::test]
async fn a_malformed_record_fails_alone() {
    let w = worker();
    w.source
        .files
        .lock()
        .unwrap()
        .insert("a.log".into(), b"hello".to_vec());
    let mut event = SqsEvent::default();
    event.records = vec![
        record("good", &body("a.log", 5, 1)),
        record("bad", "{not json"),
    ];
    let response = w.handle_batch(event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["bad"]);
    assert_eq!(w.sink.object("logs/db-1/a.log").unwrap(), b"hello");
}

#[tokio::test]
async fn a_shorter_body_than_listed_is_not_stored_and_fails() {
    let w = worker();
    w.source
        .files
        .lock()
        .unwrap()
        .insert("a.log".into(), b"hel".to_vec());
    let err = w.handle_message(&body("a.log", 5, 1)).await.unwrap_err();
    assert!(
        err.to_string().contains("body ended after 3 bytes"),
        "{err}"
    );
    assert!(w.sink.keys().is_empty());
    let state = w.state.get("db-1", "a.log").await.unwrap().unwrap();
    assert_eq!(state.failure.unwrap().attempts, 1);
}

#[tokio::test]
async fn an_already_shipped_version_is_skipped_and_state_never_goes_back() {
    let w = worker();
    w.source
        .files
        .lock()
        .unwrap()
        .insert("a.log".into(), b"hello world".to_vec());
    let shipped = w.handle_message(&body("a.log", 11, 5)).await.unwrap();
    assert!(matches!(shipped, SyncOutcome::Shipped { bytes: 11, .. }));
    assert_eq!(
        w.handle_message(&body("a.log", 11, 5)).await.unwrap(),
        SyncOutcome::AlreadyShipped
    );
    assert_eq!(
        w.handle_message(&body("a.log", 5, 4)).await.unwrap(),
        SyncOutcome::AlreadyShipped
    );
    let state = w.state.get("db-1", "a.log").await.unwrap().unwrap();
    assert_eq!(state.shipped.unwrap().version, FileVersion::new(11, 5));
}

#[tokio::test]
async fn a_vanished_file_is_a_recorded_final_outcome() {
    let w = worker();
    let outcome = w.handle_message(&body("gone.log", 5, 1)).await.unwrap();
    assert!(matches!(outcome, SyncOutcome::Gone { .. }));
    let failure = state_of(&w, "gone.log").await.failure.unwrap();
    assert!(failure.permanent);
    assert_eq!(failure.reason, "log_file_gone");
}

#[tokio::test]
async fn a_message_whose_key_s3_would_refuse_fails_permanently_before_any_download() {
    // GIVEN a long prefix, and a file RDS serves whose key would be 1,025 bytes
    let prefix = "p".repeat(200);
    let w = Worker {
        layout: KeyLayout::new("{prefix}/{instance}/{file}", &prefix, Compression::None).unwrap(),
        ..worker()
    };
    let long = "x".repeat(1025 - prefix.len() - "/db-1/".len());
    w.source
        .files
        .lock()
        .unwrap()
        .insert(long.clone(), b"hello".to_vec());
    // WHEN its message is handled
    let err = w.handle_message(&body(&long, 5, 1)).await.unwrap_err();
    // THEN it fails for good, naming the limit, and nothing is written
    assert!(
        matches!(err, Error::KeyTooLong { bytes: 1025, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert!(w.sink.keys().is_empty());
    let failure = state_of(&w, &long).await.failure.unwrap();
    assert!(failure.permanent);
    assert_eq!(failure.reason, "key_too_long");
}

#[tokio::test]
async fn the_raw_bytes_checksum_is_recorded_also_when_compressing() {
    // GIVEN a file whose CRC32C is the published test vector "123456789"
    for (compression, stored_differs) in [(Compression::None, false), (Compression::Gzip, true)] {
        let w = Worker {
            layout: KeyLayout::new("{prefix}/{instance}/{file}", "logs", compression).unwrap(),
            ..worker()
        };
        w.source
            .files
            .lock()
            .unwrap()
            .insert("a.log".into(), b"123456789".to_vec());
        // WHEN it ships
        w.handle_message(&body("a.log", 9, 1)).await.unwrap();
        // THEN the state keeps the CRC32C of the log's own bytes, and of
        // the stored ones, which differ only when compressed
        let shipped = w
            .state
            .get("db-1", "a.log")
            .await
            .unwrap()
            .unwrap()
            .shipped
            .unwrap();
        assert_eq!(shipped.raw_crc32c, "4waSgw==", "{compression:?}");
        assert_eq!(
            shipped.crc32c != shipped.raw_crc32c,
            stored_differs,
            "{compression:?}"
        );
    }
}

/// Serves `bytes` as a.log and ships version (`bytes.len()`, `lw`).
async fn ship_as(w: &Worker<FakeSource, MemorySink, MemoryStateTable>, bytes: &[u8], lw: i64) {
    w.source
        .files
        .lock()
        .unwrap()
        .insert("a.log".into(), bytes.to_vec());
    w.handle_message(&body("a.log", bytes.len() as u64, lw))
        .await
        .unwrap();
}

async fn shipped_key(w: &Worker<FakeSource, MemorySink, MemoryStateTable>) -> String {
    state_of(w, "a.log").await.shipped.unwrap().key
}

async fn state_of(
    w: &Worker<FakeSource, MemorySink, MemoryStateTable>,
    file: &str,
) -> crate::version::FileState {
    w.state.get("db-1", file).await.unwrap().unwrap()
}

#[tokio::test]
async fn an_object_is_replaced_only_by_a_version_that_extends_it() {
    let w = worker();
    // GIVEN a shipped file that grows: same key, replaced
    ship_as(&w, b"hello", 1).await;
    ship_as(&w, b"hello world", 2).await;
    assert_eq!(w.sink.keys(), ["logs/db-1/a.log"]);
    assert_eq!(w.sink.object("logs/db-1/a.log").unwrap(), b"hello world");
    // WHEN it is rewritten shorter under the same name
    ship_as(&w, b"bye", 3).await;
    // THEN the shipped bytes stay and the new content gets its own key
    let rewritten = "logs/db-1/a.log~19700101T000000.003Z-3";
    assert_eq!(w.sink.object("logs/db-1/a.log").unwrap(), b"hello world");
    assert_eq!(w.sink.object(rewritten).unwrap(), b"bye");
    assert_eq!(shipped_key(&w).await, rewritten);
    // AND the new content grows in its own object
    ship_as(&w, b"bye bye", 4).await;
    assert_eq!(w.sink.object(rewritten).unwrap(), b"bye bye");
    // AND the same size with other bytes is no extension either
    ship_as(&w, b"BYE BYE", 5).await;
    assert_eq!(w.sink.object(rewritten).unwrap(), b"bye bye");
    let same_size = "logs/db-1/a.log~19700101T000000.005Z-7";
    assert_eq!(w.sink.object(same_size).unwrap(), b"BYE BYE");
    assert_eq!(w.sink.keys().len(), 3);
}

#[tokio::test]
async fn a_compressed_object_is_extended_by_its_recorded_raw_bytes() {
    let w = Worker {
        layout: KeyLayout::new("{prefix}/{instance}/{file}", "logs", Compression::Gzip).unwrap(),
        ..worker()
    };
    ship_as(&w, b"hello", 1).await;
    ship_as(&w, b"hello world", 2).await;
    assert_eq!(w.sink.keys(), ["logs/db-1/a.log.gz"]);
    ship_as(&w, b"HELLO WORLD!", 3).await;
    assert_eq!(
        w.sink.keys(),
        [
            "logs/db-1/a.log.gz",
            "logs/db-1/a.log~19700101T000000.003Z-12.gz"
        ]
    );
}

/// a.log's version (`bytes.len()`, `lw`) of incarnation `id`, as the lister
/// hands it over: recorded as enqueued, then its message.
async fn enqueue_as(
    w: &Worker<FakeSource, MemorySink, MemoryStateTable>,
    bytes: &[u8],
    lw: i64,
    id: &str,
) -> Result<SyncOutcome> {
    w.source
        .files
        .lock()
        .unwrap()
        .insert("a.log".into(), bytes.to_vec());
    let v = LogFileVersion {
        instance: "db-1".into(),
        file: "a.log".into(),
        version: FileVersion::new(bytes.len() as u64, lw),
        region: None,
        incarnation: Some(id.into()),
    };
    w.state.record_enqueued(&v, 0).await.unwrap();
    w.handle_message(&ShipRequest::new(&v).to_json()).await
}

#[tokio::test]
async fn a_rewrite_with_the_same_time_and_fewer_bytes_ships_beside_the_old_bytes() {
    let w = worker();
    ship_as(&w, b"hello world", 2).await;
    // RDS reports the same last-written time for a shorter file.
    ship_as(&w, b"bye", 2).await;
    let own = "logs/db-1/a.log~19700101T000000.002Z-3";
    assert_eq!(w.sink.object("logs/db-1/a.log").unwrap(), b"hello world");
    assert_eq!(w.sink.object(own).unwrap(), b"bye");
    // The state knows both keys.
    assert_eq!(state_of(&w, "a.log").await.keys, ["logs/db-1/a.log", own]);
}

#[tokio::test]
async fn a_version_the_lister_found_lost_is_a_final_outcome_without_a_download() {
    let w = worker();
    let lost = FileVersion::new(5, 1);
    w.state
        .record_lost(
            "db-1",
            "a.log",
            &crate::version::LostRecord {
                version: lost,
                detected_ms: 1,
                incarnation: None,
            },
        )
        .await
        .unwrap();
    // RDS now serves other bytes under the name; they are not this version.
    w.source
        .files
        .lock()
        .unwrap()
        .insert("a.log".into(), b"other".to_vec());
    let outcome = w.handle_message(&body("a.log", 5, 1)).await.unwrap();
    assert!(matches!(outcome, SyncOutcome::Lost { .. }), "{outcome:?}");
    assert!(w.sink.keys().is_empty());
}

#[tokio::test]
async fn incarnations_never_replace_each_others_objects_or_ship_each_others_bytes() {
    let w = worker();
    enqueue_as(&w, b"old", 5, "db-OLD").await.unwrap();
    // A new incarnation's file extends the old bytes, and is written earlier.
    let outcome = enqueue_as(&w, b"old and new", 3, "db-NEW").await.unwrap();
    assert!(
        matches!(outcome, SyncOutcome::Shipped { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.sink.object("logs/db-1/a.log").unwrap(), b"old");
    let own = "logs/db-1/a.log~19700101T000000.003Z-11";
    assert_eq!(w.sink.object(own).unwrap(), b"old and new");
    let state = state_of(&w, "a.log").await;
    assert_eq!(
        state.shipped.unwrap().incarnation.as_deref(),
        Some("db-NEW")
    );
    // A message of the old incarnation still in the queue downloads nothing.
    let stale = LogFileVersion {
        instance: "db-1".into(),
        file: "a.log".into(),
        version: FileVersion::new(9, 6),
        region: None,
        incarnation: Some("db-OLD".into()),
    };
    let outcome = w
        .handle_message(&ShipRequest::new(&stale).to_json())
        .await
        .unwrap();
    assert!(matches!(outcome, SyncOutcome::Lost { .. }), "{outcome:?}");
    assert_eq!(w.sink.keys().len(), 2);
}

#[tokio::test]
async fn a_switchover_while_the_message_waited_ships_nothing_under_the_old_name() {
    let w = worker();
    // RDS already serves the new incarnation's file under the old name.
    *w.source.serving.lock().unwrap() = Some("db-NEW".into());
    let outcome = enqueue_as(&w, b"new bytes", 3, "db-OLD").await.unwrap();
    assert!(matches!(outcome, SyncOutcome::Lost { .. }), "{outcome:?}");
    assert!(w.sink.keys().is_empty());
    let failure = state_of(&w, "a.log").await.failure.unwrap();
    assert_eq!(failure.reason, "incarnation_changed");
    // The same incarnation ships.
    *w.source.serving.lock().unwrap() = Some("db-OLD".into());
    let outcome = enqueue_as(&w, b"old bytes", 4, "db-OLD").await.unwrap();
    assert!(
        matches!(outcome, SyncOutcome::Shipped { .. }),
        "{outcome:?}"
    );
}
