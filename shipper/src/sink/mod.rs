//! Where shipped bytes go: one trait, the S3 adapter (single `PutObject` or
//! multipart upload in bounded memory) and an in-memory sink for unit tests.

mod memory;
mod parts;
mod s3;

use std::future::Future;

pub use memory::MemorySink;
pub use parts::PartReader;
pub use s3::S3Sink;

use crate::error::Result;
use crate::rds::LogStream;

/// What the sink wrote: counted and hashed while streaming, then checked
/// against what the store reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: u64,
    pub sha256: String,
    pub parts: usize,
}

pub trait ObjectSink: Send + Sync {
    /// Streams `body` to `key`. The object becomes visible only if the body
    /// ended without error; otherwise nothing is left behind.
    fn store(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        body: LogStream,
    ) -> impl Future<Output = Result<StoredObject>> + Send;
}
