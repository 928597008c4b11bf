//! The worker's writes into a bucket with S3 Object Lock and a default
//! retention (the stacks' ObjectLockMode): S3 refuses an upload without a
//! checksum there, single or multipart; a growing file leaves its shorter
//! content as a locked noncurrent version.

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, DefaultRetention, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
};
use integration_tests::{LocalStack, StackOptions, shipped_count, write_log};
use shipper::fleet::InstanceSelection;

/// Moves the stack's objects to a new bucket with Object Lock on and a
/// governance retention of one day.
async fn lock_the_bucket(stack: &mut LocalStack) {
    let s3 = &stack.clients.s3;
    let plain = stack.worker_config.bucket.clone();
    s3.delete_bucket().bucket(&plain).send().await.unwrap();
    let locked = format!("{plain}-locked");
    s3.create_bucket()
        .bucket(&locked)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create a bucket with Object Lock");
    let retention = DefaultRetention::builder()
        .mode(ObjectLockRetentionMode::Governance)
        .days(1)
        .build();
    s3.put_object_lock_configuration()
        .bucket(&locked)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(retention)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("default retention");
    stack.worker_config.bucket = locked;
}

/// One stored version of an object.
struct StoredVersion {
    bytes: Vec<u8>,
    /// The lock S3 put on it (the bucket's default retention).
    lock: Option<aws_sdk_s3::types::ObjectLockMode>,
}

/// Every version of `key`, newest first.
async fn versions(stack: &LocalStack, key: &str) -> Vec<StoredVersion> {
    let s3 = &stack.clients.s3;
    let bucket = &stack.worker_config.bucket;
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for version in listed.versions() {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .version_id(version.version_id().unwrap())
            .send()
            .await
            .unwrap();
        let lock = object.object_lock_mode().cloned();
        let bytes = object.body.collect().await.unwrap().into_bytes().to_vec();
        out.push(StoredVersion { bytes, lock });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_writes_into_a_locked_bucket_and_growth_keeps_each_version() {
    let mut stack = LocalStack::start(StackOptions {
        generated_fleet: false,
        ..StackOptions::default()
    })
    .await;
    lock_the_bucket(&mut stack).await;
    stack.lister_config.selection = InstanceSelection {
        all: true,
        ..InstanceSelection::default()
    };
    let now = shipper::now_ms() - 60_000;
    // GIVEN a small file (one PutObject) and one of six MiB (two parts)
    let small = "error/postgresql.log.2026-11-30-06";
    let big = "error/postgresql.log.2026-11-30-05";
    write_log(&stack.source_path("pg-audit", small), b"first line\n", now);
    let mut rng = fastrand::Rng::with_seed(11);
    let big_bytes: Vec<u8> = (0..6 * 1024 * 1024)
        .map(|_| rng.alphanumeric() as u8)
        .collect();
    write_log(&stack.source_path("pg-audit", big), &big_bytes, now);

    // WHEN both ship
    stack.list_once().await;
    assert_eq!(shipped_count(&stack.drain().await), 2);

    // THEN each is one version holding the file's bytes, the PutObject one
    // locked by the default retention (moto applies none to a completed
    // multipart upload; S3 does: docs/aws-fidelity.md)
    let governance = Some(aws_sdk_s3::types::ObjectLockMode::Governance);
    for (file, bytes) in [(small, b"first line\n".to_vec()), (big, big_bytes)] {
        let found = versions(&stack, &stack.key("pg-audit", file)).await;
        assert_eq!(found.len(), 1, "{file}");
        assert_eq!(found[0].bytes, bytes, "{file}");
    }
    let small_key = stack.key("pg-audit", small);
    assert_eq!(versions(&stack, &small_key).await[0].lock, governance);

    // WHEN the small file grows and ships again
    write_log(
        &stack.source_path("pg-audit", small),
        b"first line\nsecond line\n",
        now + 1_000,
    );
    stack.list_once().await;
    assert_eq!(shipped_count(&stack.drain().await), 1);

    // THEN the object holds the whole file and the shorter content stays
    // as a locked noncurrent version
    let found = versions(&stack, &small_key).await;
    let contents: Vec<&[u8]> = found.iter().map(|v| v.bytes.as_slice()).collect();
    assert_eq!(
        contents,
        [&b"first line\nsecond line\n"[..], &b"first line\n"[..]]
    );
    assert!(found.iter().all(|v| v.lock == governance));
}
