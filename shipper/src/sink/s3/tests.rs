//! The S3 adapter's error and abort paths, against answers the local stack
//! does not give (`aws-smithy-mocks`).
use aws_sdk_s3::operation::complete_multipart_upload::{
    CompleteMultipartUploadError, CompleteMultipartUploadOutput,
};
use aws_sdk_s3::operation::upload_part::{UploadPartError, UploadPartOutput};
use aws_sdk_s3::operation::{
    abort_multipart_upload::AbortMultipartUploadOutput,
    create_multipart_upload::CreateMultipartUploadOutput,
    list_multipart_uploads::ListMultipartUploadsOutput,
};
use aws_smithy_mocks::{Rule, mock};
use bytes::Bytes;

use super::*;
use crate::mocks::{meta, mocked};
use crate::sink::{ObjectSink, Precondition};

/// A sink of 4-byte parts over a client answering through `rules`.
fn sink(rules: &[&Rule]) -> S3Sink {
    S3Sink::new(
        mocked!(aws_sdk_s3, rules),
        "b",
        4,
        1,
        Duration::from_secs(900),
    )
    .with_prefix("p")
}

/// Twelve bytes in three chunks: a multipart upload of three parts.
fn body() -> crate::rds::LogStream {
    Box::pin(futures_util::stream::iter(
        ["abcd", "efgh", "ijkl"].map(|p| Ok(Bytes::from(p))),
    ))
}

fn started() -> [Rule; 3] {
    [
        mock!(aws_sdk_s3::Client::list_multipart_uploads)
            .then_output(|| ListMultipartUploadsOutput::builder().build()),
        mock!(aws_sdk_s3::Client::create_multipart_upload).then_output(|| {
            CreateMultipartUploadOutput::builder()
                .upload_id("u-1")
                .build()
        }),
        mock!(aws_sdk_s3::Client::abort_multipart_upload)
            .match_requests(|r| r.upload_id() == Some("u-1") && r.key() == Some("p/k"))
            .then_output(|| AbortMultipartUploadOutput::builder().build()),
    ]
}

#[tokio::test]
async fn a_part_s3_refuses_aborts_the_upload_and_names_the_permission() {
    let [list, create, abort] = started();
    let refused = mock!(aws_sdk_s3::Client::upload_part)
        .match_requests(|r| r.part_number() == Some(2))
        .then_error(|| UploadPartError::generic(meta("AccessDenied", "Access Denied")));
    let accepted = mock!(aws_sdk_s3::Client::upload_part)
        .then_output(|| UploadPartOutput::builder().e_tag("e").build());
    let s3 = sink(&[&list, &create, &refused, &accepted, &abort]);
    let err = s3
        .store("p/k", &[], None, body(), &Precondition::Absent)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::S3 {
                op: "UploadPart",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_transient());
    assert!(
        err.to_string()
            .contains("allow s3:PutObject on arn:aws:s3:::b/p/k"),
        "{err}"
    );
    // The upload is not left behind (S3 bills unfinished uploads).
    assert_eq!(abort.num_calls(), 1);
}

#[tokio::test]
async fn an_object_changed_under_the_upload_is_not_overwritten_and_the_upload_aborted() {
    let [list, create, abort] = started();
    let parts = mock!(aws_sdk_s3::Client::upload_part)
        .then_output(|| UploadPartOutput::builder().e_tag("e").build());
    let changed = mock!(aws_sdk_s3::Client::complete_multipart_upload)
        .match_requests(|r| r.if_match() == Some("\"old\""))
        .then_error(|| {
            CompleteMultipartUploadError::generic(meta("PreconditionFailed", "At least one"))
        });
    let unexpected = mock!(aws_sdk_s3::Client::complete_multipart_upload)
        .then_output(|| CompleteMultipartUploadOutput::builder().build());
    let s3 = sink(&[&list, &create, &parts, &changed, &unexpected, &abort]);
    let err = s3
        .store(
            "p/k",
            &[],
            None,
            body(),
            &Precondition::Unchanged("\"old\"".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ObjectChanged { .. }), "{err}");
    assert!(err.is_transient(), "a fresh look at S3 decides the retry");
    assert_eq!(parts.num_calls(), 3);
    assert_eq!(unexpected.num_calls(), 0);
    assert_eq!(abort.num_calls(), 1);
}

#[tokio::test]
async fn a_denied_version_listing_names_the_permission_on_the_bucket() {
    use crate::operator::verify::ArchiveObjects;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsError;
    let denied = mock!(aws_sdk_s3::Client::list_object_versions)
        .then_error(|| ListObjectVersionsError::generic(meta("AccessDenied", "Access Denied")));
    let error = sink(&[&denied]).versions("p/k").await.unwrap_err();
    assert!(!error.is_transient());
    assert_eq!(error.reason_code(), "s3_read");
    assert!(
        error
            .to_string()
            .contains("allow s3:ListBucketVersions on arn:aws:s3:::b for"),
        "{error}"
    );
}

#[tokio::test]
async fn a_manifest_already_written_is_not_replaced_and_a_refusal_is_an_error() {
    use crate::manifest::ManifestArchive;
    use aws_sdk_s3::operation::put_object::PutObjectError;
    let exists = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| r.key() == Some("p/_manifests/i/old.json"))
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(412).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<Error><Code>PreconditionFailed</Code><Message>At least one of the \
                     pre-conditions you specified did not hold</Message></Error>",
                ),
            )
        });
    let denied = mock!(aws_sdk_s3::Client::put_object)
        .then_error(|| PutObjectError::generic(meta("AccessDenied", "Access Denied")));
    let sink = sink(&[&exists, &denied]);
    assert!(
        !sink
            .put_new("p/_manifests/i/old.json", b"{}".to_vec())
            .await
            .unwrap()
    );
    let error = sink
        .put_new("p/_manifests/i/new.json", b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("allow s3:PutObject on"),
        "{error}"
    );
}
