//! The pipeline end to end: lister, SQS, worker, S3 and the state table.

use integration_tests::{
    LocalStack, SECRET_KEY, SESSION_TOKEN, StackOptions, credentials, sdk_config, set_mtime,
    shipped_count, write_log,
};
use rds_sim::generate::POSTGRES_INSTANCE;
use shipper::aws::AwsClients;
use shipper::worker::SyncOutcome;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_a_generated_fleet_byte_identical() {
    // GIVEN a fleet with multibyte text, invalid UTF-8, an empty file and odd names
    let stack = LocalStack::start(StackOptions::default()).await;
    // WHEN one cycle runs and the queue is drained
    let report = stack.list_once().await;
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    let results = stack.drain().await;
    // THEN every listed file is in S3 with exactly the source bytes
    let listed: usize = report.instances.iter().map(|i| i.listed).sum();
    assert_eq!(report.enqueued(), listed);
    assert_eq!(shipped_count(&results), listed, "{results:?}");
    let files = stack.source_files();
    assert_eq!(files.len(), listed);
    for (instance, file) in files {
        let object = stack.object(&stack.key(&instance, &file)).await;
        let source = stack.source_bytes(&instance, &file);
        assert_eq!(
            object.as_deref(),
            Some(source.as_slice()),
            "{instance}/{file}"
        );
    }
    for awkward in [
        "error/invalid-utf8.log",
        "error/postgresql.log.2026-11-20-15",
        "error/100%+#hash?.log",
        "error/ログ-ファイル.log",
    ] {
        assert!(
            stack
                .object(&stack.key(POSTGRES_INSTANCE, awkward))
                .await
                .is_some(),
            "{awkward}"
        );
    }
    // AND the state table records each shipped version with its checksum
    let entry = stack
        .file_state(POSTGRES_INSTANCE, "error/postgresql.log.2026-11-20-15")
        .await;
    let shipped = entry.shipped.unwrap();
    assert_eq!(shipped.version.size, 0);
    assert_eq!(shipped.crc32c, "AAAAAA==");
    // AND the raw bytes' checksum, the stored one's twin when uncompressed
    assert_eq!(shipped.raw_crc32c, "AAAAAA==");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_cycle_with_nothing_changed_enqueues_nothing() {
    let stack = LocalStack::start(StackOptions::default()).await;
    assert!(stack.list_once().await.enqueued() > 0);
    stack.drain().await;
    let second = stack.list_once().await;
    assert_eq!(second.enqueued(), 0, "{second:?}");
    assert!(
        second
            .instances
            .iter()
            .all(|i| i.unchanged == i.listed && i.listed > 0)
    );
    assert!(stack.queue_bodies(stack.queue_url()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_already_enqueued_is_not_enqueued_again_while_in_flight() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let first = stack.list_once().await.enqueued();
    let second = stack.list_once().await;
    assert_eq!(second.enqueued(), 0);
    assert_eq!(
        second.instances.iter().map(|i| i.in_flight).sum::<usize>(),
        first
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_grows_is_shipped_again_with_the_new_bytes() {
    let stack = LocalStack::start(StackOptions {
        generated_fleet: false,
        ..StackOptions::default()
    })
    .await;
    let path = stack.source_path("db-grow", "error/postgresql.log.2026-11-21-08");
    // Real times: RDS's LastWritten moves with the clock, and later cycles
    // only ask for files written since the last listing.
    let now = shipper::now_ms();
    write_log(&path, b"first line\n", now - 60_000);
    let mut stack = stack;
    stack.lister_config.selection.instances = vec!["db-grow".into()];
    assert_eq!(stack.list_once().await.enqueued(), 1);
    stack.drain().await;
    let key = stack.key("db-grow", "error/postgresql.log.2026-11-21-08");
    assert_eq!(stack.object(&key).await.unwrap(), b"first line\n");

    write_log(&path, b"first line\nsecond line \xe2\x9c\x93\n", now);
    assert_eq!(stack.list_once().await.enqueued(), 1);
    let results = stack.drain().await;
    assert_eq!(shipped_count(&results), 1);
    assert_eq!(
        stack.object(&key).await.unwrap(),
        b"first line\nsecond line \xe2\x9c\x93\n"
    );
    assert_eq!(stack.list_once().await.enqueued(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_of_several_parts_goes_through_multipart_and_is_identical() {
    let stack = LocalStack::start(StackOptions {
        generated_fleet: false,
        ..StackOptions::default()
    })
    .await;
    // 3.5 parts of 5 MiB: three full parts and a short last one.
    let size = shipper::config::MIN_PART_SIZE as u64 * 7 / 2;
    let path = stack.source_path("db-big", "error/postgresql.log.2026-11-21-09");
    rds_sim::generate::write_large_log(&path, size).unwrap();
    set_mtime(&path, 1_700_000_000_000);
    let mut stack = stack;
    stack.lister_config.selection.instances = vec!["db-big".into()];
    assert_eq!(stack.list_once().await.enqueued(), 1);
    let results = stack.drain().await;
    match &results[0].result {
        Ok(SyncOutcome::Shipped { parts, bytes, .. }) => {
            assert_eq!(*parts, 4);
            assert_eq!(*bytes, size);
        }
        other => panic!("not shipped: {other:?}"),
    }
    let object = stack
        .object(&stack.key("db-big", "error/postgresql.log.2026-11-21-09"))
        .await
        .unwrap();
    assert!(
        object == std::fs::read(&path).unwrap(),
        "multipart object differs from the source"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_rds_credentials_give_a_clear_error_and_no_object() {
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.list_once().await;
    // A worker whose RDS credentials carry the wrong secret.
    let wrong = credentials("not-the-secret", Some(SESSION_TOKEN));
    let clients = AwsClients::with_rds_config(
        &sdk_config(
            &stack.moto_url,
            credentials(SECRET_KEY, Some(SESSION_TOKEN)),
        ),
        &sdk_config(&stack.sim.endpoint_url(), wrong),
    )
    .await
    .unwrap();
    let worker = clients.worker(&stack.worker_config);
    let body = stack.queue_bodies(stack.queue_url()).await.remove(0);
    let err = worker.handle_message(&body).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("HTTP 403 SignatureDoesNotMatch"), "{text}");
    assert!(text.starts_with("failed to download"), "{text}");
    assert!(
        !err.is_transient(),
        "access denied needs an operator, not a retry storm"
    );
    assert!(stack.object_keys().await.is_empty());
    // The failure is recorded against the file.
    let v = shipper::message::ShipRequest::parse(&body).unwrap();
    let failure = stack
        .file_state(&v.instance, &v.file)
        .await
        .failure
        .unwrap();
    assert_eq!(failure.attempts, 1);
    assert!(failure.last_error.contains("SignatureDoesNotMatch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_record_fails_alone_and_ends_in_the_dead_letter_queue() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let report = stack.list_once().await;
    for bad in [
        "{not json",
        r#"{"schema":1,"instance":"pg-orders","file":"../../escape","size":1,"last_written_ms":1}"#,
        r#"{"schema":9,"instance":"pg-orders","file":"a.log","size":1,"last_written_ms":1}"#,
    ] {
        stack
            .clients
            .sqs
            .send_message()
            .queue_url(stack.queue_url())
            .message_body(bad)
            .send()
            .await
            .unwrap();
    }
    let results = stack.drain().await;
    // Every good record shipped despite the bad ones in its batches.
    assert_eq!(shipped_count(&results), report.enqueued());
    let failures = results.iter().filter(|r| r.result.is_err()).count();
    assert_eq!(
        failures,
        3 * 3,
        "each bad record fails on each of its 3 receives"
    );
    let dead = stack.queue_bodies(&stack.dlq_url).await;
    assert_eq!(dead.len(), 3, "{dead:?}");
    assert!(dead.iter().any(|d| d == "{not json"), "{dead:?}");
    assert!(dead.iter().any(|d| d.contains("../../escape")), "{dead:?}");
    // The hostile name is recorded as a permanent failure, not shipped.
    let failure = stack
        .file_state("pg-orders", "../../escape")
        .await
        .failure
        .unwrap();
    assert!(failure.permanent);
    assert_eq!(failure.reason, "unsafe_file_name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_rds_rejects_bad_signatures() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let describe = |secret: &'static str, token: Option<&'static str>| {
        let config = sdk_config(&stack.sim.endpoint_url(), credentials(secret, token));
        async move { aws_sdk_rds_call(&config).await }
    };
    assert_eq!(describe(SECRET_KEY, Some(SESSION_TOKEN)).await, Ok(()));
    assert_eq!(
        describe("wrong-secret", Some(SESSION_TOKEN)).await,
        Err("SignatureDoesNotMatch".into())
    );
    assert_eq!(
        describe(SECRET_KEY, None).await,
        Err("InvalidClientTokenId".into())
    );
    // A request with no signature at all.
    let raw = std::net::TcpStream::connect(stack.sim.addr).and_then(|mut s| {
        use std::io::{Read, Write};
        write!(s, "GET /v19/downloadCompleteLogFile/pg-orders/error/mysql-error.log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    });
    let raw = raw.unwrap();
    assert!(raw.starts_with("HTTP/1.1 403"), "{raw}");
    assert!(raw.contains("MissingAuthenticationToken"));
    assert!(
        stack
            .sim
            .faults
            .counters()
            .get("Rejected")
            .copied()
            .unwrap_or(0)
            >= 3
    );
}

/// `DescribeDBLogFiles` through aws-sdk-rds; the error code on failure.
async fn aws_sdk_rds_call(config: &aws_config::SdkConfig) -> Result<(), String> {
    use aws_sdk_rds::error::ProvideErrorMetadata;
    let client = aws_sdk_rds::Client::new(config);
    client
        .describe_db_log_files()
        .db_instance_identifier(POSTGRES_INSTANCE)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.code().unwrap_or("no code").to_owned())
}
