//! Cuts a byte stream into upload parts of a fixed size, counting every byte
//! and computing its CRC32C on the way (with the SDK's own checksum code),
//! holding at most one part (plus one chunk) in memory.

use aws_smithy_checksums::ChecksumAlgorithm;
use aws_smithy_checksums::http::HttpChecksum;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::{Error, Result};
use crate::rds::LogStream;

/// The CRC32C of every byte that passed through a stream (`crc32c_of`),
/// read once the stream ended: the log file's own bytes when what is stored
/// is compressed.
#[derive(Clone)]
pub struct StreamCrc32c(Arc<Mutex<Box<dyn HttpChecksum>>>);

impl StreamCrc32c {
    pub fn base64(&self) -> String {
        let mut hasher = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let done = std::mem::replace(&mut *hasher, ChecksumAlgorithm::Crc32c.into_impl());
        base64_of(done)
    }
}

/// Passes `body` through, computing the CRC32C of its bytes on the way.
pub fn crc32c_of(body: LogStream) -> (LogStream, StreamCrc32c) {
    let crc = StreamCrc32c(Arc::new(Mutex::new(ChecksumAlgorithm::Crc32c.into_impl())));
    let hasher = crc.clone();
    let body = body.inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            hasher
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .update(bytes);
        }
    });
    (Box::pin(body), crc)
}

/// What a stream must start with: the length and base64 CRC32C of bytes
/// already shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub bytes: u64,
    pub crc32c_base64: String,
}

/// Passes `body` through, ending it with `mismatch()` as soon as it is
/// known not to start with `prefix` (its first `prefix.bytes` differ, or it
/// ends before them), before the sink can complete an upload of it.
pub fn require_prefix(
    body: LogStream,
    prefix: Prefix,
    mismatch: impl Fn() -> Error + Send + 'static,
) -> LogStream {
    struct Check<F> {
        body: LogStream,
        hasher: Box<dyn HttpChecksum>,
        remaining: u64,
        prefix: Prefix,
        mismatch: F,
        failed: bool,
    }
    impl<F> Check<F> {
        fn prefix_matches(&mut self) -> bool {
            let done = std::mem::replace(&mut self.hasher, ChecksumAlgorithm::Crc32c.into_impl());
            base64_of(done) == self.prefix.crc32c_base64
        }
    }
    let check = Check {
        body,
        hasher: ChecksumAlgorithm::Crc32c.into_impl(),
        remaining: prefix.bytes,
        prefix,
        mismatch,
        failed: false,
    };
    Box::pin(futures_util::stream::unfold(check, |mut c| async move {
        if c.failed {
            return None;
        }
        let item = match c.body.next().await {
            Some(Ok(chunk)) if c.remaining > 0 => {
                let take = c.remaining.min(chunk.len() as u64) as usize;
                c.hasher.update(&chunk[..take]);
                c.remaining -= take as u64;
                if c.remaining == 0 && !c.prefix_matches() {
                    c.failed = true;
                    Err((c.mismatch)())
                } else {
                    Ok(chunk)
                }
            }
            Some(item) => item,
            None if c.remaining > 0 => {
                c.failed = true;
                Err((c.mismatch)())
            }
            None => return None,
        };
        Some((item, c))
    }))
}

/// Base64 of the big-endian checksum, as S3's `x-amz-checksum-crc32c`.
fn base64_of(checksum: Box<dyn HttpChecksum>) -> String {
    checksum
        .header_value()
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

/// Typical largest chunk an HTTP body delivers; larger ones still work, at
/// the cost of one reallocation.
const OVERSHOOT: usize = 64 * 1024;

/// Recycled buffers kept at most (more are freed).
const MAX_SPARE: usize = 4;

pub struct PartReader {
    body: LogStream,
    buffer: BytesMut,
    part_size: usize,
    ended: bool,
    total: u64,
    /// Buffers of parts already uploaded, reused so the allocator never
    /// sees a stream of part-sized allocations (which glibc would stop
    /// returning to the system, growing RSS with file size).
    spare: Vec<BytesMut>,
    crc32c: Box<dyn HttpChecksum>,
}

/// Whole-body checksums, available once the body has ended. CRC32C only:
/// it is what S3 verifies and stores as the object's full-object checksum,
/// and hardware makes it nearly free; a SHA-256 pass cost 40 % of the
/// worker's throughput (docs/benchmarks.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyChecksums {
    /// Base64 of the big-endian CRC32C, as S3's `x-amz-checksum-crc32c`.
    pub crc32c_base64: String,
}

