//! The lister writes each daily manifest once: `If-None-Match: *`.

use super::S3Sink;
use crate::error::{AwsError, Result};
use crate::manifest::ManifestArchive;

impl ManifestArchive for S3Sink {
    async fn put_new(&self, key: &str, bytes: Vec<u8>) -> Result<bool> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .if_none_match("*")
            // A bucket with Object Lock refuses a write without a checksum.
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32C)
            .body(bytes.into())
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(false),
            Err(e) => Err(self.upload_error("PutObject", key, AwsError::from_sdk(e))),
        }
    }
}
