//! Where shipped bytes go: one trait, the S3 adapter (single `PutObject` or
//! multipart upload in bounded memory) and an in-memory sink for unit tests.

mod compress;
mod memory;
mod parts;
mod s3;

use std::future::Future;

pub use compress::compress;
pub use memory::MemorySink;
pub use parts::{BodyChecksums, PartReader, Prefix, StreamCrc32c, crc32c_of, require_prefix};
pub use s3::S3Sink;

use crate::error::Result;
use crate::rds::LogStream;
use crate::version::FileVersion;

/// User metadata on every shipped object (S3 adds the `x-amz-meta-` prefix).
pub const META_INSTANCE: &str = "rds-instance";
pub const META_FILE: &str = "rds-file";
/// The size RDS listed; the object's length is what was actually written.
pub const META_LISTED_SIZE: &str = "rds-size";
pub const META_LAST_WRITTEN: &str = "rds-last-written-ms";
/// The instance's `DbiResourceId`, when the lister knew it.
pub const META_RESOURCE_ID: &str = "rds-resource-id";

/// What the sink wrote: counted and checksummed while streaming, then
/// checked against what the store reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: u64,
    pub checksums: BodyChecksums,
    pub parts: usize,
}

/// The object a key holds now, as far as the pipeline cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistingObject {
    pub etag: String,
    pub bytes: u64,
    /// From the object's metadata; absent on objects this tool did not write.
    pub last_written_ms: Option<i64>,
    /// The size RDS listed when the object was written (metadata).
    pub listed_size: Option<u64>,
    /// The object's `Content-Encoding`: compressed bytes are not the source's.
    pub content_encoding: Option<String>,
    pub crc32c: Option<String>,
    /// The incarnation whose bytes these are (metadata), if recorded.
    pub resource_id: Option<String>,
}

impl ExistingObject {
    /// The file version the object holds, when it was written by this tool:
    /// its length, or for a compressed object the size RDS listed then.
    pub fn version(&self) -> Option<FileVersion> {
        let size = match &self.content_encoding {
            None => self.bytes,
            Some(_) => self.listed_size?,
        };
        self.last_written_ms.map(|lw| FileVersion::new(size, lw))
    }

    /// Whether the object holds `listed` (see `version::holds`).
    pub fn holds(&self, listed: FileVersion) -> bool {
        self.version().is_some_and(|held| {
            crate::version::holds(held, self.listed_size.unwrap_or(held.size), listed)
        })
    }

    /// Reads the pipeline's metadata of a stored object.
    pub fn from_metadata(
        etag: String,
        bytes: u64,
        metadata: impl Fn(&str) -> Option<String>,
        content_encoding: Option<String>,
        crc32c: Option<String>,
    ) -> Self {
        Self {
            etag,
            bytes,
            last_written_ms: metadata(META_LAST_WRITTEN).and_then(|v| v.parse().ok()),
            listed_size: metadata(META_LISTED_SIZE).and_then(|v| v.parse().ok()),
            content_encoding: content_encoding.filter(|e| !e.is_empty() && e != "identity"),
            crc32c,
            resource_id: metadata(META_RESOURCE_ID),
        }
    }
}

/// What must still be at the key when a write completes, so that a slower
/// writer never replaces a newer object it did not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No object at the key (`If-None-Match: *`).
    Absent,
    /// Exactly the object with this ETag (`If-Match`).
    Unchanged(String),
}

impl Precondition {
    pub fn for_existing(existing: Option<&ExistingObject>) -> Self {
        match existing {
            Some(o) => Precondition::Unchanged(o.etag.clone()),
            None => Precondition::Absent,
        }
    }

    /// The `If-Match` value this precondition sends, if any.
    pub fn if_match(&self) -> Option<String> {
        match self {
            Precondition::Unchanged(etag) => Some(etag.clone()),
            Precondition::Absent => None,
        }
    }

    /// The `If-None-Match` value this precondition sends, if any.
    pub fn if_none_match(&self) -> Option<String> {
        matches!(self, Precondition::Absent).then(|| "*".to_owned())
    }
}

pub trait ObjectSink: Send + Sync {
    /// The object at `key`, if any.
    fn current(&self, key: &str) -> impl Future<Output = Result<Option<ExistingObject>>> + Send;

    /// Streams `body` to `key`. The object becomes visible only if the body
    /// ended without error and `precondition` still holds
    /// (`Error::ObjectChanged` otherwise); nothing incomplete is left behind.
    fn store(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        content_encoding: Option<&'static str>,
        body: LogStream,
        precondition: &Precondition,
    ) -> impl Future<Output = Result<StoredObject>> + Send;
}