impl PartReader {
    pub fn new(body: LogStream, part_size: usize) -> Self {
        Self {
            body,
            buffer: BytesMut::with_capacity(part_size.saturating_add(OVERSHOOT)),
            spare: Vec::new(),
            part_size,
            ended: false,
            total: 0,
            crc32c: ChecksumAlgorithm::Crc32c.into_impl(),
        }
    }

    /// The next part: exactly `part_size` bytes while more follow, the rest
    /// (possibly empty, for an empty file) at the end. Reads one byte beyond
    /// a full part first, so the last part is never empty.
    pub async fn next_part(&mut self) -> Result<Bytes> {
        while !self.ended && self.buffer.len() <= self.part_size {
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    self.total += chunk.len() as u64;
                    self.crc32c.update(&chunk);
                    self.buffer.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(e),
                None => self.ended = true,
            }
        }
        // Each part gets its own allocation of about one part: splitting a
        // shared buffer would keep doubled capacity alive in every part in flight.
        let mut next = self.part_buffer();
        if self.buffer.len() > self.part_size {
            next.extend_from_slice(&self.buffer[self.part_size..]);
            self.buffer.truncate(self.part_size);
        }
        Ok(std::mem::replace(&mut self.buffer, next).freeze())
    }

    /// Room for one part plus the chunk that overshoots it: a recycled
    /// buffer when there is one.
    fn part_buffer(&mut self) -> BytesMut {
        self.spare
            .pop()
            .unwrap_or_else(|| BytesMut::with_capacity(self.part_size.saturating_add(OVERSHOOT)))
    }

    /// Hands back a part once nothing else holds it, for reuse.
    pub fn recycle(&mut self, part: Bytes) {
        if let Ok(mut buffer) = part.try_into_mut()
            && buffer.capacity() >= self.part_size
            && self.spare.len() < MAX_SPARE
        {
            buffer.clear();
            self.spare.push(buffer);
        }
    }

    /// True once the stream ended and every byte was handed out.
    pub fn finished(&self) -> bool {
        self.ended && self.buffer.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The checksums of everything read; call once, after the body ended.
    pub fn checksums(&mut self) -> BodyChecksums {
        let crc32c = std::mem::replace(&mut self.crc32c, ChecksumAlgorithm::Crc32c.into_impl());
        BodyChecksums {
            crc32c_base64: base64_of(crc32c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{DownloadError, Error};

    fn stream(chunks: Vec<Result<Bytes, Error>>) -> LogStream {
        Box::pin(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn cuts_exact_parts_and_never_leaves_an_empty_last_part() {
        let chunks = (0..7).map(|_| Ok(Bytes::from(vec![1u8; 3]))).collect();
        let mut reader = PartReader::new(stream(chunks), 7);
        let mut sizes = Vec::new();
        loop {
            sizes.push(reader.next_part().await.unwrap().len());
            if reader.finished() {
                break;
            }
        }
        assert_eq!(sizes, [7, 7, 7]);
        assert_eq!(reader.total(), 21);

        let chunks = (0..2).map(|_| Ok(Bytes::from(vec![1u8; 7]))).collect();
        let mut reader = PartReader::new(stream(chunks), 7);
        assert_eq!(reader.next_part().await.unwrap().len(), 7);
        assert!(!reader.finished());
        assert_eq!(reader.next_part().await.unwrap().len(), 7);
        assert!(reader.finished());
    }

    #[tokio::test]
    async fn checksums_match_the_published_test_vectors() {
        let chunks = vec![
            Ok(Bytes::from_static(b"1234")),
            Ok(Bytes::from_static(b"56789")),
        ];
        let mut reader = PartReader::new(stream(chunks), 4);
        while !reader.finished() {
            reader.next_part().await.unwrap();
        }
        let sums = reader.checksums();
        // CRC32C("123456789") = 0xE3069283.
        assert_eq!(sums.crc32c_base64, "4waSgw==");
    }

    #[tokio::test]
    async fn an_empty_body_is_one_empty_part_and_errors_pass_through() {
        let mut reader = PartReader::new(stream(vec![]), 7);
        assert!(reader.next_part().await.unwrap().is_empty());
        assert!(reader.finished());
        let sums = reader.checksums();
        assert_eq!(sums.crc32c_base64, "AAAAAA==");
        let cut = Err(Error::Download {
            instance: "db".into(),
            file: "f".into(),
            source: DownloadError::Transport {
                received: 3,
                reason: "closed".into(),
            },
        });
        let mut reader = PartReader::new(stream(vec![Ok(Bytes::from_static(b"abc")), cut]), 7);
        assert!(reader.next_part().await.is_err());
    }
}
