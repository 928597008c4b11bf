//! How S3's refusals become the crate's errors, each permanent one naming
//! the permission or setting to fix (the classification itself is
//! `error::classify`).

use super::S3Sink;
use crate::error::{AwsCall, AwsError, Error, ErrorClass, PermanentCause};

/// The IAM action an S3 operation needs.
fn s3_action(op: &str) -> &'static str {
    match op {
        "HeadObject" | "GetObject" => "s3:GetObject",
        "AbortMultipartUpload" => "s3:AbortMultipartUpload",
        "ListMultipartUploads" => "s3:ListBucketMultipartUploads",
        _ => "s3:PutObject",
    }
}

impl S3Sink {
    pub(super) fn upload_error(&self, op: &'static str, key: &str, source: AwsError) -> Error {
        let resource = format!("arn:aws:s3:::{}/{key}", self.bucket);
        let source = source.in_call(AwsCall {
            action: s3_action(op),
            resource: &resource,
        });
        if matches!(
            source.code(),
            Some("PreconditionFailed" | "ConditionalRequestConflict")
        ) {
            return Error::ObjectChanged {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
            };
        }
        Error::S3 {
            op,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            source,
        }
    }

    /// A failed read of `key` (or a listing under it) that needs `action`
    /// on the bucket or, with `on_key`, on the key.
    pub(super) fn read_error(
        &self,
        op: &'static str,
        key: &str,
        (action, on_key): (&str, bool),
        source: AwsError,
    ) -> Error {
        let resource = if on_key {
            format!("arn:aws:s3:::{}/{key}", self.bucket)
        } else {
            format!("arn:aws:s3:::{}", self.bucket)
        };
        Error::S3 {
            op,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            source: source.in_call(AwsCall {
                action,
                resource: &resource,
            }),
        }
    }

    pub(super) fn plain_error(&self, op: &'static str, key: &str, message: String) -> Error {
        self.upload_error(op, key, AwsError::other(message))
    }

    /// S3 answers 403, not 404, to a `HeadObject` of a missing key when the
    /// caller may not list the bucket: name both permissions that decide it.
    pub(super) fn head_denied(&self, key: &str, source: AwsError) -> Error {
        let prefix = if self.prefix.is_empty() {
            "<prefix>"
        } else {
            &self.prefix
        };
        let fix = format!(
            "S3 answered 403 to HeadObject of s3://{bucket}/{key}: the role lacks s3:ListBucket \
             on arn:aws:s3:::{bucket} for s3:prefix {prefix}/* (without it a missing key \
             answers 403, not 404) or s3:GetObject on arn:aws:s3:::{bucket}/{prefix}/*; \
             grant both (the stack's worker role has them, docs/deploy.md)",
            bucket = self.bucket
        );
        Error::S3 {
            op: "HeadObject",
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            source: source.with_fix(ErrorClass::Permanent(PermanentCause::Denied), fix),
        }
    }
}
