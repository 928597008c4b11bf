//! A minimal S3-compatible store that counts bytes and keeps none: the S3
//! side of the benchmark when it must not be the bottleneck. It implements
//! just the calls the S3 sink makes, through the s3s server framework.
//!
//! Per key it keeps what `HeadObject` reports (size, metadata, encoding and
//! the CRC32C the client sent, unverified), so the worker can check that a
//! new version extends an object.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput, ETag,
    HeadObjectInput, HeadObjectOutput, ListMultipartUploadsInput, ListMultipartUploadsOutput,
    Metadata, PutObjectInput, PutObjectOutput, StreamingBlob, UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

#[derive(Default)]
pub struct DiscardStore {
    next_id: AtomicU64,
    /// What each upload id received so far.
    uploads: Mutex<HashMap<String, Kept>>,
    objects: Mutex<HashMap<String, Kept>>,
}

/// What a key holds, as `HeadObject` reports it; never the bytes.
#[derive(Default)]
struct Kept {
    size: u64,
    metadata: Option<Metadata>,
    content_encoding: Option<String>,
    crc32c: Option<String>,
}

async fn drain(body: Option<StreamingBlob>) -> S3Result<u64> {
    let mut body = body.ok_or_else(|| s3_error!(IncompleteBody))?;
    let mut total = 0u64;
    while let Some(chunk) = body.next().await {
        total += chunk.map_err(|_| s3_error!(IncompleteBody))?.len() as u64;
    }
    Ok(total)
}

fn etag(n: u64) -> ETag {
    ETag::Strong(format!("{n:032x}"))
}

#[async_trait::async_trait]
impl S3 for DiscardStore {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let size = drain(req.input.body).await?;
        let kept = Kept {
            size,
            metadata: req.input.metadata,
            content_encoding: req.input.content_encoding,
            crc32c: req.input.checksum_crc32c,
        };
        self.objects.lock().unwrap().insert(req.input.key, kept);
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(size)),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let id = format!("upload-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let kept = Kept {
            metadata: req.input.metadata,
            content_encoding: req.input.content_encoding,
            ..Kept::default()
        };
        self.uploads.lock().unwrap().insert(id.clone(), kept);
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(req.input.bucket),
            key: Some(req.input.key),
            upload_id: Some(id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let size = drain(req.input.body).await?;
        let mut uploads = self.uploads.lock().unwrap();
        let upload = uploads
            .get_mut(&req.input.upload_id)
            .ok_or_else(|| s3_error!(NoSuchUpload))?;
        upload.size += size;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(etag(req.input.part_number as u64)),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let mut kept = self
            .uploads
            .lock()
            .unwrap()
            .remove(&req.input.upload_id)
            .ok_or_else(|| s3_error!(NoSuchUpload))?;
        kept.crc32c = req.input.checksum_crc32c;
        let size = kept.size;
        self.objects
            .lock()
            .unwrap()
            .insert(req.input.key.clone(), kept);
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(req.input.bucket),
            key: Some(req.input.key),
            e_tag: Some(etag(size)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.uploads.lock().unwrap().remove(&req.input.upload_id);
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(req.input.bucket),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let objects = self.objects.lock().unwrap();
        let kept = objects
            .get(&req.input.key)
            .ok_or_else(|| s3_error!(NoSuchKey))?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(kept.size as i64),
            e_tag: Some(etag(kept.size)),
            metadata: kept.metadata.clone(),
            content_encoding: kept.content_encoding.clone(),
            checksum_crc32c: kept.crc32c.clone(),
            ..Default::default()
        }))
    }
}
