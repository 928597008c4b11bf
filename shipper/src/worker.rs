//! The worker: for each SQS record, ship one file version from RDS to S3 and
//! then advance the state table. Records succeed or fail on their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::StreamExt;
use serde::Serialize;
use tracing::Instrument;

use crate::error::{DownloadError, Error, Result};
use crate::layout::{Compression, KeyLayout};
use crate::message::ShipRequest;
use crate::now_ms;
use crate::rds::{LogSource, LogStream};
use crate::sink::{
    ExistingObject, META_FILE, META_INSTANCE, META_LAST_WRITTEN, META_LISTED_SIZE, ObjectSink,
    Precondition, Prefix, StoredObject, compress, crc32c_of, require_prefix,
};
use crate::state::{FailureNote, StateStore, StateUpdate};
use crate::version::{FileVersion, LogFileVersion, ShippedRecord};

/// How often a write that lost a race is re-evaluated before the record is
/// left to SQS redelivery.
const WRITE_ROUNDS: usize = 3;

/// How one file version ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SyncOutcome {
    /// Written to S3 and recorded.
    Shipped {
        key: String,
        /// Bytes of the log file shipped.
        bytes: u64,
        /// Bytes in S3 (fewer when compressed).
        stored_bytes: u64,
        parts: usize,
    },
    /// The state table or S3 already held this version or a newer one;
    /// nothing was downloaded.
    AlreadyShipped,
    /// Written, but a newer version was recorded meanwhile; state unchanged.
    Superseded { key: String, bytes: u64 },
    /// RDS no longer has the file; recorded as a permanent failure, not retried.
    Gone { reason: String },
}

pub struct Worker<Src, Snk, St> {
    pub source: Src,
    pub sink: Snk,
    pub state: St,
    /// Where each version goes in the bucket, and how it is encoded.
    pub layout: KeyLayout,
}

/// Ends the body with an error if it is shorter than RDS listed, so the sink
/// never completes a truncated object; counts the source bytes as they pass.
fn require_at_least(
    body: LogStream,
    expected: u64,
    version: &LogFileVersion,
) -> (LogStream, Arc<AtomicU64>) {
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let source_bytes = received.clone();
    let (instance, file) = (version.instance.clone(), version.file.clone());
    let counted = body.inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    });
    let check = futures_util::stream::once(async move {
        let got = received.load(Ordering::Relaxed);
        (got < expected).then(|| {
            Err(Error::Download {
                instance,
                file,
                source: DownloadError::Truncated {
                    expected,
                    received: got,
                },
            })
        })
    })
    .filter_map(std::future::ready);
    (Box::pin(counted.chain(check)), source_bytes)
}

/// What a new version must start with to replace `object` at `key`: the
/// object's bytes and CRC32C as S3 reports them when uncompressed, the raw
/// ones the state recorded when compressed. `None` when that cannot be
/// told (no checksum, no matching record): then no version replaces it.
fn extension_prefix(
    object: &ExistingObject,
    key: &str,
    shipped: Option<&ShippedRecord>,
) -> Option<Prefix> {
    if object.content_encoding.is_none() {
        return object.crc32c.clone().map(|crc32c_base64| Prefix {
            bytes: object.bytes,
            crc32c_base64,
        });
    }
    shipped
        .filter(|s| {
            s.key == key
                && !s.raw_crc32c.is_empty()
                && object.last_written_ms == Some(s.version.last_written_ms)
        })
        .map(|s| Prefix {
            bytes: s.version.size,
            crc32c_base64: s.raw_crc32c.clone(),
        })
}

