//! What `rdslogs verify` reads of the archive: HEAD with checksum mode,
//! objects read back and decompressed, and the versions S3 keeps.

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::types::ChecksumMode;
use futures_util::{StreamExt, TryStreamExt};
use tokio_util::io::{ReaderStream, StreamReader};

use super::S3Sink;
use crate::error::{AwsError, Error, Result};
use crate::operator::verify::{ArchiveObjects, KeptVersion, ReadBack};
use crate::rds::LogStream;
use crate::sink::{ExistingObject, ObjectSink, crc32c_of};

impl ArchiveObjects for S3Sink {
    async fn head(&self, key: &str) -> Result<Option<ExistingObject>> {
        self.current(key).await
    }

    async fn read_back(
        &self,
        key: &str,
        content_encoding: Option<&str>,
    ) -> Result<Option<ReadBack>> {
        let Some(got) = self.get_object(key).await? else {
            return Ok(None);
        };

        let stored: LogStream = Box::pin(
            ReaderStream::new(got.body.into_async_read())
                .map_err(|e| Error::Compression(e.to_string())),
        );
        let (stored, stored_crc) = crc32c_of(stored);
        let counted_stored = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = counted_stored.clone();
        let stored = stored.inspect_ok(move |chunk| {
            counter.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
        });
        let reader = StreamReader::new(stored.map_err(std::io::Error::other));
        let raw: LogStream = match content_encoding {
            None => {
                Box::pin(ReaderStream::new(reader).map_err(|e| Error::Compression(e.to_string())))
            }
            Some("gzip") => Box::pin(
                ReaderStream::new(async_compression::tokio::bufread::GzipDecoder::new(reader))
                    .map_err(|e| Error::Compression(e.to_string())),
            ),
            Some("zstd") => Box::pin(
                ReaderStream::new(async_compression::tokio::bufread::ZstdDecoder::new(reader))
                    .map_err(|e| Error::Compression(e.to_string())),
            ),
            Some(other) => {
                return Err(self.plain_error(
                    "GetObject",
                    key,
                    format!("Content-Encoding {other:?} is not one this tool writes"),
                ));
            }
        };
        let (mut raw, raw_crc) = crc32c_of(raw);
        let mut raw_bytes = 0u64;
        while let Some(chunk) = raw.next().await {
            match chunk {
                Ok(chunk) => raw_bytes += chunk.len() as u64,
                Err(e) => return Err(self.body_error(key, e)),
            }
        }
        Ok(Some(ReadBack {
            stored_bytes: counted_stored.load(std::sync::atomic::Ordering::Relaxed),
            stored_crc32c: stored_crc.base64(),
            raw_bytes,
            raw_crc32c: raw_crc.base64(),
        }))
    }

    async fn versions(&self, key: &str) -> Result<Vec<KeptVersion>> {
        let listed = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| {
                let needs = ("s3:ListBucketVersions", false);
                self.read_error("ListObjectVersions", key, needs, AwsError::from_sdk(e))
            })?;
        let mut kept = Vec::new();
        for marker in listed
            .delete_markers()
            .iter()
            .filter(|m| m.key() == Some(key))
        {
            kept.push(KeptVersion {
                version_id: marker.version_id().unwrap_or("null").to_owned(),
                bytes: 0,
                crc32c: None,
                delete_marker: true,
            });
        }
        for version in listed.versions().iter().filter(|v| v.key() == Some(key)) {
            let id = version.version_id().unwrap_or("null").to_owned();
            let head = self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                // An unversioned bucket's one version is "null", which
                // moto refuses as a versionId (AWS takes it).
                .set_version_id((id != "null").then(|| id.clone()))
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .map_err(|e| {
                    let needs = ("s3:GetObjectVersion", true);
                    self.read_error("HeadObject", key, needs, AwsError::from_sdk(e))
                })?;
            kept.push(KeptVersion {
                version_id: id,
                bytes: head.content_length().unwrap_or(0).max(0) as u64,
                crc32c: head.checksum_crc32_c().map(str::to_owned),
                delete_marker: false,
            });
        }
        Ok(kept)
    }
}

impl S3Sink {
    /// GetObject of `key`, `None` when there is no such key.
    pub(super) async fn get_object(&self, key: &str) -> Result<Option<GetObjectOutput>> {
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match got {
            Ok(got) => Ok(Some(got)),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.upload_error("GetObject", key, AwsError::from_sdk(e))),
        }
    }

    /// A GetObject whose body failed while it was read.
    pub(super) fn body_error(&self, key: &str, e: impl std::fmt::Display) -> crate::error::Error {
        self.upload_error(
            "GetObject",
            key,
            AwsError::other(format!("reading the body: {e}")),
        )
    }
}
