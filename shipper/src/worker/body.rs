//! Guards on a download's stream: each ends it with an error before the
//! sink completes anything, so no object is written that should not be.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use tokio::time::Instant;

use super::Worker;
use crate::error::{DownloadError, Error};
use crate::rds::{LogSource, LogStream, cut_when_late};
use crate::sink::{ExistingObject, ObjectSink, Prefix};
use crate::state::FileStates;
use crate::version::{LogFileVersion, ShippedRecord};

/// Ends the body with `Error::DeadlineReached` when `deadline` passes
/// before it does, so the sink aborts the upload (nothing half-written is
/// left) while the invocation still has time to record why.
pub(super) fn until_deadline(body: LogStream, deadline: Instant, v: &LogFileVersion) -> LogStream {
    let (instance, file) = (v.instance.clone(), v.file.clone());
    cut_when_late(
        body,
        move || deadline,
        move |received| Error::DeadlineReached {
            instance: instance.clone(),
            file: file.clone(),
            received,
        },
    )
}

/// Ends the body with an error if it is shorter than RDS listed, so the sink
/// never completes a truncated object; counts the source bytes as they pass.
pub(super) fn require_at_least(
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
pub(super) fn extension_prefix(
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

impl<Src: LogSource, Snk: ObjectSink, St: FileStates> Worker<Src, Snk, St> {
    /// Ends the body with an error, before the sink completes anything, if
    /// the instance is no longer the incarnation the lister listed: a
    /// switchover or restore during the wait in the queue would otherwise
    /// ship the new instance's bytes under the old one's name. Asked at the
    /// end: an unchanged id then proves the whole download came from it.
    pub(super) fn require_incarnation(&self, body: LogStream, v: &LogFileVersion) -> LogStream {
        let Some(listed) = v.incarnation.clone() else {
            return body;
        };
        let lookup = self.source.incarnation(v.region.as_deref(), &v.instance);
        let (instance, file) = (v.instance.clone(), v.file.clone());
        let check = futures_util::stream::once(async move {
            match lookup.await {
                Ok(Some(current)) if current != listed => Some(Err(Error::IncarnationChanged {
                    instance,
                    file,
                    listed,
                    current,
                })),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        })
        .filter_map(std::future::ready);
        Box::pin(body.chain(check))
    }
}
