//! AWS answers the local stack does not give, over real HTTP with the real
//! SDK: S3's 403 for a missing key to a role without `s3:ListBucket`.

use integration_tests::{
    LocalStack, SECRET_KEY, SESSION_TOKEN, StackOptions, credentials, sdk_config,
};
use shipper::sink::S3Sink;
use shipper::worker::Worker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An S3 endpoint that answers every request 403 with no body, as S3 answers
/// a `HeadObject` of a missing key to a caller without `s3:ListBucket`.
async fn s3_without_list_bucket() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0u8; 16 * 1024];
                let _ = socket.read(&mut request).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 403 Forbidden\r\nx-amz-request-id: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_object_denied_for_a_missing_key_fails_for_good_naming_list_bucket() {
    // GIVEN the local stack, and S3 answering as it does to a role without s3:ListBucket
    let stack = LocalStack::start(StackOptions::default()).await;
    let s3_url = s3_without_list_bucket().await;
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk_config(
        &s3_url,
        credentials(SECRET_KEY, Some(SESSION_TOKEN)),
    ))
    .force_path_style(true)
    .build();
    let config = &stack.worker_config;
    let worker = Worker {
        source: stack.clients.log_source.clone(),
        sink: S3Sink::new(
            aws_sdk_s3::Client::from_conf(s3_config),
            &config.bucket,
            config.part_size,
            1,
            config.stale_upload_after,
        )
        .with_prefix(&config.prefix),
        state: stack.state_table(),
        layout: config.layout.clone(),
        batch: Default::default(),
    };
    let (instance, file) = stack.source_files().into_iter().next().unwrap();
    // WHEN the worker handles that file's message
    let err = worker
        .handle_message(&stack.ship_request(&instance, &file))
        .await
        .unwrap_err();
    // THEN it is permanent, and the state table records which permission on
    // which bucket and prefix is missing
    assert!(!err.is_transient(), "{err}");
    let failure = stack.file_state(&instance, &file).await.failure.unwrap();
    assert!(failure.permanent);
    assert_eq!(failure.reason, "s3_read");
    let expected = format!(
        "lacks s3:ListBucket on arn:aws:s3:::{bucket} for s3:prefix {prefix}/*",
        bucket = config.bucket,
        prefix = config.prefix
    );
    assert!(
        failure.last_error.contains(&expected),
        "{}",
        failure.last_error
    );
    assert!(
        failure.last_error.starts_with("S3 HeadObject of s3://"),
        "{}",
        failure.last_error
    );
}
