//! What reading the daily manifests needs of S3: the objects they list
//! (HEAD with checksum mode), and the manifests themselves.

use super::S3Sink;
use crate::error::{AwsError, Result};
use crate::manifest::ManifestStore;
use crate::sink::{ExistingObject, ObjectSink};

impl ManifestStore for S3Sink {
    async fn head(&self, key: &str) -> Result<Option<ExistingObject>> {
        self.current(key).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(got) = self.get_object(key).await? else {
            return Ok(None);
        };
        let bytes = got
            .body
            .collect()
            .await
            .map_err(|e| self.body_error(key, e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let needs = ("s3:ListBucket", false);
                self.read_error("ListObjectsV2", prefix, needs, AwsError::from_sdk(e))
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys.sort();
        Ok(keys)
    }
}