impl<Src: LogSource, Snk: ObjectSink, St: StateStore> Worker<Src, Snk, St> {
    /// Ships one version: skip if already shipped, stream RDS to S3 with a
    /// conditional write, verify, then move the state forward. An object is
    /// only ever replaced by a version that extends it (the same first
    /// bytes, more of them); any other version goes to a key of its own.
    pub async fn ship(&self, v: &LogFileVersion) -> Result<SyncOutcome> {
        let state = self.state.get(&v.instance, &v.file).await?;
        if let Some(state) = &state
            && state.has_shipped(v.version)
        {
            return Ok(SyncOutcome::AlreadyShipped);
        }
        let shipped = state.and_then(|s| s.shipped);
        let base_key = self.layout.checked_key(v)?;
        // The version's own key, for when it does not extend what it would
        // replace (only then may its length refuse it).
        let is_own_key = |key: &str| self.layout.versioned_key(v).is_ok_and(|own| own == key);
        // The content this version most likely extends is where the file
        // last shipped: its key, or a versioned one after a rewrite.
        let mut key = match &shipped {
            Some(s) if self.layout.is_key_of(&s.key, v) => s.key.clone(),
            _ => base_key,
        };
        let compression = self.layout.compression();
        let metadata = [
            (META_INSTANCE, v.instance.clone()),
            (META_FILE, v.file.clone()),
            (META_LISTED_SIZE, v.version.size.to_string()),
            (META_LAST_WRITTEN, v.version.last_written_ms.to_string()),
        ];
        let not_an_extension = |key: &str| Error::NotAnExtension {
            instance: v.instance.clone(),
            file: v.file.clone(),
            key: key.to_owned(),
        };
        let mut changed = None;
        // One more round than the races need: moving to the version's own key.
        for _ in 0..=WRITE_ROUNDS {
            let existing = self.sink.current(&key).await?;
            if let Some(object) = &existing
                && let Some(held) = object.version()
                && held >= v.version
            {
                // S3 already holds this version or a newer one (a concurrent
                // worker, or an attempt that stopped before recording it).
                let crc32c = object.crc32c.clone().unwrap_or_default();
                let record = ShippedRecord {
                    version: held,
                    at_ms: now_ms(),
                    key: key.clone(),
                    stored_bytes: object.bytes,
                    // Only an uncompressed object's checksum is the raw one.
                    raw_crc32c: if object.content_encoding.is_none() {
                        crc32c.clone()
                    } else {
                        String::new()
                    },
                    crc32c,
                };
                self.state
                    .record_shipped(&v.instance, &v.file, &record)
                    .await?;
                return Ok(SyncOutcome::AlreadyShipped);
            }
            let required = match &existing {
                None => None,
                Some(object) => match extension_prefix(object, &key, shipped.as_ref()) {
                    Some(prefix) => Some(prefix),
                    // What the object holds cannot be told: it stays.
                    None if !is_own_key(&key) => {
                        key = self.layout.versioned_key(v)?;
                        continue;
                    }
                    None => return Err(not_an_extension(&key)),
                },
            };
            let precondition = Precondition::for_existing(existing.as_ref());
            let body = self
                .source
                .open(v.region.as_deref(), &v.instance, &v.file)
                .await?;
            let (body, source_bytes) = require_at_least(body, v.version.size, v);
            let body = match required {
                Some(prefix) if prefix.bytes > 0 => {
                    let (instance, file, at) = (v.instance.clone(), v.file.clone(), key.clone());
                    require_prefix(body, prefix, move || Error::NotAnExtension {
                        instance: instance.clone(),
                        file: file.clone(),
                        key: at.clone(),
                    })
                }
                _ => body,
            };
            // Compressed objects store other bytes: checksum the raw ones too.
            let (body, raw_crc32c) = match compression {
                Compression::None => (body, None),
                _ => {
                    let (body, crc) = crc32c_of(body);
                    (body, Some(crc))
                }
            };
            let body = compress(body, compression);
            let stored = self
                .sink
                .store(
                    &key,
                    &metadata,
                    compression.content_encoding(),
                    body,
                    &precondition,
                )
                .await;
            match stored {
                Ok(stored) => {
                    let source_bytes = source_bytes.load(Ordering::Relaxed);
                    let raw_crc32c = raw_crc32c.map_or_else(
                        || stored.checksums.crc32c_base64.clone(),
                        |crc| crc.base64(),
                    );
                    return self
                        .record_shipped(v, key, stored, source_bytes, raw_crc32c)
                        .await;
                }
                Err(e @ Error::ObjectChanged { .. }) => {
                    tracing::info!(key, "object changed during the upload; looking again");
                    changed = Some(e);
                }
                Err(Error::NotAnExtension { .. }) if !is_own_key(&key) => {
                    tracing::info!(
                        key,
                        "not an extension of the shipped object; it gets a key of its own"
                    );
                    key = self.layout.versioned_key(v)?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(changed.unwrap_or_else(|| not_an_extension(&key)))
    }

    async fn record_shipped(
        &self,
        v: &LogFileVersion,
        key: String,
        stored: StoredObject,
        source_bytes: u64,
        raw_crc32c: String,
    ) -> Result<SyncOutcome> {
        let record = ShippedRecord {
            version: FileVersion::new(source_bytes, v.version.last_written_ms),
            at_ms: now_ms(),
            key: key.clone(),
            stored_bytes: stored.bytes,
            crc32c: stored.checksums.crc32c_base64,
            raw_crc32c,
        };
        let update = self
            .state
            .record_shipped(&v.instance, &v.file, &record)
            .await?;
        // A concurrent worker that found our object in S3 may have recorded
        // it first: the state then holds exactly what we wrote.
        let ours = update == StateUpdate::Advanced
            || self
                .state
                .get(&v.instance, &v.file)
                .await?
                .and_then(|s| s.shipped)
                .is_some_and(|s| s.version == record.version);
        Ok(if ours {
            SyncOutcome::Shipped {
                key,
                bytes: source_bytes,
                stored_bytes: stored.bytes,
                parts: stored.parts,
            }
        } else {
            SyncOutcome::Superseded {
                key,
                bytes: stored.bytes,
            }
        })
    }

    /// Handles one message body. A vanished file is a final, recorded
    /// outcome; every other error is returned so the record is retried (and
    /// reaches the dead-letter queue if it keeps failing).
    pub async fn handle_message(&self, body: &str) -> Result<SyncOutcome> {
        self.handle_record(body).await.1
    }

    /// Parses the body once and handles it; also returns the version it
    /// names, when it names a valid one.
    async fn handle_record(&self, body: &str) -> (Option<LogFileVersion>, Result<SyncOutcome>) {
        let version = match ShipRequest::parse(body) {
            Ok(v) => v,
            Err(e) => {
                if let Error::UnsafeFileName { instance, file, .. } = &e {
                    // The name is hostile but the file is known: record it.
                    let v = LogFileVersion {
                        instance: instance.clone(),
                        file: file.clone(),
                        version: FileVersion::new(0, 0),
                        region: None,
                    };
                    self.note_failure(&v, &e).await;
                }
                return (None, Err(e));
            }
        };
        let span = tracing::Span::current();
        span.record("instance", version.instance.as_str());
        span.record("file", version.file.as_str());
        let result = match self.ship(&version).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                self.note_failure(&version, &e).await;
                match e {
                    Error::LogFileGone { reason, .. } => Ok(SyncOutcome::Gone { reason }),
                    e => Err(e),
                }
            }
        };
        (Some(version), result)
    }

    async fn note_failure(&self, version: &LogFileVersion, error: &Error) {
        let message = error.to_string();
        let note = FailureNote {
            error: &message,
            reason: error.reason_code(),
            permanent: !error.is_transient(),
        };
        if let Err(e) = self.state.record_failure(version, &note, now_ms()).await {
            tracing::error!(error = %e, "could not record the failure in the state table");
        }
    }

    /// Handles every record of a batch on its own, in order.
    pub async fn process_batch(&self, event: SqsEvent) -> Vec<RecordResult> {
        let mut results = Vec::with_capacity(event.records.len());
        for record in event.records {
            let message_id = record.message_id.clone().unwrap_or_default();
            let span = tracing::info_span!(
                "message",
                message_id = %message_id,
                instance = tracing::field::Empty,
                file = tracing::field::Empty
            );
            let body = record.body.as_deref().unwrap_or("");
            let (version, result) = self.handle_record(body).instrument(span.clone()).await;
            let _entered = span.enter();
            match &result {
                Ok(outcome) => tracing::info!(outcome = ?outcome, "done"),
                Err(e) => {
                    tracing::error!(error = %e, transient = e.is_transient(), reason = e.reason_code(), "failed")
                }
            }
            results.push(RecordResult {
                message_id,
                version,
                result,
            });
        }
        results
    }

    /// The SQS handler: failed records are returned as `batchItemFailures`
    /// so SQS redelivers only them.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let results = self.process_batch(event).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Compression;
    use crate::sink::MemorySink;
    use crate::state::MemoryStateTable;
    use crate::version::FileVersion;
    use aws_lambda_events::event::sqs::SqsMessage;
    use bytes::Bytes;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct FakeSource {
        files: Mutex<HashMap<String, Vec<u8>>>,
    }

    impl LogSource for FakeSource {
        async fn open(
            &self,
            _region: Option<&str>,
            instance: &str,
            file: &str,
        ) -> Result<LogStream> {
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

    fn worker() -> Worker<FakeSource, MemorySink, MemoryStateTable> {
        Worker {
            source: FakeSource::default(),
            sink: MemorySink::default(),
            state: MemoryStateTable::default(),
            // The old flat layout keeps these tests about shipping, not keys.
            layout: KeyLayout::new("{prefix}/{instance}/{file}", "logs", Compression::None)
                .unwrap(),
        }
    }

    fn body(file: &str, size: u64, lw: i64) -> String {
        ShipRequest::new(&LogFileVersion {
            instance: "db-1".into(),
            file: file.into(),
            version: FileVersion::new(size, lw),
            region: None,
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
            layout: KeyLayout::new("{prefix}/{instance}/{file}", &prefix, Compression::None)
                .unwrap(),
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
        for (compression, stored_differs) in [(Compression::None, false), (Compression::Gzip, true)]
        {
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
            layout: KeyLayout::new("{prefix}/{instance}/{file}", "logs", Compression::Gzip)
                .unwrap(),
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
}
