//! Duplicate, reordered and concurrent deliveries, a worker killed mid-file,
//! and end-to-end integrity checks against the source files.

use std::time::Duration;

use aws_sdk_s3::types::ChecksumMode;
use aws_smithy_checksums::ChecksumAlgorithm;
use integration_tests::{LocalStack, StackOptions, set_mtime, write_log};
use rds_sim::{Fault, FaultRule, FaultTarget};
use shipper::worker::SyncOutcome;

const FILE: &str = "error/postgresql.log.2026-11-22-07";

fn slow_once(file: &str, fault: Fault) -> FaultRule {
    FaultRule {
        target: FaultTarget::Download {
            instance: None,
            file: Some(file.into()),
        },
        fault,
        times: Some(1),
    }
}

/// Replaces the file with new content (a new inode, as log rotation does),
/// so a download already open keeps reading the old bytes.
fn replace_log(stack: &LocalStack, bytes: &[u8], mtime_ms: i64) {
    let path = stack.source_path("pg-orders", FILE);
    let tmp = path.with_extension("tmp-new");
    write_log(&tmp, bytes, mtime_ms);
    std::fs::rename(&tmp, &path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_older_delivery_never_replaces_a_newer_object() {
    let stack = LocalStack::start(StackOptions::default()).await;
    replace_log(&stack, b"version one\n", 1_763_800_000_000);
    let older = stack.ship_request("pg-orders", FILE);
    // GIVEN a worker shipping version one whose download is slow
    stack.sim.faults.add(slow_once(
        FILE,
        Fault::SlowBody {
            chunk_delay_ms: 3000,
        },
    ));
    let slow_worker = stack.clients.worker(&stack.worker_config);
    let slow = tokio::spawn(async move { slow_worker.handle_message(&older).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    // WHEN version two is written and shipped meanwhile
    replace_log(&stack, b"version one\nversion two\n", 1_763_800_060_000);
    let newer = stack.ship_request("pg-orders", FILE);
    let fast = stack
        .clients
        .worker(&stack.worker_config)
        .handle_message(&newer)
        .await
        .unwrap();
    assert!(matches!(fast, SyncOutcome::Shipped { .. }), "{fast:?}");
    // THEN the slow worker's conditional write loses and it ends as shipped
    let outcome = slow.await.unwrap().unwrap();
    assert_eq!(outcome, SyncOutcome::AlreadyShipped);
    let key = stack.key("pg-orders", FILE);
    assert_eq!(
        stack.object(&key).await.unwrap(),
        b"version one\nversion two\n"
    );
    let shipped = stack.file_state("pg-orders", FILE).await.shipped.unwrap();
    assert_eq!(shipped.version.last_written_ms, 1_763_800_060_000);
    assert_eq!(shipped.version.size, 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_reordered_deliveries_never_move_state_or_s3_backwards() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let worker = stack.clients.worker(&stack.worker_config);
    replace_log(&stack, b"a\n", 1_763_800_000_000);
    let v1 = stack.ship_request("pg-orders", FILE);
    replace_log(&stack, b"a\nb\n", 1_763_800_060_000);
    let v2 = stack.ship_request("pg-orders", FILE);
    // Two workers on the same version at once, then the older version late.
    let (first, second) = tokio::join!(worker.handle_message(&v2), worker.handle_message(&v2));
    let outcomes = [first.unwrap(), second.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, SyncOutcome::Shipped { .. }))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        worker.handle_message(&v1).await.unwrap(),
        SyncOutcome::AlreadyShipped
    );
    assert_eq!(
        worker.handle_message(&v2).await.unwrap(),
        SyncOutcome::AlreadyShipped
    );
    assert_eq!(
        stack.object(&stack.key("pg-orders", FILE)).await.unwrap(),
        b"a\nb\n"
    );
    let shipped = stack.file_state("pg-orders", FILE).await.shipped.unwrap();
    assert_eq!(
        (shipped.version.size, shipped.version.last_written_ms),
        (4, 1_763_800_060_000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_file_leaves_nothing_behind_after_the_next_delivery() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let path = stack.source_path("pg-orders", FILE);
    rds_sim::generate::write_large_log(&path, 7 * 1024 * 1024).unwrap();
    set_mtime(&path, 1_763_800_000_000);
    let body = stack.ship_request("pg-orders", FILE);
    let mut config = stack.worker_config.clone();
    // Redelivery comes after the visibility timeout, itself longer than the
    // worker timeout; here the "timeout" is the kill below, so any leftover
    // upload is stale.
    config.stale_upload_after = Duration::ZERO;
    // GIVEN a worker whose download hangs after the first part was sent
    stack.sim.faults.add(slow_once(
        FILE,
        Fault::StallAfter {
            bytes: 6 * 1024 * 1024,
        },
    ));
    let doomed = stack.clients.worker(&config);
    let body_for_doomed = body.clone();
    let task = tokio::spawn(async move { doomed.handle_message(&body_for_doomed).await });
    for _ in 0..200 {
        if stack.open_multipart_uploads().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // WHEN it is killed (as a Lambda timeout would), it cannot abort its upload
    task.abort();
    let _ = task.await;
    assert_eq!(stack.open_multipart_uploads().await, 1);
    assert_eq!(stack.object(&stack.key("pg-orders", FILE)).await, None);
    // THEN the next delivery ships the file and no upload is left open
    let outcome = stack
        .clients
        .worker(&config)
        .handle_message(&body)
        .await
        .unwrap();
    assert!(
        matches!(outcome, SyncOutcome::Shipped { parts: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(stack.open_multipart_uploads().await, 0);
    assert_eq!(
        stack.object(&stack.key("pg-orders", FILE)).await.unwrap(),
        std::fs::read(&path).unwrap()
    );
}

fn checksum(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> bytes::Bytes {
    let mut c = algorithm.into_impl();
    c.update(bytes);
    c.finalize()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_carries_a_checksum_the_source_file_reproduces() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let path = stack.source_path("pg-orders", FILE);
    rds_sim::generate::write_large_log(&path, 6 * 1024 * 1024).unwrap();
    set_mtime(&path, 1_763_800_000_000);
    stack.list_once().await;
    stack.drain().await;
    for (instance, file) in stack.source_files() {
        let source = stack.source_bytes(&instance, &file);
        let crc = base64_of(&checksum(ChecksumAlgorithm::Crc32c, &source));
        let head = stack
            .clients
            .s3
            .head_object()
            .bucket(&stack.worker_config.bucket)
            .key(stack.key(&instance, &file))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(head.checksum_crc32_c(), Some(crc.as_str()), "{file}");
        assert_eq!(head.content_length(), Some(source.len() as i64), "{file}");
        let meta = head.metadata().unwrap();
        assert_eq!(meta["rds-size"], source.len().to_string(), "{file}");
        assert_eq!(meta["rds-instance"], instance, "{file}");
        let shipped = stack.file_state(&instance, &file).await.shipped.unwrap();
        assert_eq!(shipped.crc32c, crc, "{file}");
        assert_eq!(shipped.version.size, source.len() as u64);
    }
}

fn base64_of(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(bytes)
}
