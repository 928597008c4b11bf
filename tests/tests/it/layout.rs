//! Keys and formats in S3 on the local stack: the date-partitioned layout,
//! and compressed objects that decompress to exactly the source bytes.

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use integration_tests::{LocalStack, StackOptions, set_mtime, shipped_count};
use shipper::layout::{Compression, DEFAULT_TEMPLATE, KeyLayout};
use shipper::worker::SyncOutcome;
use tokio::io::AsyncReadExt;

async fn decode(compression: Compression, bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    match compression {
        Compression::Gzip => GzipDecoder::new(bytes).read_to_end(&mut plain).await,
        Compression::Zstd => ZstdDecoder::new(bytes).read_to_end(&mut plain).await,
        Compression::None => return bytes.to_vec(),
    }
    .expect("decode");
    plain
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_layout_partitions_by_instance_and_the_date_in_the_name() {
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.list_once().await;
    stack.drain().await;
    let keys = stack.object_keys().await;
    assert!(
        keys.contains(
            &"rds-logs/instance=pg-orders/date=2026-11-20/error/postgresql.log.2026-11-20-13.csv"
                .to_string()
        )
    );
    assert!(
        keys.iter()
            .all(|k| k.starts_with("rds-logs/instance=") && k.contains("/date=")),
        "{keys:?}"
    );
    assert!(!keys.iter().any(|k| k.contains("/csv/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_objects_decompress_to_the_source_bytes_and_say_so() {
    let mut stack = LocalStack::start(StackOptions::default()).await;
    stack.worker_config.layout =
        KeyLayout::new(DEFAULT_TEMPLATE, "rds-logs", Compression::Gzip).unwrap();
    let files = stack.source_files();
    stack.list_once().await;
    assert_eq!(shipped_count(&stack.drain().await), files.len());
    for (instance, file) in &files {
        let key = stack.key(instance, file);
        assert!(key.ends_with(".gz"), "{key}");
        let object = stack.object(&key).await.unwrap();
        let source = stack.source_bytes(instance, file);
        assert_eq!(decode(Compression::Gzip, &object).await, source, "{key}");
        // The state keeps the source's size (the diff rule compares it with
        // RDS's listing) and the stored size.
        let record = stack.file_state(instance, file).await.shipped.unwrap();
        assert_eq!(record.version.size, source.len() as u64);
        assert_eq!(record.stored_bytes, object.len() as u64);
        let head = stack
            .clients
            .s3
            .head_object()
            .bucket(&stack.worker_config.bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_encoding(), Some("gzip"));
        let metadata = head.metadata().unwrap();
        assert_eq!(metadata["rds-size"], source.len().to_string());
        assert!(metadata.contains_key("rds-last-written-ms"));
    }
    // Nothing changed: nothing to ship again.
    assert_eq!(stack.list_once().await.enqueued(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zstd_multipart_object_decompresses_and_heals_state_from_s3() {
    let mut stack = LocalStack::start(StackOptions {
        generated_fleet: false,
        ..StackOptions::default()
    })
    .await;
    stack.worker_config.layout =
        KeyLayout::new(DEFAULT_TEMPLATE, "rds-logs", Compression::Zstd).unwrap();
    // Seven MiB that do not compress: two parts even compressed.
    let file = "error/postgresql.log.2026-11-21-10";
    let path = stack.source_path("pg-big", file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let source: Vec<u8> = (0..7 * 1024 * 1024).map(|_| rng.u8(..)).collect();
    std::fs::write(&path, &source).unwrap();
    set_mtime(&path, 1_763_700_000_000);
    let message = stack.ship_request("pg-big", file);
    let worker = stack.clients.worker(&stack.worker_config);
    match worker.handle_message(&message).await.unwrap() {
        SyncOutcome::Shipped {
            parts,
            bytes,
            stored_bytes,
            ..
        } => {
            assert!(parts >= 2, "{parts} parts");
            assert_eq!(bytes, source.len() as u64);
            assert!(stored_bytes > bytes, "random bytes grow a little");
        }
        other => panic!("{other:?}"),
    }
    let key = stack.key("pg-big", file);
    assert!(key.ends_with(".zst"));
    let object = stack.object(&key).await.unwrap();
    assert_eq!(decode(Compression::Zstd, &object).await, source);
    // AND the state keeps the CRC32C of the log's own bytes beside the stored one
    let shipped = stack.file_state("pg-big", file).await.shipped.unwrap();
    let mut raw = aws_smithy_checksums::ChecksumAlgorithm::Crc32c.into_impl();
    raw.update(&source);
    assert_eq!(shipped.raw_crc32c, raw.header_value().to_str().unwrap());
    assert_ne!(shipped.raw_crc32c, shipped.crc32c);
    // GIVEN the state entry is lost, WHEN the message comes again, THEN the
    // worker recognises the compressed object's version from its metadata
    // and records it instead of shipping again.
    stack
        .clients
        .dynamodb
        .delete_item()
        .table_name(&stack.worker_config.state_table)
        .key(
            "instance",
            aws_sdk_dynamodb::types::AttributeValue::S("pg-big".into()),
        )
        .key(
            "file",
            aws_sdk_dynamodb::types::AttributeValue::S(file.into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        worker.handle_message(&message).await.unwrap(),
        SyncOutcome::AlreadyShipped
    );
    let record = stack.file_state("pg-big", file).await.shipped.unwrap();
    assert_eq!(record.version.size, source.len() as u64);
    assert_eq!(record.stored_bytes, object.len() as u64);
    // A compressed object does not tell its raw checksum: left unknown.
    assert_eq!(record.raw_crc32c, "");
}
