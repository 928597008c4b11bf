//! The S3 sink: a single `PutObject` for files under one part, otherwise a
//! multipart upload with a bounded number of parts in flight. Every write is
//! conditional (`If-None-Match`/`If-Match`) and carries a full-object CRC32C
//! that S3 checks; an upload is completed only after the body ended cleanly
//! and is aborted on every failure path.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};
use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tokio::task::JoinSet;

use super::{BodyChecksums, ExistingObject, ObjectSink, PartReader, Precondition, StoredObject};
use crate::error::{AwsError, Error, Result};
use crate::rds::LogStream;

mod archive;
mod errors;
mod manifest_write;
mod manifests;
mod stale;

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
    stale_upload_after: Duration,
    /// The key prefix the worker writes under, for the fix of a denial.
    prefix: String,
}

impl S3Sink {
    /// `stale_upload_after`: an unfinished multipart upload of the same key
    /// older than this is left over from a killed worker and is aborted
    /// before a new one starts. Set it to the worker's timeout: SQS hides a
    /// message for at least that long, so no live upload is that old.
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        part_size: usize,
        parts_in_flight: usize,
        stale_upload_after: Duration,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            part_size,
            parts_in_flight: parts_in_flight.max(1),
            stale_upload_after,
            prefix: String::new(),
        }
    }

    /// A sink that only reads and writes whole small objects (verify, the
    /// daily manifests): no multipart settings.
    pub fn reader(client: Client, bucket: impl Into<String>) -> Self {
        Self::new(
            client,
            bucket,
            crate::config::MIN_PART_SIZE,
            1,
            Duration::from_secs(900),
        )
    }

    /// The key prefix the worker writes under (named in permission fixes).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put_single(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        content_encoding: Option<&'static str>,
        body: Bytes,
        checksums: &BodyChecksums,
        precondition: &Precondition,
    ) -> Result<()> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE)
            .set_content_encoding(content_encoding.map(str::to_owned))
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .checksum_crc32_c(&checksums.crc32c_base64)
            .set_metadata(Some(encode_metadata(metadata)))
            .set_if_match(precondition.if_match())
            .set_if_none_match(precondition.if_none_match())
            .body(ByteStream::from(body));
        // The CRC32C that S3 checks already protects the payload; signing it
        // too would cost a second SHA-256 pass over every byte.
        put.customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| self.upload_error("PutObject", key, AwsError::from_sdk(e)))?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        content_encoding: Option<&'static str>,
        first: Bytes,
        reader: &mut PartReader,
        precondition: &Precondition,
    ) -> Result<(usize, BodyChecksums)> {
        self.abort_stale_uploads(key).await;
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE)
            .set_content_encoding(content_encoding.map(str::to_owned))
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .checksum_type(ChecksumType::FullObject)
            .set_metadata(Some(encode_metadata(metadata)))
            .send()
            .await
            .map_err(|e| self.upload_error("CreateMultipartUpload", key, AwsError::from_sdk(e)))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| {
                self.plain_error(
                    "CreateMultipartUpload",
                    key,
                    "CreateMultipartUpload returned no upload id".into(),
                )
            })?
            .to_owned();
        let result = self
            .upload_parts_and_complete(key, &upload_id, first, reader, precondition)
            .await;
        if result.is_err() {
            // Leave no incomplete upload behind (they are billed).
            self.abort(key, &upload_id).await;
        }
        result
    }

    async fn upload_parts_and_complete(
        &self,
        key: &str,
        upload_id: &str,
        first: Bytes,
        reader: &mut PartReader,
        precondition: &Precondition,
    ) -> Result<(usize, BodyChecksums)> {
        let mut in_flight: JoinSet<Result<(CompletedPart, Bytes)>> = JoinSet::new();
        let mut done = Vec::new();
        let mut part = first;
        let mut number = 1;
        loop {
            let last = reader.finished();
            while in_flight.len() >= self.parts_in_flight {
                let (completed, buffer) = self.joined(key, in_flight.join_next().await)?;
                done.push(completed);
                reader.recycle(buffer);
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
            done.push(self.joined(key, Some(joined))?.0);
        }
        done.sort_by_key(|p| p.part_number());
        let parts = done.len();
        let checksums = reader.checksums();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .checksum_crc32_c(&checksums.crc32c_base64)
            .checksum_type(ChecksumType::FullObject)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .set_if_match(precondition.if_match())
            .set_if_none_match(precondition.if_none_match())
            .send()
            .await
            .map_err(|e| {
                self.upload_error("CompleteMultipartUpload", key, AwsError::from_sdk(e))
            })?;
        Ok((parts, checksums))
    }

    fn joined(
        &self,
        key: &str,
        joined: Option<std::result::Result<Result<(CompletedPart, Bytes)>, tokio::task::JoinError>>,
    ) -> Result<(CompletedPart, Bytes)> {
        match joined {
            Some(Ok(result)) => result,
            Some(Err(e)) => {
                Err(self.plain_error("UploadPart", key, format!("part upload task failed: {e}")))
            }
            None => Err(self.plain_error("UploadPart", key, "no part upload in flight".into())),
        }
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Bytes,
    ) -> Result<(CompletedPart, Bytes)> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .body(ByteStream::from(body.clone()))
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| self.upload_error("UploadPart", key, AwsError::from_sdk(e)))?;
        let completed = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_owned))
            .set_checksum_crc32_c(out.checksum_crc32_c().map(str::to_owned))
            .build();
        // The SDK has dropped its handle on the body; hand the buffer back.
        Ok((completed, body))
    }

    /// Reads the object back: S3 must hold exactly the bytes we counted, and,
    /// where it reports one, the CRC32C we computed.
    async fn verify(&self, key: &str, bytes: u64, checksums: &BodyChecksums) -> Result<()> {
        let stored = self.current(key).await?.ok_or_else(|| {
            self.plain_error(
                "HeadObject",
                key,
                "the object is missing right after the upload".into(),
            )
        })?;
        let mismatch = |reason: String| Error::Verification {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            reason,
        };
        if stored.bytes != bytes {
            return Err(mismatch(format!(
                "S3 holds {} bytes, {bytes} were sent",
                stored.bytes
            )));
        }
        if let Some(crc) = &stored.crc32c
            && crc != &checksums.crc32c_base64
        {
            return Err(mismatch(format!(
                "S3 reports CRC32C {crc}, the bytes sent have {}",
                checksums.crc32c_base64
            )));
        }
        Ok(())
    }
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, METADATA).to_string()
}

