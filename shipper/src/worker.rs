//! The worker: for each SQS record, ship one file version from RDS to S3 and
//! then advance the state table. Records succeed or fail on their own.

use std::sync::atomic::Ordering;

use serde::Serialize;
use tokio::time::Instant;

use crate::config::BatchSettings;
use crate::error::{Error, Result};
use crate::layout::{Compression, KeyLayout};
use crate::message::ShipRequest;
use crate::now_ms;
use crate::rds::LogSource;
use crate::sink::{
    META_FILE, META_INSTANCE, META_LAST_WRITTEN, META_LISTED_SIZE, META_RESOURCE_ID, ObjectSink,
    Precondition, StoredObject, compress, crc32c_of, require_prefix,
};
use crate::state::{FailureNote, FileStates, StateUpdate};
use crate::version::{FileVersion, LogFileVersion, ShippedRecord, same_incarnation};

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
    /// The lister found this version replaced or deleted before it shipped
    /// (counted there as lost); not retried.
    Lost { reason: String },
}

pub struct Worker<Src, Snk, St> {
    pub source: Src,
    pub sink: Snk,
    pub state: St,
    /// Where each version goes in the bucket, and how it is encoded.
    pub layout: KeyLayout,
    /// Records at once, and the time a record needs to be started.
    pub batch: BatchSettings,
}

impl<Src: LogSource, Snk: ObjectSink, St: FileStates> Worker<Src, Snk, St> {
    /// Ships one version: skip if already shipped, stream RDS to S3 with a
    /// conditional write, verify, then move the state forward. An object is
    /// only ever replaced by a version that extends it (the same first
    /// bytes, more of them); any other version goes to a key of its own.
    pub async fn ship(&self, v: &LogFileVersion) -> Result<SyncOutcome> {
        self.ship_until(v, None).await
    }

    /// `ship`, with the download cut at `deadline` if it runs that long.
    pub async fn ship_until(
        &self,
        v: &LogFileVersion,
        deadline: Option<Instant>,
    ) -> Result<SyncOutcome> {
        let state = self.state.get(&v.instance, &v.file).await?;
        let incarnation = v.incarnation.as_deref();
        if let Some(state) = &state {
            if state.is_other_incarnation(incarnation) {
                // The lister has listed a new incarnation under this name
                // since: what RDS serves now is not this version.
                return Ok(SyncOutcome::Lost {
                    reason: format!(
                        "{} is now another instance (resource id {}); this version \
                         of the old one can no longer be downloaded",
                        v.instance,
                        state.incarnation.as_deref().unwrap_or("unknown")
                    ),
                });
            }
            if state.has_shipped(v.version) {
                return Ok(SyncOutcome::AlreadyShipped);
            }
            if state.is_lost(v.version) {
                return Ok(SyncOutcome::Lost {
                    reason: "RDS deleted or replaced this version before it shipped".into(),
                });
            }
        }
        let shipped = state
            .and_then(|s| s.shipped)
            .filter(|s| same_incarnation(s.incarnation.as_deref(), incarnation));
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
        ]
        .into_iter()
        .chain(v.incarnation.clone().map(|id| (META_RESOURCE_ID, id)))
        .collect::<Vec<_>>();
        let not_an_extension = |key: &str| Error::NotAnExtension {
            instance: v.instance.clone(),
            file: v.file.clone(),
            key: key.to_owned(),
        };
        let mut changed = None;
        // One more round than the races need: moving to the version's own key.
        for _ in 0..=WRITE_ROUNDS {
            let existing = self.sink.current(&key).await?;
            // An object of another incarnation is never replaced, nor
            // taken for this one's bytes.
            let foreign = existing
                .as_ref()
                .is_some_and(|o| !same_incarnation(o.resource_id.as_deref(), incarnation));
            if let Some(object) = &existing
                && !foreign
                && let Some(held) = object.version()
                && object.holds(v.version)
            {
                // S3 already holds this version (a concurrent worker, or an
                // attempt that stopped before recording it).
                let crc32c = object.crc32c.clone().unwrap_or_default();
                let record = ShippedRecord {
                    version: held,
                    listed_size: object.listed_size.unwrap_or(held.size),
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
                    incarnation: v.incarnation.clone(),
                };
                self.state
                    .record_shipped(&v.instance, &v.file, &record)
                    .await?;
                return Ok(SyncOutcome::AlreadyShipped);
            }
            let required = match &existing {
                None => None,
                Some(object) => {
                    match extension_prefix(object, &key, shipped.as_ref()).filter(|_| !foreign) {
                        Some(prefix) => Some(prefix),
                        // What the object holds cannot be told: it stays.
                        None if !is_own_key(&key) => {
                            key = self.layout.versioned_key(v)?;
                            continue;
                        }
                        None => return Err(not_an_extension(&key)),
                    }
                }
            };
            let precondition = Precondition::for_existing(existing.as_ref());
            let body = self
                .source
                .open(v.region.as_deref(), &v.instance, &v.file)
                .await?;
            // The incarnation first: a new instance explains a short body.
            let body = self.require_incarnation(body, v);
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
            let body = match deadline {
                Some(deadline) => until_deadline(body, deadline, v),
                None => body,
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
            listed_size: v.version.size,
            at_ms: now_ms(),
            key: key.clone(),
            stored_bytes: stored.bytes,
            crc32c: stored.checksums.crc32c_base64,
            raw_crc32c,
            incarnation: v.incarnation.clone(),
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
        self.handle_record(body, None).await.1
    }

    /// Parses the body once and handles it; also returns the version it
    /// names, when it names a valid one.
    async fn handle_record(
        &self,
        body: &str,
        deadline: Option<Instant>,
    ) -> (Option<LogFileVersion>, Result<SyncOutcome>) {
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
                        incarnation: None,
                    };
                    self.note_failure(&v, &e).await;
                }
                return (None, Err(e));
            }
        };
        let span = tracing::Span::current();
        span.record("instance", version.instance.as_str());
        span.record("file", version.file.as_str());
        let result = match self.ship_until(&version, deadline).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                self.note_failure(&version, &e).await;
                match e {
                    Error::LogFileGone { reason, .. } => Ok(SyncOutcome::Gone { reason }),
                    e @ Error::IncarnationChanged { .. } => Ok(SyncOutcome::Lost {
                        reason: e.to_string(),
                    }),
                    e => Err(e),
                }
            }
        };
        (Some(version), result)
    }

    async fn note_failure(&self, version: &LogFileVersion, error: &Error) {
        let message = crate::error::causes(error);
        let note = FailureNote {
            error: &message,
            reason: error.reason_code(),
            permanent: !error.is_transient(),
        };
        if let Err(e) = self.state.record_failure(version, &note, now_ms()).await {
            tracing::error!(error = %e, "could not record the failure in the state table");
        }
    }
}

mod batch;
mod body;
pub use batch::{RecordResult, batch_response};
use body::{extension_prefix, require_at_least, until_deadline};

#[cfg(test)]
mod batch_tests;
#[cfg(test)]
pub(crate) mod tests;
