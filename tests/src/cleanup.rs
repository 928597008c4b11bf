//! What a test stack created in moto, deleted when the stack is dropped, so
//! a moto kept running between test runs does not pile up buckets, tables
//! and queues.

use super::{SECRET_KEY, SESSION_TOKEN, credentials, sdk_config};

/// The resources of one stack, by name.
#[derive(Debug, Clone)]
pub struct StackResources {
    pub moto_url: String,
    pub bucket: String,
    pub table: String,
    pub queues: Vec<String>,
}

impl StackResources {
    /// Deletes everything, best effort: on a thread with a runtime of its
    /// own, since the test's runtime may be shutting down when a stack drops.
    pub fn delete_now(&self) {
        let resources = self.clone();
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the clean-up");
            runtime.block_on(resources.delete());
        })
        .join();
        if deleted.is_err() {
            eprintln!("could not clean up the test stack's resources in moto");
        }
    }

    async fn delete(&self) {
        let config = sdk_config(&self.moto_url, credentials(SECRET_KEY, Some(SESSION_TOKEN)));
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        self.empty_bucket(&s3).await;
        let _ = s3.delete_bucket().bucket(&self.bucket).send().await;
        let _ = aws_sdk_dynamodb::Client::new(&config)
            .delete_table()
            .table_name(&self.table)
            .send()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        for queue in &self.queues {
            let _ = sqs.delete_queue().queue_url(queue).send().await;
        }
    }

    async fn empty_bucket(&self, s3: &aws_sdk_s3::Client) {
        if let Ok(uploads) = s3
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .send()
            .await
        {
            for upload in uploads.uploads() {
                let _ = s3
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(upload.key().unwrap_or_default())
                    .upload_id(upload.upload_id().unwrap_or_default())
                    .send()
                    .await;
            }
        }
        let mut pages = s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .into_paginator()
            .send();
        while let Some(Ok(page)) = pages.next().await {
            for object in page.contents() {
                let _ = s3
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(object.key().unwrap_or_default())
                    .send()
                    .await;
            }
        }
    }
}