/// User metadata as S3 takes it, every value made header-safe.
fn encode_metadata(metadata: &[(&'static str, String)]) -> HashMap<String, String> {
    metadata
        .iter()
        .map(|(name, value)| ((*name).to_owned(), encode(value)))
        .collect()
}

impl ObjectSink for S3Sink {
    async fn current(&self, key: &str) -> Result<Option<ExistingObject>> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let head = match head {
            Ok(head) => head,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
            Err(e) => {
                let source = AwsError::from_sdk(e);
                return Err(
                    if source.status == Some(403) && !source.message.contains("kms:") {
                        self.head_denied(key, source)
                    } else {
                        self.upload_error("HeadObject", key, source)
                    },
                );
            }
        };
        Ok(Some(ExistingObject::from_metadata(
            head.e_tag().unwrap_or_default().to_owned(),
            head.content_length().unwrap_or(0).max(0) as u64,
            |name| head.metadata().and_then(|m| m.get(name)).cloned(),
            head.content_encoding().map(str::to_owned),
            head.checksum_crc32_c().map(str::to_owned),
        )))
    }

    async fn store(
        &self,
        key: &str,
        metadata: &[(&'static str, String)],
        content_encoding: Option<&'static str>,
        body: LogStream,
        precondition: &Precondition,
    ) -> Result<StoredObject> {
        let mut reader = PartReader::new(body, self.part_size);
        let first = reader.next_part().await?;
        let (parts, checksums) = if reader.finished() {
            let checksums = reader.checksums();
            self.put_single(
                key,
                metadata,
                content_encoding,
                first,
                &checksums,
                precondition,
            )
            .await?;
            (1, checksums)
        } else {
            self.put_multipart(
                key,
                metadata,
                content_encoding,
                first,
                &mut reader,
                precondition,
            )
            .await?
        };
        let total = reader.total();
        self.verify(key, total, &checksums).await?;
        Ok(StoredObject {
            bytes: total,
            checksums,
            parts,
        })
    }
}

#[cfg(test)]
mod tests;
