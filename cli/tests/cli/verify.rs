//! `rdslogs verify` on the local stack: an archive as shipped is intact;
//! an object changed or deleted behind the pipeline's back is found, with
//! its own exit code; under versioning the recorded bytes are found kept.

use integration_tests::{LocalStack, StackOptions, shipped_count};
use serde_json::Value;
use shipper::layout::{Compression, DEFAULT_TEMPLATE, KeyLayout};

use crate::{assert_exit, json, rdslogs};

fn findings_with<'a>(report: &'a Value, status: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] == status)
        .collect()
}

/// The report of a run that exited with `code`.
fn report(stack: &LocalStack, args: &[&str], code: i32) -> Value {
    let out = rdslogs(stack, args);
    assert_exit(&out, code);
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn shipped_stack(options: StackOptions) -> (LocalStack, usize) {
    let stack = LocalStack::start(options).await;
    stack.list_once().await;
    let shipped = shipped_count(&stack.drain().await);
    assert_eq!(shipped, stack.source_files().len());
    (stack, shipped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_and_a_deleted_object_are_found_among_intact_ones() {
    let (stack, shipped) = shipped_stack(StackOptions::default()).await;

    // GIVEN the archive as the pipeline left it: every version intact
    let clean = json(&rdslogs(&stack, &["verify", "--json"]));
    assert_eq!(clean["summary"]["intact"], shipped, "{clean:#}");
    assert_eq!(clean["damaged"], false);

    // WHEN one object is overwritten and another deleted behind its back
    let files = stack.source_files();
    let changed = stack.key(&files[0].0, &files[0].1);
    let deleted = stack.key(&files[1].0, &files[1].1);
    let s3 = &stack.clients.s3;
    let bucket = &stack.worker_config.bucket;
    s3.put_object()
        .bucket(bucket)
        .key(&changed)
        .body(b"not what RDS wrote".to_vec().into())
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket(bucket)
        .key(&deleted)
        .send()
        .await
        .unwrap();

    // THEN verify names both, keeps the rest intact, and exits 5
    let damaged = report(&stack, &["verify", "--json"], 5);
    assert_eq!(damaged["damaged"], true);
    let mismatched = findings_with(&damaged, "mismatch");
    assert_eq!(mismatched.len(), 1, "{damaged:#}");
    assert_eq!(mismatched[0]["key"], changed.as_str());
    let missing = findings_with(&damaged, "missing");
    assert_eq!(missing.len(), 1, "{damaged:#}");
    assert_eq!(missing[0]["key"], deleted.as_str());
    assert_eq!(damaged["summary"]["intact"], shipped - 2);

    // ... and one instance's view holds only its own versions
    let one = report(&stack, &["verify", "--json", "--instance", &files[0].0], 5);
    let all = one["findings"].as_array().unwrap();
    assert!(all.iter().all(|f| f["instance"] == files[0].0.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_read_decompresses_and_matches_the_log_files() {
    let mut stack = LocalStack::start(StackOptions::default()).await;
    stack.worker_config.layout =
        KeyLayout::new(DEFAULT_TEMPLATE, "rds-logs", Compression::Gzip).unwrap();
    stack.list_once().await;
    let shipped = shipped_count(&stack.drain().await);
    let deep = json(&rdslogs(&stack, &["verify", "--deep", "--json"]));
    assert_eq!(deep["summary"]["intact"], shipped, "{deep:#}");
    let details: Vec<&str> = deep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["detail"].as_str().unwrap())
        .collect();
    assert!(
        details
            .iter()
            .all(|d| *d == "read back: stored and log bytes match the recorded CRC32C"),
        "{details:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_versioning_a_deleted_object_s_recorded_bytes_are_found_kept() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let s3 = &stack.clients.s3;
    let bucket = &stack.worker_config.bucket;
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    stack.list_once().await;
    stack.drain().await;
    let (instance, file) = stack.source_files().remove(0);
    let key = stack.key(&instance, &file);
    s3.delete_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap();

    let damaged = report(&stack, &["verify", "--json", "--instance", &instance], 5);
    let missing = findings_with(&damaged, "missing");
    assert_eq!(missing.len(), 1, "{damaged:#}");
    let detail = missing[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("holds the recorded bytes (restore it by copying it over the key)"),
        "{detail}"
    );
}
