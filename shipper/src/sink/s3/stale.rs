//! Multipart uploads a killed worker left behind: found and aborted before
//! a new upload of the same key, best effort (the bucket's lifecycle rule
//! is the safety net).

use std::time::SystemTime;

use super::S3Sink;
use crate::error::AwsError;

impl S3Sink {
    /// Aborts unfinished uploads of exactly this key that are older than
    /// `stale_upload_after`: a worker killed mid-file could not abort its own.
    /// Best effort: if the listing fails (a denied permission, a store
    /// without the call), the bucket's lifecycle rule is the safety net and
    /// the new upload goes ahead.
    pub(super) async fn abort_stale_uploads(&self, key: &str) {
        let listed = match self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
        {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(key, error = %AwsError::from_sdk(e), "cannot list unfinished uploads; leaving them to the lifecycle rule");
                return;
            }
        };
        let cutoff = SystemTime::now() - self.stale_upload_after;
        for upload in listed.uploads() {
            let started = upload
                .initiated()
                .and_then(|t| SystemTime::try_from(*t).ok())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if upload.key() != Some(key) || started > cutoff {
                continue;
            }
            let Some(id) = upload.upload_id() else {
                continue;
            };
            tracing::warn!(
                key,
                upload_id = id,
                "aborting a stale multipart upload left by an earlier attempt"
            );
            self.abort(key, id).await;
        }
    }

    pub(super) async fn abort(&self, key: &str, upload_id: &str) {
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            tracing::error!(key, error = %AwsError::from_sdk(e), "could not abort multipart upload");
        }
    }
}
