//! Cuts a byte stream into upload parts of a fixed size, counting and hashing
//! every byte on the way, holding at most one part (plus one chunk) in memory.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::rds::LogStream;

pub struct PartReader {
    body: LogStream,
    buffer: BytesMut,
    part_size: usize,
    ended: bool,
    total: u64,
    hasher: Sha256,
}

impl PartReader {
    pub fn new(body: LogStream, part_size: usize) -> Self {
        Self {
            body,
            buffer: BytesMut::new(),
            part_size,
            ended: false,
            total: 0,
            hasher: Sha256::new(),
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
                    self.hasher.update(&chunk);
                    self.buffer.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(e),
                None => self.ended = true,
            }
        }
        let take = self.buffer.len().min(self.part_size);
        Ok(self.buffer.split_to(take).freeze())
    }

    /// True once the stream ended and every byte was handed out.
    pub fn finished(&self) -> bool {
        self.ended && self.buffer.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
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
    async fn an_empty_body_is_one_empty_part_and_errors_pass_through() {
        let mut reader = PartReader::new(stream(vec![]), 7);
        assert!(reader.next_part().await.unwrap().is_empty());
        assert!(reader.finished());
        assert_eq!(
            reader.sha256_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
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
