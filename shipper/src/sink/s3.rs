//! The S3 sink: a single `PutObject` for files under one part, otherwise a
//! multipart upload with a bounded number of parts in flight, completed only
//! after the body ended cleanly and aborted on every failure path.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tokio::task::JoinSet;

use super::{ObjectSink, PartReader, StoredObject};
use crate::error::{AwsError, Error, Result};
use crate::rds::LogStream;

/// User metadata travels as HTTP headers, so anything outside printable
/// ASCII (and `%` itself) is percent-encoded.
const METADATA: &AsciiSet = &CONTROLS.add(b'%');

const CONTENT_TYPE: &str = "text/plain";

#[derive(Debug, Clone)]
pub struct S3Sink {
    client: Client,
    bucket: String,
    part_size: usize,
    parts_in_flight: usize,
}

impl S3Sink {
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        part_size: usize,
        parts_in_flight: usize,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            part_size,
            parts_in_flight: parts_in_flight.max(1),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn upload_error(&self, key: &str, source: AwsError) -> Error {
        Error::Upload {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            source,
        }
    }

    async fn put_single(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<()> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE)
            .body(ByteStream::from(body));
        for (name, value) in metadata {
            put = put.metadata(*name, encode(value));
        }
        put.send()
            .await
            .map_err(|e| self.upload_error(key, AwsError::from_sdk(e)))?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        first: Bytes,
        reader: &mut PartReader,
    ) -> Result<usize> {
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE);
        for (name, value) in metadata {
            create = create.metadata(*name, encode(value));
        }
        let created = create
            .send()
            .await
            .map_err(|e| self.upload_error(key, AwsError::from_sdk(e)))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        let result = self.upload_parts(key, &upload_id, first, reader).await;
        if result.is_err() {
            // Leave no incomplete upload behind (they are billed).
            if let Err(e) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::error!(key, error = %AwsError::from_sdk(e), "could not abort multipart upload");
            }
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: Bytes,
        reader: &mut PartReader,
    ) -> Result<usize> {
        let mut in_flight: JoinSet<Result<CompletedPart>> = JoinSet::new();
        let mut done = Vec::new();
        let mut part = first;
        let mut number = 1;
        loop {
            let last = reader.finished();
            while in_flight.len() >= self.parts_in_flight {
                done.push(self.joined(key, in_flight.join_next().await)?);
            }
            let sink = self.clone();
            let (key_owned, id) = (key.to_owned(), upload_id.to_owned());
            in_flight.spawn(async move { sink.upload_part(&key_owned, &id, number, part).await });
            number += 1;
            if last {
                break;
            }
            part = reader.next_part().await?;
        }
        while let Some(joined) = in_flight.join_next().await {
            done.push(self.joined(key, Some(joined))?);
        }
        done.sort_by_key(|p| p.part_number());
        let parts = done.len();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.upload_error(key, AwsError::from_sdk(e)))?;
        Ok(parts)
    }

    fn joined(
        &self,
        key: &str,
        joined: Option<std::result::Result<Result<CompletedPart>, tokio::task::JoinError>>,
    ) -> Result<CompletedPart> {
        match joined {
            Some(Ok(result)) => result,
            Some(Err(e)) => Err(self.upload_error(
                key,
                AwsError {
                    code: None,
                    message: format!("part upload task failed: {e}"),
                },
            )),
            None => Err(self.upload_error(
                key,
                AwsError {
                    code: None,
                    message: "no part upload in flight".into(),
                },
            )),
        }
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Bytes,
    ) -> Result<CompletedPart> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.upload_error(key, AwsError::from_sdk(e)))?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_owned))
            .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
            .set_checksum_crc32_c(out.checksum_crc32_c().map(str::to_owned))
            .set_checksum_crc64_nvme(out.checksum_crc64_nvme().map(str::to_owned))
            .set_checksum_sha1(out.checksum_sha1().map(str::to_owned))
            .set_checksum_sha256(out.checksum_sha256().map(str::to_owned))
            .build())
    }

    /// Reads the object's size back: what S3 holds must be what we counted.
    async fn verify(&self, key: &str, bytes: u64) -> Result<()> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.upload_error(key, AwsError::from_sdk(e)))?;
        let stored = head.content_length().unwrap_or(-1);
        if stored != bytes as i64 {
            return Err(Error::Verification {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                reason: format!("S3 holds {stored} bytes, {bytes} were sent"),
            });
        }
        Ok(())
    }
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, METADATA).to_string()
}

impl ObjectSink for S3Sink {
    async fn store(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        body: LogStream,
    ) -> Result<StoredObject> {
        let mut reader = PartReader::new(body, self.part_size);
        let first = reader.next_part().await?;
        let parts = if reader.finished() {
            self.put_single(key, metadata, first).await?;
            1
        } else {
            self.put_multipart(key, metadata, first, &mut reader)
                .await?
        };
        self.verify(key, reader.total()).await?;
        Ok(StoredObject {
            bytes: reader.total(),
            sha256: reader.sha256_hex(),
            parts,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn metadata_values_become_ascii() {
        assert_eq!(
            super::encode("error/ログ 100%.log"),
            "error/%E3%83%AD%E3%82%B0 100%25.log"
        );
    }
}
