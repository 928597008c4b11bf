//! Names RDS reuses: a file rewritten under the same name never replaces
//! the bytes already shipped.

use integration_tests::{LocalStack, StackOptions, shipped_count};
use rds_sim::generate::POSTGRES_INSTANCE;

const FILE: &str = "error/postgresql.log.2026-11-20-13";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_rewritten_shorter_keeps_its_shipped_bytes_and_ships_beside_them() {
    // GIVEN a shipped fleet
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.list_once().await;
    stack.drain().await;
    let key = stack.key(POSTGRES_INSTANCE, FILE);
    let shipped = stack.source_bytes(POSTGRES_INSTANCE, FILE);
    assert_eq!(
        stack.object(&key).await.as_deref(),
        Some(shipped.as_slice())
    );
    // WHEN RDS rewrites one file shorter, later, under the same name
    stack
        .sim
        .fleet()
        .rewrite(
            POSTGRES_INSTANCE,
            FILE,
            b"restored\n",
            Some(shipper::now_ms()),
        )
        .unwrap();
    let report = stack.list_once().await;
    assert_eq!(report.enqueued(), 1, "{report:?}");
    assert_eq!(shipped_count(&stack.drain().await), 1);
    // THEN the shipped bytes stay, and the new content has a key of its own
    assert_eq!(
        stack.object(&key).await.as_deref(),
        Some(shipped.as_slice())
    );
    let record = stack
        .file_state(POSTGRES_INSTANCE, FILE)
        .await
        .shipped
        .unwrap();
    assert!(record.key.starts_with(&format!("{key}~")), "{}", record.key);
    assert_eq!(stack.object(&record.key).await.unwrap(), b"restored\n");
}
